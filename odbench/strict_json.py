"""Reading result documents strictly: what `json.loads` lets through and a submitter could use.

Python's json module takes duplicate keys (the last one wins, so a first `metrics` object can
show a reader one thing while the checks see another), NaN and Infinity (not JSON; every range
check on NaN passes), integers of any length (past 4300 digits Python raises a ValueError of
its own), and nesting deep enough to exhaust the stack. Each of these is one clear
`ResultError` here. Every reader of a result document, and of submissions/datasets.json,
goes through `read` or `loads`.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .errors import ResultError
from .escaping import one_line

# GitHub refuses files over 100 MB, so no submission can be larger; a result on COCO's 5k test
# split with --k 10 is about a tenth of that.
MAX_BYTES = 100 * 2**20
MAX_INT_DIGITS = 30      # counts, seeds and sizes; 2**64 has 20 digits
MAX_DEPTH = 16           # a result document nests 5 levels deep (rankings/i2t/query/list/id)


class _Refused(ValueError):
    """Raised from inside the parser hooks; turned into a ResultError by `loads`."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {one_line(key, 60)!r} in one object")
        out[key] = value
    return out


def _constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number (metrics must be finite)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {one_line(text, 40)} is out of range (metrics must be finite)")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads(text: str) -> Any:
    """Parse strictly; raise ResultError with one line naming the first problem."""
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant,
                           parse_float=_float, parse_int=_int)
    except _Refused as exc:
        raise ResultError(str(exc)) from None
    except json.JSONDecodeError as exc:   # its message names a position, never the content
        raise ResultError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ResultError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise ResultError(f"nested deeper than {MAX_DEPTH} levels")
    return value


class FileError(ResultError):
    """A file that cannot be read as a document: `problem` is the message without the path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def read(path: str | os.PathLike, *, what: str = "result file", max_bytes: int | None = None) -> Any:
    """Read and parse one JSON file (at most `max_bytes`, default MAX_BYTES); every problem
    is a FileError naming the file."""
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    path = Path(path)
    shown = one_line(path)
    if path.is_dir():
        raise FileError(shown, f"is a folder, not a {what} (pass the JSON files in it)")
    if not path.exists():
        raise FileError(shown, f"no such {what}")
    if not path.is_file():     # a device or a pipe (/dev/zero) exists: it is just no file
        raise FileError(shown, f"is not a regular file, so not a {what}")
    size = path.stat().st_size
    if size > max_bytes:
        raise FileError(shown, f"the file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB "
                               f"a {what} may have")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileError(shown, f"not valid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise FileError(shown, f"cannot be read: {exc.strerror}") from None
    try:
        return loads(text)
    except ResultError as exc:
        raise FileError(shown, str(exc)) from None
