"""`odbench check-benchmark` (SPEC section 8): the oracle and planted shortcuts, with gates."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from odbench.cli.main import main as odbench
from odbench.data import EMBEDDED_DIR
from odbench.validity import categories, check_benchmark, label_embeddings

from tiny_dataset import KEY, scene_rows, tiny_benchmark, write_tiny_dataset


def test_label_embeddings_are_indicators_with_a_planted_partner():
    noise = np.zeros((2, 3))
    emb = label_embeddings([frozenset({"dog"}), frozenset({"dog", "frisbee"})], ["cat", "dog", "frisbee"], noise,
                           alpha=0.5, pair_partners={"dog": ["frisbee"], "frisbee": ["dog"]})
    # A dog alone leans towards the frisbee it usually comes with; a dog with a frisbee does not.
    expected = torch.tensor([[0, 1, 0.5], [0, 1, 1]]) / torch.tensor([[1.25 ** 0.5], [2 ** 0.5]])
    assert torch.allclose(emb, expected)
    # Without α the same call is the label oracle: indicators only.
    oracle = label_embeddings([frozenset({"dog"})], ["cat", "dog", "frisbee"], noise[:1],
                              pair_partners={"dog": ["frisbee"], "frisbee": ["dog"]})
    assert torch.equal(oracle, torch.tensor([[0.0, 1.0, 0.0]]))


def test_a_pair_member_that_no_item_holds_still_has_a_coordinate():
    b = tiny_benchmark("exhaustive", pairs=[("dog", "frisbee"), ("cat", "mouse")])
    assert categories(b) == ["cat", "dog", "frisbee", "mouse", "person"]
    # The cat image leans towards a mouse no image or caption has: the shortcut needs its column.
    assert len(check_benchmark(b).rows) == 10


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
    assert report["seed"] == 0 == check_benchmark(tiny_benchmark("exhaustive")).seed   # one default seed


def test_a_partial_dataset_is_reported_without_gates(dataset, capsys):
    assert odbench(["check-benchmark", str(dataset)]) == 0          # the tiny partial dataset
    out = capsys.readouterr().out
    assert "not gated: a partial dataset's ceiling is below 1 by construction" in out
    assert "PASS" not in out and "FAIL" not in out
    assert "passes SPEC section 8" not in out and "FAILS" not in out


def test_rows_and_ceiling():
    report = check_benchmark(tiny_benchmark("exhaustive"))
    assert [(r.tower, r.alpha) for r in report.rows][:4] == [("-", 0.0), ("image", 0.3), ("image", 0.6), ("image", 0.9)]
    assert report.oracle.metrics["odmap@10"] == pytest.approx(1.0)
    # The same noise in every row: the oracle is reproducible and the shortcut alone moves scores.
    assert check_benchmark(tiny_benchmark("exhaustive")).as_dict() == report.as_dict()


def test_a_missing_dataset_is_a_one_line_error(tmp_path, capsys):
    assert odbench(["check-benchmark", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith("error: dataset not found")


# ---- the gates, one dataset each --------------------------------------------------------------
# SPEC section 8's gates, each failed by a dataset built for it: `odbench check-benchmark`
# exits 1 and prints a FAIL line for that gate and PASS for the others.
#
# The datasets are exhaustive scenes (tiny_dataset.scene_rows) around a "hub" object with
# selected partners, where the planted shortcut's effect can be worked out: a query that holds
# the hub but lacks its partners leans towards items that have them, so an item holding the hub
# and many partners overtakes the relevant ones at a small α, the query's own original (hub and
# one partner) at a middle α, and an item with one partner and an unrelated object only near
# α 0.9. An image-tower shortcut moves the image-to-text rankings, whose traps are captions; a
# text-tower shortcut the text-to-image ones, whose traps are images. A source without captions,
# or an edited caption without its image, makes a trap for one tower only.

PARTNERS = [f"p{i}" for i in range(1, 9)]
DOG_PAIRS = [("dog", p) for p in PARTNERS]


def decorrelate(hub: str, removed: str, parts: str = "both") -> tuple:
    return ("decorrelate", removed, sorted([hub, removed]), parts)


def control(removed: str, parts: str = "both") -> tuple:
    return ("control", removed, None, parts)


def hub(name: str, partner: str, n_duplicates: int, extra: list | tuple = ()) -> list[tuple]:
    """A source with the hub and one partner (decorrelate edit, removing the partner), plus
    `n_duplicates` caption-less sources holding the hub alone: more relevant images, no captions."""
    return [(f"S{name}", [name, partner], 1, [decorrelate(name, partner)]),
            *[(f"D{name}{i}", [name], 0, []) for i in range(n_duplicates)], *extra]


CONTROL = [("C", ["cat", "mouse"], 1, [control("mouse")])]          # untouched by any shortcut
ALL_PARTNERS = ("T", ["dog", *PARTNERS], 1, [])                      # overtakes at α 0.3 (both towers)
ONE_PARTNER_AND_MORE = ("U", ["dog", "p1", "x"], 1, [])              # overtakes near α 0.9 (both towers)
PASSES = [("S1", ["dog", "p1"], 1, [decorrelate("dog", "p1")]), ("S2", ["dog", "p2"], 1, [decorrelate("dog", "p2")]),
          ALL_PARTNERS, ONE_PARTNER_AND_MORE, *CONTROL]

GATE_DATASETS = {
    # Without T's caption nothing overtakes at α 0.3 in the image tower: odmap@10 stays at 1.
    "image tower falls": (
        [("T", ["dog", *PARTNERS], 0, []) if s is ALL_PARTNERS else s for s in PASSES], DOG_PAIRS,
        "FAIL  image tower falls: odmap@10 1.000 > 1.000 > 0.812 > 0.529 must fall strictly as α rises"),
    # U replaced by a caption with one partner and x but no such image: nothing new near α 0.9
    # in the text tower.
    "text tower falls": (
        [s for s in PASSES if s is not ONE_PARTNER_AND_MORE]
        + [("U", ["dog", "p1", "x", "y"], 0, [control("y", parts="caption")])], DOG_PAIRS,
        "FAIL  text tower falls: odmap@10 1.000 > 0.917 > 0.725 > 0.725 must fall strictly as α rises"),
    # Ten relevant captions per query and at most two captions that overtake them: the image
    # tower's odmap_i2t@10 falls, but not to 0.5; image-only traps keep the text tower low.
    "image tower at α 0.9": (
        [("S1", ["dog", "p1"], 0, [decorrelate("dog", "p1")]), ("D", ["dog"], 9, []), ALL_PARTNERS,
         ("W", ["dog", "p2"], 1, []), ("Sc", ["cow", "c1"], 0, [decorrelate("cow", "c1")]), ("Dc", ["cow"], 9, []),
         ("Uc", ["c1", "cow", "x"], 1, []), ("Wc", ["c2", "cow"], 0, []), *CONTROL],
        DOG_PAIRS + [("c1", "cow"), ("c2", "cow")],
        "FAIL  image tower at α 0.9: odmap_i2t@10 0.611 must be <= 0.5 while cmap@10 1.000 stays >= 0.85"),
    # The mirror: ten relevant images per query (caption-less duplicates), few image traps.
    "text tower at α 0.9": (
        hub("dog", "p1", 9, [ALL_PARTNERS]) + hub("cow", "c1", 9, [("Uc", ["c1", "cow", "x"], 1, [])])
        + hub("eel", "e1", 9) + CONTROL, DOG_PAIRS + [("c1", "cow"), ("e1", "eel")],
        "FAIL  text tower at α 0.9: odmap_t2i@10 0.599 must be <= 0.5 while cmap@10 1.000 stays >= 0.85"),
}
GATES = ("ceiling", "image tower falls", "image tower at α 0.9", "text tower falls", "text tower at α 0.9")


def check(tmp_path, capsys, sources: list[tuple], pairs: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Write the scene as a dataset folder, run check-benchmark on it: (exit code, gate lines)."""
    write_tiny_dataset(tmp_path / "scene", style="exhaustive", rows=scene_rows(sources), pairs=pairs)
    code = odbench(["check-benchmark", str(tmp_path / "scene")])
    out = capsys.readouterr().out
    assert "not gated" not in out
    return code, [line for line in out.splitlines() if line.startswith(("PASS", "FAIL", f"{KEY}:"))]


