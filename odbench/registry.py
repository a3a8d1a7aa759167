"""Named entries of one kind: the one pattern behind every table of plug-ins in ODBench.

Built-in model names (`odbench.encoders.registry`), open_clip architectures
(`odbench.encoders.open_clip_configs`), the subcommands of the `odbench` CLI, the leaderboard's
datasets and the builders' inpainters are each a `Registry`. An entry whose code is heavy, or
lives in a package the library must not import (the trainer, `odbench_train`), is named by a
`"module:object"` string that `import_object` resolves only when the entry is used.
"""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries by name, in registration order. `kind` names what the entries are, in messages."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Add `entry` under `name`; a second entry of the same name needs `replace=True`."""
        if not name:
            raise ValueError(f"a {self.kind} needs a name")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered (pass replace=True)")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        return list(self._entries.values())

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def close_matches(self, name: str, *, n: int = 3, cutoff: float = 0.6) -> list[str]:
        """Registered names that look like `name`, for a "did you mean" hint."""
        return difflib.get_close_matches(name, list(self._entries), n=n, cutoff=cutoff)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def import_object(target: str) -> Any:
    """Import `"package.module:attribute"` (the attribute may be dotted) and return it."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected 'module:object', got {target!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj
