"""`odbench report`: a markdown summary and a PNG of one result, or of two and their difference."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from odbench import results
from odbench.cli.main import main as odbench
from odbench.results import dump

from fake_results import make_submission

pytest.importorskip("matplotlib", reason="no matplotlib (pip install -e '.[test]' or '.[report]')")
from PIL import Image  # noqa: E402

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions" / "odbench-picto"
BASELINE, MITIGATED = SUBMISSIONS / "odbench-baseline.json", SUBMISSIONS / "odbench-mitigated.json"


@pytest.fixture(scope="module")
def one_result(loaded_tiny, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("results") / "mine.json"
    path.write_text(dump(make_submission(loaded_tiny, seed=1)))
    return path


def test_one_model(one_result, tmp_path):
    assert odbench(["report", str(one_result), "--output", str(tmp_path / "mine.md")]) == 0
    text = (tmp_path / "mine.md").read_text()
    doc = results.load(one_result)
    lo, hi = doc.intervals["metrics"]["odmap@10"]
    assert f"| odmap@10 | {doc.metrics['odmap@10']:.4f} [{lo:.4f}, {hi:.4f}] |" in text
    assert "| difference |" not in text
    assert "![per-pair odmap@10 and hr@5, and the summary metrics](mine.png)" in text
    with Image.open(tmp_path / "mine.png") as png:
        assert png.format == "PNG" and png.width > 1000


def test_baseline_against_mitigated_shows_the_difference(tmp_path):
    assert odbench(["report", str(BASELINE), "--compare", str(MITIGATED), "--output", str(tmp_path / "r.md")]) == 0
    base, mitigated = results.load(BASELINE), results.load(MITIGATED)
    text = (tmp_path / "r.md").read_text()
    delta = mitigated.metrics["odmap@10"] - base.metrics["odmap@10"]
    (b_lo, b_hi), (m_lo, m_hi) = base.intervals["metrics"]["odmap@10"], mitigated.intervals["metrics"]["odmap@10"]
    assert (f"| odmap@10 | {base.metrics['odmap@10']:.4f} [{b_lo:.4f}, {b_hi:.4f}] | "
            f"{mitigated.metrics['odmap@10']:.4f} [{m_lo:.4f}, {m_hi:.4f}] | {delta:+.4f} |") in text
    for pair in base.per_pair:          # every pair has a row, with both numbers and the difference
        a, b = base.per_pair[pair]["odmap@10"], mitigated.per_pair[pair]["odmap@10"]
        assert f"| {a:.4f} | {b:.4f} | {b - a:+.4f} |" in text
    with Image.open(tmp_path / "r.png") as png:
        compared_height = png.height
    assert odbench(["report", str(BASELINE), "--output", str(tmp_path / "alone.md")]) == 0
    with Image.open(tmp_path / "alone.png") as png:
        assert compared_height > 1.5 * png.height      # a second row of plots: the differences


def test_same_results_same_bytes(one_result, tmp_path):
    for name in ("a.md", "b.md"):
        assert odbench(["report", str(one_result), "--output", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_mistakes_are_one_line_and_write_nothing(one_result, tmp_path, capsys):
    # results on different datasets do not compare pair by pair
    assert odbench(["report", str(one_result), "--compare", str(BASELINE), "--output", str(tmp_path / "x.md")]) == 2
    assert "different datasets" in capsys.readouterr().err
    (tmp_path / "x.png").write_bytes(b"mine")
    assert odbench(["report", str(one_result), "--output", str(tmp_path / "x.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--overwrite" in err and err.count("\n") == 1
    assert (tmp_path / "x.png").read_bytes() == b"mine" and not (tmp_path / "x.md").exists()


def test_without_matplotlib_the_message_says_what_to_install(one_result, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)     # as if not installed
    assert odbench(["report", str(one_result), "--output", str(tmp_path / "r.md")]) == 2
    assert "pip install 'odbench[report]'" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


def test_an_output_named_png_is_refused_before_anything_is_written(one_result, tmp_path, capsys):
    assert odbench(["report", str(one_result), "--output", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == (f"error: --output {tmp_path / 'x.png'} names the PNG; name the markdown "
                                       f"file, e.g. --output {tmp_path / 'x.md'} (the PNG goes beside it)\n")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.md").exists()
