"""Progress: a bar on a terminal; elsewhere (a log file, nohup, CI) one line at least every 30 s
with done/total, rate and ETA, so a long run is never a silent one. Nothing at all for what
takes less than that, and nothing when ODBENCH_PROGRESS=0."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

LINE_INTERVAL_S = 30.0
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {rate_fmt}, ETA {remaining}{postfix}"


def mode() -> str:
    """'bar', 'lines' or 'off'."""
    if os.environ.get("RANK", "0") != "0":
        # Under torchrun one bar, rank 0's, stands for all; the variable (not odbench.distributed)
        # keeps this module free of torch.
        return "off"
    if os.environ.get("ODBENCH_PROGRESS") in ("0", "1"):
        return "bar" if os.environ["ODBENCH_PROGRESS"] == "1" else "off"
    return "bar" if sys.stderr.isatty() and not os.environ.get("CI") else "lines"


def enabled() -> bool:
    return mode() != "off"


class _Lines:
    """A file for tqdm that turns its in-place updates ('\\r' + text) into lines."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        for part in text.replace("\r", "\n").split("\n"):
            if part.strip():
                self.stream.write(part.strip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress(iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    """`iterable`, with a bar or lines (see `mode`); the returned tqdm takes `set_postfix`."""
    how = mode()
    if how != "lines":
        return tqdm(iterable, desc=desc, total=total, unit=unit, disable=how == "off", leave=False)
    # tqdm's own timing: no line before 30 s (delay), then one per 30 s at most (mininterval)
    # and at least (maxinterval, its monitor thread, also while one item takes long)
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, file=_Lines(sys.stderr),
                delay=LINE_INTERVAL_S, mininterval=LINE_INTERVAL_S, maxinterval=LINE_INTERVAL_S,
                bar_format=LINE_FORMAT if total is not None else None, ascii=True)