def test_a_scene_where_every_shortcut_bites_passes(tmp_path, capsys):
    write_tiny_dataset(tmp_path / "scene", style="exhaustive", rows=scene_rows(PASSES), pairs=DOG_PAIRS)
    assert odbench(["check-benchmark", str(tmp_path / "scene")]) == 0
    summary = capsys.readouterr().out.split("\n\n")[2].splitlines()
    assert summary[:4] == ["ceiling (label oracle): odmap@10 1.000, cmap@10 1.000",
                           "response, image tower: odmap@10 1.000 -> 0.792 -> 0.688 -> 0.473 (α 0 -> 0.9)",
                           "response, text tower: odmap@10 1.000 -> 0.792 -> 0.704 -> 0.437 (α 0 -> 0.9)",
                           "response, both tower: odmap@10 1.000 -> 1.000 -> 1.000 -> 0.706 (α 0 -> 0.9)"]
    assert [line.split(":")[0] for line in summary[4:9]] == [f"PASS  {g}" for g in GATES]
    assert summary[4] == "PASS  ceiling: odmap@10 1.000 and cmap@10 1.000 must be >= 0.99"
    assert summary[9] == f"{KEY}: passes SPEC section 8"


@pytest.mark.parametrize("gate", GATE_DATASETS)
def test_a_dataset_built_to_fail_one_gate_fails_that_gate_alone(gate, tmp_path, capsys):
    sources, pairs, fail_line = GATE_DATASETS[gate]
    code, lines = check(tmp_path, capsys, sources, pairs)
    assert code == 1
    assert [line for line in lines if line.startswith("FAIL")] == [fail_line]
    assert [line.split(":")[0] for line in lines if line.startswith("PASS")] == \
        [f"PASS  {g}" for g in GATES if g != gate]
    assert lines[-1] == f"{KEY}: FAILS SPEC section 8"


