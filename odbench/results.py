"""Result documents (SPEC section 7): schema validation, the rankings hash, atomic files."""
from __future__ import annotations

import json
import os
import re
import secrets
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from . import strict_json
from .errors import ResultError
from .escaping import one_line
from .rankings import rankings_hash

SCHEMA_VERSION = "2.0"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema shipped with the package (odbench/result.schema.json)."""
    return json.loads(resources.files("odbench").joinpath("result.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    # date-time is checked only when rfc3339-validator is installed (a dependency for that reason)
    return jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())


def _where(error: jsonschema.ValidationError) -> str:
    path = "/".join(one_line(p, 60) for p in error.absolute_path)
    return f"at /{path}" if path else "at the top level"


_TYPES = {"object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
          "number": "a number", "boolean": "true or false", "null": "null"}


def _rule(error: jsonschema.ValidationError) -> str:
    """What the schema asks for, in words, without quoting the document's values: a message
    must never carry file content (jsonschema's own messages repr the instance)."""
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "type":
        kinds = [value] if isinstance(value, str) else list(value)
        return "must be " + " or ".join(_TYPES.get(k, k) for k in kinds)
    if kind == "required":
        missing = [k for k in value if isinstance(instance, dict) and k not in instance]
        return f"lacks the required field {missing[0]!r}" if missing else "lacks a required field"
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [k for k in instance if k not in known and not any(re.search(p, k) for p in patterns)]
        return f"has the unexpected field {one_line(extra[0], 60)!r}" if extra else "has an unexpected field"
    if kind == "propertyNames":
        return "has a key that is not allowed"
    if kind == "const":
        return f"must be {json.dumps(value)}"
    if kind == "enum":
        return "must be one of " + ", ".join(json.dumps(v) for v in value)
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kind]
        return f"must be {op} {value}"
    if kind in ("minLength", "maxLength"):
        return f"must have {'at least' if kind == 'minLength' else 'at most'} {value} characters"
    if kind in ("minProperties", "maxProperties", "minItems", "maxItems"):
        what = "fields" if "Properties" in kind else "items"
        return f"must have {'at least' if kind.startswith('min') else 'at most'} {value} {what}"
    if kind == "pattern":
        return f"must match {value}"
    if kind == "format":
        example = " (e.g. 2024-05-01T12:00:00+00:00)" if value == "date-time" else ""
        return f"is not a valid {value}{example}"
    if kind == "not" and "x-error" in error.schema:
        return error.schema["x-error"]
    if kind == "anyOf":
        return "matches none of the allowed forms"
    return f"violates the schema's {kind!r} rule"


def schema_problem(doc: Any) -> str | None:
    """One line naming the first schema violation (where and what rule), or None."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is None:
        return None
    if error.validator == "anyOf" and error.context:
        wrong_type = [e for e in error.context if e.validator == "type"]
        if len(wrong_type) < len(error.context):   # right type, but it breaks that type's rule
            error = jsonschema.exceptions.best_match(e for e in error.context if e.validator != "type")
        else:
            kinds = [k for e in wrong_type for k in ([e.validator_value] if isinstance(e.validator_value, str)
                                                       else e.validator_value)]
            return f"schema violation {_where(error)}: must be " + ", ".join(_TYPES.get(k, k) for k in kinds)
    rule = _rule(error)
    if "propertyNames" in error.absolute_schema_path:
        rule = f"has a key that breaks the rule: key names {rule}"
    return f"schema violation {_where(error)}: {rule}"


def validate(doc: Any) -> None:
    """Raise ResultError naming the first problem: schema violation or wrong rankings hash."""
    problem = schema_problem(doc)
    if problem is not None:
        raise ResultError(problem)
    actual = rankings_hash(doc["rankings"])
    if actual != doc["rankings_sha256"]:
        raise ResultError(f"rankings_sha256 is {doc['rankings_sha256'][:12]}..., but the rankings hash "
                          f"to {actual[:12]}...")


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read (strictly: see odbench.strict_json) and validate a result document."""
    doc = strict_json.read(path)
    try:
        validate(doc)
    except ResultError as exc:
        raise ResultError(f"{one_line(path)}: {exc}") from None
    return doc


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False, option: str = "--output") -> Path:
    """Refuse, before any work is done, an output that could not be written at the end."""
    if not str(path).strip():
        raise ResultError(f"{option} is empty: name a file, e.g. {option} results/my-model.json")
    path = Path(path)
    shown = one_line(path)
    if path.is_dir():
        raise ResultError(f"{option} {shown} is a folder; name a file in it, e.g. {path / 'result.json'}")
    if path.exists() and not overwrite:
        raise ResultError(f"{shown} already exists; pass --overwrite to replace it")
    if path.exists() and not path.is_file():
        raise ResultError(f"{option} {shown} exists and is not a regular file")
    for folder in (path.parent, *path.parent.parents):   # the nearest existing ancestor decides
        if folder.exists():
            if not folder.is_dir():
                raise ResultError(f"{option} {shown}: {one_line(folder)} is a file, not a folder")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ResultError(f"{option} {shown}: cannot write into {one_line(folder)}")
            break
    return path


def write_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write `text` to `path` through a temporary file and a rename, so a crash or an error
    never leaves a half-written file. Refuses to replace an existing file unless told to."""
    path = check_output_path(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile.mkstemp would make it 0600); O_EXCL never clobbers another writer's file.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def dump(doc: dict[str, Any]) -> str:
    """Stable text form: sorted keys, one level of indentation, trailing newline."""
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def save(doc: dict[str, Any], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Validate, then write atomically."""
    validate(doc)
    text = dump(doc)
    if len(text.encode("utf-8")) > strict_json.MAX_BYTES:
        raise ResultError(f"the result would be {len(text.encode('utf-8')) / 2**20:.0f} MiB, over the "
                          f"{strict_json.MAX_BYTES / 2**20:.0f} MiB a result file may have; use a smaller --k")
    return write_atomic(path, text, overwrite=overwrite)
