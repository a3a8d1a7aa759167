"""Progress where no terminal shows a bar (nohup, a log file, CI): a line at least every 30 s
with done/total, rate and ETA; nothing for what is quicker than that."""
from __future__ import annotations

import io

from odbench import progress


class _Log(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_a_long_loop_prints_a_line_every_30_seconds_to_a_log(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("tqdm.std.time", lambda: clock[0])      # tqdm's own clock
    monkeypatch.delenv("ODBENCH_PROGRESS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    log = _Log()
    monkeypatch.setattr("sys.stderr", log)
    for _ in progress.progress(range(4), desc="images", total=4, unit="batch"):
        clock[0] += 40.0
    lines = log.getvalue().splitlines()
    assert [line.split(", ETA ")[0] for line in lines] == [
        "images: 1/4 batch (25%), 40.00s/batch", "images: 2/4 batch (50%), 40.00s/batch",
        "images: 3/4 batch (75%), 40.00s/batch", "images: 4/4 batch (100%), 40.00s/batch"]
    assert lines[0].endswith("ETA 02:00") and lines[-1].endswith("ETA 00:00")


def test_a_quick_loop_prints_nothing_and_odbench_progress_0_silences_all(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("tqdm.std.time", lambda: clock[0])
    monkeypatch.delenv("ODBENCH_PROGRESS", raising=False)
    log = _Log()
    monkeypatch.setattr("sys.stderr", log)
    for _ in progress.progress(range(100), desc="captions", total=100, unit="batch"):
        clock[0] += 0.2
    assert log.getvalue() == ""
    monkeypatch.setenv("ODBENCH_PROGRESS", "0")
    for _ in progress.progress(range(3), desc="captions", total=3, unit="batch"):
        clock[0] += 100.0
    assert log.getvalue() == "" and progress.mode() == "off"
