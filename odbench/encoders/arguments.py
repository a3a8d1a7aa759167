"""``--model-arg key=value`` strings, typed by the constructor's annotations."""
from __future__ import annotations

import collections.abc
import difflib
import inspect
import json
import math
import types
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin

from odbench.errors import EncoderError


def parse_model_args(items: list[str] | None) -> dict[str, str]:
    """``["dim=128", "pretrained=/x.pt"]`` -> dict; for the CLI's repeated ``--model-arg``."""
    args: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EncoderError(f"--model-arg {item!r}: expected key=value")
        if key in args:
            raise EncoderError(f"--model-arg {key} given twice")
        args[key] = value
    return args


def _signature(obj: Any) -> inspect.Signature | None:
    for eval_str in (True, False):  # unresolvable string annotations: fall back to raw ones
        try:
            return inspect.signature(obj, eval_str=eval_str)
        except (TypeError, ValueError, NameError, AttributeError, SyntaxError):
            continue
    return None


def typed_kwargs(obj: Any, args: dict[str, Any], spec: str, what: str) -> dict[str, Any]:
    sig = _signature(obj)
    if sig is None:  # builtins without a signature: pass the strings through
        return dict(args)
    params = {n: p for n, p in sig.parameters.items()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    kwargs: dict[str, Any] = {}
    for key, value in args.items():
        param = params.get(key)
        if param is None:
            if takes_any:
                kwargs[key] = value
                continue
            close = difflib.get_close_matches(key, list(params), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            accepted = ", ".join(params) or "none"
            raise EncoderError(f"{what} (from {spec}) has no constructor argument {key!r}; "
                               f"accepted: {accepted}.{hint}")
        if not isinstance(value, str):  # Python callers may pass typed values directly
            kwargs[key] = value
            continue
        try:
            kwargs[key] = convert_arg(value, param.annotation)
        except _Unconvertible as exc:
            raise EncoderError(f"--model-arg {key}={value!r}: {what} expects {exc}") from None
    missing = [n for n, p in params.items() if p.default is p.empty and n not in kwargs]
    if missing:
        raise EncoderError(f"{what} (from {spec}) needs constructor argument(s) "
                           f"{', '.join(missing)}; pass --model-arg {missing[0]}=VALUE")
    return kwargs


class _Unconvertible(ValueError):
    """The string does not fit the annotation; the message names the expected type."""


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def convert_arg(value: str, annotation: Any) -> Any:
    """Convert one ``--model-arg`` string by its annotation; unknown annotations keep the str."""
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is str:
        return value
    if isinstance(annotation, str):  # an annotation we could not resolve: no guessing
        return value
    origin, members = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is types.UnionType:
        if type(None) in members and value.strip().lower() in ("none", "null"):
            return None
        options = [m for m in members if m is not type(None)]
        for option in options:
            try:
                return convert_arg(value, option)
            except _Unconvertible:
                continue
        raise _Unconvertible(" or ".join(_type_name(m) for m in members))
    if origin is Literal:
        for choice in members:
            if str(choice) == value or (isinstance(choice, bool) and value.lower() == str(choice).lower()):
                return choice
        raise _Unconvertible("one of " + ", ".join(repr(c) for c in members))
    if annotation is bool:
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
        raise _Unconvertible("a bool (true or false)")
    if annotation is int:
        try:
            number = int(value)
        except ValueError:
            raise _Unconvertible("an int") from None
        # Python ints are unbounded, tensors' sizes and seeds are not: refuse here, in one line,
        # what would fail later deep inside torch
        if not -2**63 <= number < 2**63:
            raise _Unconvertible("an int between -2**63 and 2**63 - 1")
        return number
    if annotation is float:
        try:
            number = float(value)
        except ValueError:
            raise _Unconvertible("a float") from None
        if not math.isfinite(number):
            raise _Unconvertible("a finite float")
        return number
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return annotation(value).expanduser()
    container = origin or annotation
    json_types = {dict: dict, list: list, tuple: list, collections.abc.Mapping: dict,
                  collections.abc.Sequence: list}
    if container in json_types:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise _Unconvertible(f"JSON for {_type_name(annotation)}") from None
        if not isinstance(parsed, json_types[container]):
            raise _Unconvertible(f"JSON for {_type_name(annotation)}")
        return tuple(parsed) if container is tuple else parsed
    return value


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
