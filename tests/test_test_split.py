"""The test-split builder's choices (SPEC section 3): matched controls, captions by style."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from dataset_builders.image_editor import CONTROL, DECORRELATE, ImageEdit
from dataset_builders.pair_stats import PairStat
from dataset_builders.source import Caption, Instance, SourceImage
from dataset_builders.test_split import EditPlan, SourcePlan, TestSplitConfig, _plan_source, select_controls
from odbench.lexicon import Lexicon


def edit(src: str, removed: str, kind: str, area: float) -> EditPlan:
    return EditPlan(ImageEdit(src_id=src, removed=removed, kind=kind, kept=(), pair=None, objects=(),
                              mask_area=area, kept_hidden=None, other_hidden=0.0, dilation_px=0,
                              editor="", reason=""), [])


def plans(*edits: EditPlan) -> list[SourcePlan]:
    by_source: dict[str, list[EditPlan]] = {}
    for e in edits:
        by_source.setdefault(e.edit.src_id, []).append(e)
    return [SourcePlan(None, p, Counter()) for p in by_source.values()]


def test_a_same_source_control_is_preferred_then_the_closest_mask_area():
    edits = plans(
        edit("iA", "dog", DECORRELATE, 0.10), edit("iA", "bowl", CONTROL, 0.30), edit("iA", "cup", CONTROL, 0.12),
        edit("iB", "cat", DECORRELATE, 0.05),                     # no control of its own
        edit("iC", "kite", CONTROL, 0.06), edit("iC", "bench", CONTROL, 0.25))
    choice = select_controls(edits, per_decorrelate=1.0)
    # iA's dog gets iA's cup (closest area of its own scene), although iC's kite would be closer
    # still; iB's cat, with no control of its own, gets the closest one elsewhere.
    assert choice.chosen == {("iA", "cup"), ("iC", "kite")}
    assert (choice.same_source, choice.other_source) == (1, 1)


def test_control_count_follows_the_ratio():
    edits = plans(edit("iA", "dog", DECORRELATE, 0.1), edit("iA", "a", CONTROL, 0.1),
                  edit("iA", "b", CONTROL, 0.2), edit("iB", "c", CONTROL, 0.1))
    assert len(select_controls(edits, per_decorrelate=2.0).chosen) == 2
    assert select_controls(edits, per_decorrelate=2.0).same_source == 1   # one decorrelate edit
    assert len(select_controls(edits, per_decorrelate=None).chosen) == 3  # every eligible control
    assert select_controls(edits, per_decorrelate=0).chosen == frozenset()


def square(row: int, col: int, size: int = 4) -> np.ndarray:
    mask = np.zeros((16, 16), bool)
    mask[row:row + size, col:col + size] = True
    return mask


def scene(*captions: str) -> SourceImage:
    instances = tuple(Instance(cat, False, 16.0, (0, 0, 4, 4), None, decode=lambda i, h, w, m=m: m)
                      for cat, m in (("dog", square(0, 0)), ("frisbee", square(8, 8)), ("person", square(0, 10))))
    return SourceImage("i1", 1, None, 16, 16, instances,
                       tuple(Caption(f"c{i}", t) for i, t in enumerate(captions)))


PAIR = [PairStat(a="dog", b="frisbee", supercategory_a="animal", supercategory_b="sports", n_a=10, n_b=10,
                 n_ab=9, n_images=20, p_b_given_a=0.9, p_a_given_b=0.9, npmi=0.9, selected=True, reason="")]


def test_exhaustive_edited_captions_name_exactly_what_is_left():
    config = TestSplitConfig(name="t", version="0.0.1", caption_style="exhaustive", dilation=0)
    plan = _plan_source(scene("A man, a dog and a frisbee.", "A picture of a man, a frisbee and a dog."),
                        PAIR, config, Lexicon.coco())
    by_removed = {p.edit.removed: p for p in plan.plans}
    assert {c["text"] for c in by_removed["frisbee"].captions} == {"A man and a dog.", "A picture of a man and a dog."}
    for p in plan.plans:
        for c in p.captions:
            assert set(c["mentions"]) == set(p.edit.objects)


def test_an_exhaustive_build_refuses_captions_that_leave_objects_out():
    config = TestSplitConfig(name="t", version="0.0.1", caption_style="exhaustive", dilation=0)
    with pytest.raises(ValueError, match="names \\['dog', 'frisbee'\\] while the image holds"):
        _plan_source(scene("A dog with a frisbee."), PAIR, config, Lexicon.coco())
    partial = TestSplitConfig(name="t", version="0.0.1", caption_style="partial", dilation=0)
    assert _plan_source(scene("A dog with a frisbee."), PAIR, partial, Lexicon.coco()).plans
