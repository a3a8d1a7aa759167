"""Progress of a long build as plain lines: done/total, rate and ETA, per shard and overall.

A line is printed every 30 s (and at the end), on a terminal or into a log file alike, so a
build that runs for hours under a job scheduler shows where it is. `overall` counts what every
shard has finished, read from the work folder, since the other shards are other processes.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

INTERVAL_S = 30.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class ProgressLine:
    def __init__(self, what: str, total: int, done: int = 0, *, stream: TextIO | None = None,
                 overall: Callable[[], int] | None = None, overall_total: int | None = None,
                 interval: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self.what, self.total, self.done, self.start_done = what, total, done, done
        self.stream, self.overall, self.interval, self.clock = stream, overall, interval, clock
        self.overall_total = overall_total
        self.started = self.last = clock()

    def text(self) -> str:
        elapsed = self.clock() - self.started
        fresh = self.done - self.start_done
        rate = fresh / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = _duration(left / rate) if rate > 0 else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        out = f"{self.what}: {self.done}/{self.total} units ({pct:.0f}%), {rate:.2f} units/s, ETA {eta}"
        if self.overall is not None:
            total = self.overall_total if self.overall_total is not None else None
            done = self.overall()
            out += f"; overall {done}/{total}" if total is not None else f"; overall {done} done"
        return out

    def emit(self) -> None:
        print(self.text(), file=self.stream or sys.stderr, flush=True)
        self.last = self.clock()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.clock() - self.last >= self.interval:
            self.emit()

    def close(self) -> None:
        self.emit()
