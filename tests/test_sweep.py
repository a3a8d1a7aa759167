"""`odbench sweep`: three models (one failing on purpose) into one folder, interrupted with Ctrl-C
in the middle, resumed by running the same command again, ending with a comparison."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from odbench import results

from console import BIN, assert_one_line_error, run_console

MODELS = """\
# three local models; the second fails on purpose
mock:random seed=1
broken.py:Broken
slow.py:Slow
"""
BROKEN = '''
import torch


class Broken:
    """Fails on purpose: its text tower returns one row too many."""

    def encode_images(self, batch):
        return torch.ones(len(batch), 4)

    def encode_texts(self, texts):
        return torch.ones(len(texts) + 1, 4)
'''
SLOW = '''
import os
import time
from pathlib import Path

from odbench.encoders import MockEncoder


class Slow(MockEncoder):
    """A working model that, when SWEEP_TEST_HANG names a file, creates it and then waits long
    enough to be interrupted."""

    def __init__(self):
        super().__init__(seed=2)
        if os.environ.get("SWEEP_TEST_HANG"):
            Path(os.environ["SWEEP_TEST_HANG"]).touch()
            time.sleep(300)
'''


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "models.txt").write_text(MODELS)
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "slow.py").write_text(SLOW)
    return tmp_path


def test_a_sweep_fails_one_model_resumes_after_an_interruption_and_compares(dataset, tmp_path):
    folder = _folder(tmp_path)
    command = ["sweep", "--models", "models.txt", "--output-dir", "out", "--dataset", str(dataset),
               "--device", "cpu", "--draws", "200"]
    marker = folder / "slow-started"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ODBENCH_PROGRESS": "0", "SWEEP_TEST_HANG": str(marker)}
    first = subprocess.Popen([str(BIN / "odbench"), *command], cwd=folder, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not marker.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), first.communicate()
    first.send_signal(signal.SIGINT)                       # Ctrl-C while the third model is built
    out, err = first.communicate(timeout=60)
    assert first.returncode == 130 and err.strip().endswith("interrupted"), (out, err)
    assert out.splitlines()[1].startswith("done     mock:random seed=1: odmap@10 ")
    assert out.splitlines()[2].startswith("failed   broken.py:Broken: model broken.py:Broken: encode_texts returned")

    state = json.loads((folder / "out" / "sweep.json").read_text())["models"]
    assert sorted(e["status"] for e in state.values()) == ["done", "failed"]      # Slow never finished
    written = sorted(p.name for p in (folder / "out").glob("*.json") if p.name != "sweep.json")
    assert len(written) == 1 and written[0].startswith("mock-random-seed-1-")
    first_result = (folder / "out" / written[0]).read_bytes()

    # the same command again: the finished model is skipped, the failed one retried, the rest run
    second = run_console("odbench", *command, cwd=folder)
    assert second.returncode == 1, second.stderr[-2000:]
    lines = second.stdout.splitlines()
    assert lines[1].startswith("skipped  mock:random seed=1") and lines[1].endswith("(finished before)")
    assert lines[2].startswith("failed   broken.py:Broken: ")
    assert lines[3].startswith("done     slow.py:Slow: odmap@10 ")
    assert "1 of 3 models failed" in second.stderr
    assert (folder / "out" / written[0]).read_bytes() == first_result               # not re-evaluated

    comparison = (folder / "out" / "comparison.md").read_text()
    assert "| metric | `mock:random seed=1` | `slow.py:Slow` |" in comparison
    assert "200 draws, seed 0" in comparison and "## Ranks by odmap@10" in comparison
    assert "wrote out/comparison.md" in second.stdout
    for path in (folder / "out").glob("*.json"):
        if path.name != "sweep.json":
            assert results.load(path).intervals["draws"] == 200

    # --skip-failed: nothing runs at all
    third = run_console("odbench", *command, "--skip-failed", cwd=folder)
    assert third.returncode == 1
    assert [line.split()[0] for line in third.stdout.splitlines()[1:4]] == ["skipped", "failed", "skipped"]


def test_sweep_mistakes_are_one_line_before_any_model_runs(dataset, tmp_path):
    folder = _folder(tmp_path)
    (folder / "bad.txt").write_text("mock:random seed=1 oops\n")
    (folder / "twice.txt").write_text("mock:random\nmock:random\n")
    base = ["sweep", "--output-dir", "out", "--dataset", str(dataset), "--device", "cpu"]
    for extra, message in [([], "no models: give --models FILE"),
                           (["--model", "mock:random", "--output-dir", " "], "--output-dir is empty"),
                           (["--models", "missing.txt"], "--models missing.txt: cannot read it"),
                           (["--models", "bad.txt"], "bad.txt line 1: 'oops' is not KEY=VALUE"),
                           (["--models", "twice.txt"], "mock:random is listed twice"),
                           (["--model", "mock:random", "--metric", "odmap@11"], "unknown metric 'odmap@11'")]:
        assert_one_line_error(run_console("odbench", *base, *extra, cwd=folder), message)
    (folder / "out").mkdir()
    (folder / "out" / "sweep.json").write_text(json.dumps(
        {"dataset": {"name": "odbench-coco", "version": "1.0.0", "dataset_hash": "0" * 64}, "models": {}}))
    assert_one_line_error(run_console("odbench", *base, "--model", "mock:random", cwd=folder),
                          "holds a sweep on odbench-coco v1.0.0")
