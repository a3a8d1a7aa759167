"""Who a result belongs to: between two files with the same model or the same rankings, the one
that entered the repository's history first, never the one whose name sorts first (a copy
saved as `a-new-model.json` must not displace `odbench-baseline.json`).

Order: files by the first commit that added them (oldest first; files of one commit by path),
then the files no commit has (new in the working tree or staged), by path. Without git, outside
a repository, or in a shallow clone (whose history is cut, so "first added" is unknown), the
order is by path, and `HistoryOrder.basis` says so.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PATH_ORDER = "path order"
HISTORY_ORDER = "the order files entered the repository's history"
DUPLICATES = ("duplicate-submission", "duplicate-rankings", "near-duplicate")   # decided by the order


@dataclass(frozen=True)
class HistoryOrder:
    paths: list[Path]
    basis: str          # HISTORY_ORDER, or PATH_ORDER and why


def _git(root: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run([git, "-C", str(root), *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def first_added(folder: Path) -> tuple[dict[Path, int], str]:
    """{resolved path: rank of the commit that first added it} for the files under `folder`
    that git history holds, and the basis (HISTORY_ORDER, or why history cannot be used)."""
    folder = folder.resolve()
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return {}, f"{PATH_ORDER} (not a git repository)"
    if (_git(folder, "rev-parse", "--is-shallow-repository") or "").strip() == "true":
        return {}, f"{PATH_ORDER} (a shallow clone: its history is cut)"
    # --no-renames: a renamed file counts from its rename; --reverse: oldest commit first
    log = _git(folder, "log", "--reverse", "--no-renames", "--diff-filter=A", "--name-only", "-z",
               "--format=%x00commit %H", "--", ".")
    if log is None:
        return {}, f"{PATH_ORDER} (git log failed)"
    root = Path(top.strip())
    ranks: dict[Path, int] = {}
    commit = -1
    for item in log.split("\0"):
        item = item.strip("\n")
        if item.startswith("commit "):
            commit += 1
        elif item:
            ranks.setdefault((root / item).resolve(), commit)
    return ranks, HISTORY_ORDER


def history_order(paths: Sequence[Path], folder: Path) -> HistoryOrder:
    """`paths` (files under `folder`) in precedence order: see the module's docstring."""
    ranks, basis = first_added(folder)

    def key(path: Path) -> tuple[int, int, str]:
        rank = ranks.get(path.resolve())
        relative = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else str(path)
        return (0, rank, relative) if rank is not None else (1, 0, relative)

    return HistoryOrder(sorted(paths, key=key), basis)
