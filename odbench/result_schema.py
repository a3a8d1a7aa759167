"""The result document's JSON Schema (odbench/result.schema.json) and its violations in words.

The schema is the on-disk contract of SPEC section 7; `odbench.results` checks documents with
it. A message names where and which rule, never the document's values: a submission's content
must not reach a CI log or leaderboard.md through an error message.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from .escaping import one_line


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


def _rankings_problem(rankings: dict[str, Any]) -> str | None:
    """The schema's rule for rankings ({direction: {query id: [gallery id strings]}}), checked
    directly: jsonschema over every list of a COCO-size document takes seconds."""
    for direction, ranking in rankings.items():
        for query, ids in ranking.items():
            if not isinstance(ids, list):
                return f"schema violation at /rankings/{one_line(direction, 60)}/{one_line(query, 60)}: must be an array"
            for j, item in enumerate(ids):
                if not isinstance(item, str):
                    return (f"schema violation at /rankings/{one_line(direction, 60)}/{one_line(query, 60)}/{j}: "
                            f"must be a string")
    return None


def schema_problem(doc: Any) -> str | None:
    """One line naming the first schema violation (where and what rule), or None."""
    rankings = doc.get("rankings") if isinstance(doc, dict) else None
    if isinstance(rankings, dict) and all(isinstance(r, dict) for r in rankings.values()):
        # jsonschema sees every other part and the rankings' shape; the lists are checked below
        problem = _schema_problem({**doc, "rankings": {d: {} for d in rankings}})
        return problem if problem is not None else _rankings_problem(rankings)
    return _schema_problem(doc)


def _schema_problem(doc: Any) -> str | None:
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
