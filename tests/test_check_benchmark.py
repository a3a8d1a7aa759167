"""`odbench check-benchmark` (SPEC section 8): the oracle and planted shortcuts, with gates."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from odbench.cli.main import main as odbench
from odbench.data import EMBEDDED_DIR
from odbench.validity import check_benchmark, label_embeddings

from tiny_dataset import tiny_benchmark, write_tiny_dataset


def test_label_embeddings_are_indicators_with_a_planted_partner():
    noise = np.zeros((2, 3))
    emb = label_embeddings([frozenset({"dog"}), frozenset({"dog", "frisbee"})], ["cat", "dog", "frisbee"], noise,
                           alpha=0.5, pair_partners={"dog": ["frisbee"], "frisbee": ["dog"]})
    # A dog alone leans towards the frisbee it usually comes with; a dog with a frisbee does not.
    expected = torch.tensor([[0, 1, 0.5], [0, 1, 1]]) / torch.tensor([[1.25 ** 0.5], [2 ** 0.5]])
    assert torch.allclose(emb, expected)


def test_the_shipped_dataset_passes(capsys):
    assert odbench(["check-benchmark"]) == 0                    # the embedded odbench-picto, both splits
    out = capsys.readouterr().out
    assert "| label oracle | - | 0.0 | 1.000 | 1.000 | 1.000 | 1.000 |" in out
    assert "odbench-picto@2.1.0: passes SPEC section 8" in out and "FAIL" not in out
    assert "odbench-picto@2.1.0 (validation split): passes SPEC section 8" in out
    card = (EMBEDDED_DIR / "odbench-picto" / "README.md").read_text()
    blocks = out.split("\n\n")
    tables = [blocks[i + 1].strip() for i, b in enumerate(blocks) if b.startswith("split ")]
    assert "## Validity (SPEC section 8)" in card and len(tables) == 2
    assert all(table in card for table in tables)               # each split's table, as built


def test_an_exhaustive_dataset_that_fails_a_gate_exits_1(tmp_path, capsys):
    # Too small for the shortcut to bite at α 0.3: odmap@10 does not fall strictly.
    write_tiny_dataset(tmp_path / "tiny", style="exhaustive")
    assert odbench(["check-benchmark", str(tmp_path / "tiny"), "--output", str(tmp_path / "r.json")]) == 1
    out = capsys.readouterr().out
    assert "FAIL  image tower falls" in out and "FAILS SPEC section 8" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["gated"] and not report["passed"] and len(report["rows"]) == 10


def test_a_partial_dataset_is_reported_without_gates(dataset, capsys):
    assert odbench(["check-benchmark", str(dataset)]) == 0          # the tiny partial dataset
    out = capsys.readouterr().out
    assert "not gated: a partial dataset's ceiling is below 1 by construction" in out
    assert "PASS" not in out and "FAIL" not in out


def test_rows_and_ceiling():
    report = check_benchmark(tiny_benchmark("exhaustive"))
    assert [(r.tower, r.alpha) for r in report.rows][:4] == [("-", 0.0), ("image", 0.3), ("image", 0.6), ("image", 0.9)]
    assert report.oracle.metrics["odmap@10"] == pytest.approx(1.0)
    # The same noise in every row: the oracle is reproducible and the shortcut alone moves scores.
    assert check_benchmark(tiny_benchmark("exhaustive")).as_dict() == report.as_dict()


def test_a_missing_dataset_is_a_one_line_error(tmp_path, capsys):
    assert odbench(["check-benchmark", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith("error: dataset not found")
