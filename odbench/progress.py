"""Progress bars that show on a terminal and stay quiet in CI logs and pipes."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def enabled() -> bool:
    if os.environ.get("RANK", "0") != "0":
        # Under torchrun one bar, rank 0's, stands for all; the variable (not odbench.distributed)
        # keeps this module free of torch.
        return False
    if os.environ.get("ODBENCH_PROGRESS") in ("0", "1"):
        return os.environ["ODBENCH_PROGRESS"] == "1"
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress(iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=not enabled(), leave=False)
