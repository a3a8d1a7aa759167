"""Result documents (SPEC section 7): schema validation, the rankings hash, atomic files."""
from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import ResultError
from .rankings import rankings_hash

SCHEMA_VERSION = "2.0"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema shipped with the package (odbench/result.schema.json)."""
    return json.loads(resources.files("odbench").joinpath("result.schema.json").read_text("utf-8"))


def _where(error: jsonschema.ValidationError) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    return f"at /{path}" if path else "at the top level"


def validate(doc: Any) -> None:
    """Raise ResultError naming the first problem: schema violation or wrong rankings hash."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        raise ResultError(f"schema violation {_where(error)}: {error.message}")
    actual = rankings_hash(doc["rankings"])
    if actual != doc["rankings_sha256"]:
        raise ResultError(f"rankings_sha256 is {doc['rankings_sha256'][:12]}..., but the rankings hash "
                          f"to {actual[:12]}...")


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a result document."""
    path = Path(path)
    if not path.is_file():
        raise ResultError(f"no such result file: {path}")
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultError(f"{path} is not valid JSON: {exc}") from None
    try:
        validate(doc)
    except ResultError as exc:
        raise ResultError(f"{path}: {exc}") from None
    return doc


def write_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write `text` to `path` through a temporary file and a rename, so a crash or an error
    never leaves a half-written file. Refuses to replace an existing file unless told to."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ResultError(f"{path} already exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def dump(doc: dict[str, Any]) -> str:
    """Stable text form: sorted keys, one level of indentation, trailing newline."""
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def save(doc: dict[str, Any], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Validate, then write atomically."""
    validate(doc)
    return write_atomic(path, dump(doc), overwrite=overwrite)
