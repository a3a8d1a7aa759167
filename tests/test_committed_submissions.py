"""The committed submissions are what the current code computes.

Every submission the repository can rebuild within CI's parameter limit (the `odbench:`
reference models; larger ones such as an untrained ViT-B-32 are skipped) is evaluated again
through `odbench.reproduce.rerun`, the code of `odbench leaderboard --reproduce`, and its result
file must come out byte-identical, apart from the facts of the run: when it ran, how long it
took, and the odbench and torch versions it ran with.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from odbench import reproduce, results
from odbench.leaderboard.checks import find_submissions
from odbench.leaderboard.datasets import DatasetRegistry

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"
RUN_FACTS = {"date": "-", "wall_time_s": 0.0, "odbench_version": "-", "torch_version": "-"}


def rebuildable_in_ci() -> list[Path]:
    return [p for p in find_submissions(SUBMISSIONS) if reproduce.ci_status(results.load(p).model) == "yes"]


def without_run_facts(doc: results.ResultDocument) -> str:
    return results.dump(dataclasses.replace(doc, run=dataclasses.replace(doc.run, **RUN_FACTS)).to_json())


@pytest.fixture(scope="module")
def registry() -> DatasetRegistry:
    return DatasetRegistry.of_submissions(SUBMISSIONS)


@pytest.mark.parametrize("path", rebuildable_in_ci(), ids=lambda p: p.relative_to(SUBMISSIONS).as_posix())
def test_a_committed_submission_is_recomputed_byte_for_byte(path, registry):
    committed = results.load(path)
    again = reproduce.rerun(committed, *registry.get(committed.benchmark.name, committed.benchmark.version))
    assert without_run_facts(again) == without_run_facts(committed)
