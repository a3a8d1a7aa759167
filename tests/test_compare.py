"""Paired comparisons (SPEC 9): `odbench compare`, separability, p, rank intervals, rescoring."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from odbench import results
from odbench.cli.main import main as odbench
from odbench.comparison import Difference, paired_difference, rank_intervals
from odbench.leaderboard.checks import verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.results import dump

from console import assert_one_line_error, run_console
from fake_results import make_submission

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions" / "odbench-picto"
BASELINE, MITIGATED = SUBMISSIONS / "odbench-baseline.json", SUBMISSIONS / "odbench-mitigated.json"
UNTRAINED = SUBMISSIONS / "vit-b-32-untrained.json"


def test_separable_when_the_interval_of_the_difference_excludes_zero():
    draws_a = np.linspace(0.10, 0.12, 1000)
    clearly = paired_difference("odmap@10", 0.11, 0.16, draws_a, draws_a + 0.05)
    assert clearly.separable and clearly.p == 0.0 and clearly.delta == pytest.approx(0.05)
    # the same means, but B - A swings around 0 from draw to draw: not separable
    noisy = paired_difference("odmap@10", 0.11, 0.11, draws_a, draws_a + np.linspace(-0.01, 0.01, 1000))
    assert not noisy.separable and 0.4 < noisy.p < 0.6
    assert Difference("odmap@10", None, 0.2, None, None).separable is False


def test_rank_intervals_follow_separability():
    rng = np.random.default_rng(0)
    common = rng.normal(0, 0.01, 1000)         # the same draws move every model alike (paired)
    top, tied, bottom = 0.30 + common, 0.201 + common + rng.normal(0, 0.003, 1000), 0.20 + common
    ranks = rank_intervals([0.30, 0.201, 0.20], [top, tied, bottom])
    assert ranks == [(1, 1), (2, 3), (2, 3)]   # the two close models share ranks 2-3
    assert rank_intervals([0.3, None], [top, np.full(1000, np.nan)]) == [(1, 1), (2, 2)]


def test_compare_the_reference_models(tmp_path, capsys):
    out = tmp_path / "cmp.md"
    assert odbench(["compare", str(BASELINE), str(MITIGATED), str(UNTRAINED), "--output", str(out)]) == 0
    text = out.read_text()
    base, mitigated = results.load(BASELINE), results.load(MITIGATED)
    lo, hi = base.intervals["metrics"]["odmap@10"]
    # each model's value with the interval its file carries (same draws, recomputed)
    assert f"{base.metrics['odmap@10']:.4f} [{lo:.4f}, {hi:.4f}]" in text
    delta = mitigated.metrics["odmap@10"] - base.metrics["odmap@10"]
    assert f"| odmap@10 | {delta:+.4f} [" in text and "## `odbench:mitigated` - `odbench:baseline`" in text
    row = next(line for line in text.splitlines() if line.startswith(f"| odmap@10 | {delta:+.4f}"))
    assert row.endswith("| 0.000 | yes |")
    assert "| 1 | 1-1 | `odbench:mitigated` |" in text and "| 3 | 3-3 | `open_clip:ViT-B-32 (untrained)` |" in text
    assert out.with_suffix(".png").stat().st_size > 10_000
    # without --output the markdown goes to stdout
    assert odbench(["compare", str(BASELINE), str(MITIGATED), "--metric", "gap@10"]) == 0
    printed = capsys.readouterr().out
    assert "| gap@10 |" in printed and "| rsum |" not in printed


@pytest.fixture
def two_tiny(loaded_tiny, dataset, tmp_path) -> list[Path]:
    paths = []
    for seed in (1, 2):
        doc = make_submission(loaded_tiny, seed=seed)
        doc["benchmark"]["source"] = str(dataset)
        paths.append(tmp_path / f"m{seed}.json")
        paths[-1].write_text(dump(doc))
    return paths


def test_compare_mistakes_are_one_line(two_tiny, tmp_path):
    a, b = map(str, two_tiny)
    assert_one_line_error(run_console("odbench", "compare", a), "at least two result files")
    assert_one_line_error(run_console("odbench", "compare", a, b, "--draws", "50"), "at least 100")
    assert_one_line_error(run_console("odbench", "compare", a, b, "--metric", "odmap10"), "did you mean 'odmap@10'")
    assert_one_line_error(run_console("odbench", "compare", a, str(BASELINE)), "only results on the same dataset")
    no_rankings = json.loads(Path(a).read_text())
    del no_rankings["rankings"]
    (tmp_path / "bare.json").write_text(dump(no_rankings))
    assert_one_line_error(run_console("odbench", "compare", a, str(tmp_path / "bare.json")),
                          "lacks the required field 'rankings'")
    assert not list(tmp_path.glob("*.md")) and not list(tmp_path.glob("*.png"))


def test_compare_tiny_models_on_their_own_dataset(two_tiny, tmp_path):
    out = tmp_path / "tiny.md"
    assert odbench(["compare", *map(str, two_tiny), "--output", str(out)]) == 0
    assert "Ranks by odmap@10" in out.read_text()


def test_rescore_upgrades_a_2_0_file_without_touching_its_rankings(tmp_path, dataset):
    current = json.loads(BASELINE.read_text())
    old = copy.deepcopy(current)              # the file as schema 2.0 wrote it
    old["schema_version"] = "2.0"
    del old["intervals"]
    old["metrics"] = {k: v for k, v in old["metrics"].items() if not k.startswith("retention@")}
    (tmp_path / "old.json").write_text(dump(old))
    results.validate(old)                     # 2.0 files stay valid
    outcome = verify_all([tmp_path / "old.json"], DatasetRegistry())
    assert outcome.rejected == [] and len(outcome.accepted) == 1
    assert odbench(["rescore", str(tmp_path / "old.json"), "--output", str(tmp_path / "new.json")]) == 0
    assert (tmp_path / "new.json").read_text() == BASELINE.read_text()
    # and a 2.1 file claiming a 2.0 file's content is incomplete
    old["schema_version"] = "2.1"
    with pytest.raises(results.InvalidDocument, match="intervals"):
        results.validate(old)


def test_interval_settings_other_than_spec_9s_are_recomputed_with_those_settings(tmp_path):
    doc = json.loads(BASELINE.read_text())
    assert odbench(["rescore", str(BASELINE), "--output", str(tmp_path / "b.json"), "--draws", "200",
                    "--draw-seed", "7"]) == 0
    other = json.loads((tmp_path / "b.json").read_text())
    assert other["intervals"]["draws"] == 200 and other["intervals"]["metrics"] != doc["intervals"]["metrics"]
    assert verify_all([tmp_path / "b.json"], DatasetRegistry()).rejected == []
    other["intervals"]["seed"] = 8             # bounds that other draws gave
    (tmp_path / "b.json").write_text(dump(other))
    [rejected] = verify_all([tmp_path / "b.json"], DatasetRegistry()).rejected
    assert rejected.reason == "interval-mismatch"