def test_without_control_edits_there_is_no_ceiling(tmp_path, capsys):
    # The label oracle reaches 1 on any exhaustive dataset, so no dataset fails the ceiling
    # alone; a dataset without control edits has no cmap@10 at all, and fails it with the gates
    # that need cmap@10 at α 0.9, while the towers still fall.
    code, lines = check(tmp_path, capsys, [s for s in PASSES if s not in CONTROL], DOG_PAIRS)
    assert code == 1
    assert [line for line in lines if line.startswith("FAIL")] == [
        "FAIL  ceiling: odmap@10 1.000 and cmap@10 n/a must be >= 0.99",
        "FAIL  image tower at α 0.9: odmap_i2t@10 0.267 must be <= 0.5 while cmap@10 n/a stays >= 0.85",
        "FAIL  text tower at α 0.9: odmap_t2i@10 0.267 must be <= 0.5 while cmap@10 n/a stays >= 0.85"]


def test_without_decorrelate_edits_there_is_no_ceiling(tmp_path, capsys):
    code, lines = check(tmp_path, capsys, [ALL_PARTNERS, ("S1", ["dog", "p1"], 1, []), *CONTROL], DOG_PAIRS)
    assert code == 1
    assert lines[0] == "FAIL  ceiling: odmap@10 n/a and cmap@10 1.000 must be >= 0.99"
    assert all(line.startswith("FAIL") for line in lines[:-1])


def test_the_bound_at_alpha_0_9_is_inclusive(tmp_path, capsys):
    # One query, one relevant caption, one original caption that overtakes it: odmap_i2t@10 is
    # exactly 0.5 at α 0.9, which the gate allows (<= 0.5). Nothing overtakes at α 0.3, so the
    # towers do not fall strictly.
    code, lines = check(tmp_path, capsys, [("S1", ["dog", "p1"], 1, [decorrelate("dog", "p1")]), *CONTROL], DOG_PAIRS)
    assert code == 1
    assert "PASS  image tower at α 0.9: odmap_i2t@10 0.500 must be <= 0.5 while cmap@10 1.000 stays >= 0.85" in lines
