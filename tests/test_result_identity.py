"""Who a result belongs to: between duplicates the file that entered git history first wins,
whatever the names; files no commit has come after; a shallow clone falls back to path order
and says so."""
from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest

from odbench.leaderboard.checks import find_submissions, verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.leaderboard.identity import HISTORY_ORDER, history_order
from odbench.results import dump

from console import run_console
from fake_results import make_submission
from tiny_dataset import KEY

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.fixture(scope="module")
def registry(dataset) -> DatasetRegistry:
    return DatasetRegistry({KEY: (str(dataset), None)})


@pytest.fixture()
def repo(tmp_path, loaded_tiny):
    """A repository whose genuine result was committed first, and a copy under new model fields,
    named to sort first, committed after it."""
    original = make_submission(loaded_tiny, seed=1, spec="my_encoder.py:MyEncoder", weights_hash="ab" * 32,
                               untrained=False)
    copied = copy.deepcopy(original)
    copied["model"].update(spec="a_new_model.py:NewModel", name="a new model", weights_hash="cd" * 32)
    repo = tmp_path / "repo"
    subs = repo / "submissions"
    subs.mkdir(parents=True)
    git(repo, "init", "-q")
    (subs / "odbench-baseline.json").write_text(dump(original))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "genuine")
    (subs / "a-new-model.json").write_text(dump(copied))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "copy")
    return repo, copied


def test_the_file_committed_first_wins_whatever_its_name(repo, registry):
    root, _ = repo
    subs = root / "submissions"
    order = history_order(find_submissions(subs), subs)
    assert order.basis == HISTORY_ORDER
    outcome = verify_all(order.paths, registry)
    assert [e.path.name for e in outcome.accepted] == ["odbench-baseline.json"]
    [rejected] = outcome.rejected
    assert (rejected.path.name, rejected.reason) == ("a-new-model.json", "duplicate-rankings")
    assert rejected.detail.endswith(f"as the earlier {subs / 'odbench-baseline.json'}: one result is listed "
                                    f"once, under the model that produced it")


def test_uncommitted_files_come_after_committed_ones(repo, registry):
    root, copied = repo
    subs = root / "submissions"
    (subs / "0-not-yet-committed.json").write_text(dump(copied | {"model": {**copied["model"], "spec": "x.py:X"}}))
    names = [p.name for p in history_order(find_submissions(subs), subs).paths]
    assert names == ["odbench-baseline.json", "a-new-model.json", "0-not-yet-committed.json"]


def test_a_shallow_clone_falls_back_to_path_order_and_says_so(repo, dataset, tmp_path):
    root, _ = repo
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{root}", str(clone)], check=True,
                   capture_output=True, env={**os.environ, **GIT_ENV})
    subs = clone / "submissions"
    order = history_order(find_submissions(subs), subs)
    assert [p.name for p in order.paths] == ["a-new-model.json", "odbench-baseline.json"]
    assert order.basis == "path order (a shallow clone: its history is cut)"
    proc = run_console("odbench", "leaderboard", "--submissions", subs, "--output", tmp_path / "lb.md",
                       "--dataset", f"{KEY}={dataset}")
    assert proc.stderr.splitlines()[-1] == (
        "note: duplicates were decided by path order (a shallow clone: its history is cut); with full history "
        "(git clone without --depth) the earlier-committed file wins")
