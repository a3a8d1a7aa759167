"""Pair statistics (SPEC section 2) on small hand-made training sources."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dataset_builders.pair_stats import (
    PairSelection,
    compute_pair_stats,
    scaled_min_support,
    selected_pairs,
)
from dataset_builders.source import Category, Instance, Source, SourceImage
from odbench.dataset_format import PAIR_STATS, PAIRS, features

SUPER = {"dog": "animal", "cat": "animal", "frisbee": "sports", "car": "vehicle",
         "person": "person"}


def _inst(cat: str) -> Instance:
    return Instance(cat, False, 1.0, (0, 0, 1, 1), None, decode=lambda i, h, w: np.ones((h, w), bool))


def make_source(objects_per_image: list[list[str]], split: str = "train") -> Source:
    images = [SourceImage(f"i{k}", k, None, 4, 4, tuple(_inst(c) for c in objs), ())  # type: ignore[arg-type]
              for k, objs in enumerate(objects_per_image)]
    cats = {n: Category(k, n, s) for k, (n, s) in enumerate(SUPER.items())}
    return Source("hand", split, cats, images)


# 10 images. dog: 0-3; frisbee: 0-2, 9; cat: 3-5; car: 4-8.
HAND = make_source([
    ["dog", "frisbee"], ["dog", "frisbee", "dog"], ["dog", "frisbee"], ["dog", "cat"],
    ["cat", "car"], ["cat", "car"], ["car"], ["car"], ["car"], ["frisbee"],
])


def by_pair(stats):
    return {s.pair: s for s in stats}


def test_hand_worked_npmi_and_selection():
    stats = by_pair(compute_pair_stats(HAND, PairSelection(min_support=2)))
    # Only pairs seen together at least once are considered.
    assert set(stats) == {("dog", "frisbee"), ("car", "cat"), ("cat", "dog")}

    # dog/frisbee: P(a,b)=0.3, P(a)=P(b)=0.4 -> log(0.3/0.16)/-log(0.3) = 0.6286/1.2040
    df = stats[("dog", "frisbee")]
    assert (df.n_a, df.n_b, df.n_ab, df.n_images) == (4, 4, 3, 10)  # image 1 counts dog once
    assert df.npmi == pytest.approx(math.log(0.3 / 0.16) / -math.log(0.3))
    assert df.npmi == pytest.approx(0.5221, abs=1e-4)
    assert df.p_b_given_a == pytest.approx(0.75) and df.p_a_given_b == pytest.approx(0.75)
    assert df.selected and df.reason == ""

    # car/cat: P(a,b)=0.2, P(car)=0.5, P(cat)=0.3 -> log(0.2/0.15)/-log(0.2) = 0.1788
    cc = stats[("car", "cat")]
    assert cc.npmi == pytest.approx(0.1788, abs=1e-4)
    assert cc.p_b_given_a == pytest.approx(0.4) and cc.p_a_given_b == pytest.approx(2 / 3)
    assert cc.selected

    # cat/dog: same supercategory, one image, P(a,b)=0.1 < P(a)P(b)=0.12 -> negative NPMI
    cd = stats[("cat", "dog")]
    assert cd.npmi == pytest.approx(math.log(0.1 / 0.12) / -math.log(0.1))
    assert not cd.selected
    assert cd.reason == "same_supercategory,low_support,low_npmi"


def test_each_threshold_is_applied():
    strict_npmi = by_pair(compute_pair_stats(HAND, PairSelection(min_support=2, min_npmi=0.2)))
    assert strict_npmi[("car", "cat")].reason == "low_npmi"
    strict_cond = by_pair(compute_pair_stats(HAND, PairSelection(min_support=2, min_conditional=0.7)))
    assert strict_cond[("car", "cat")].reason == "low_conditional"
    assert strict_cond[("dog", "frisbee")].selected
    default = compute_pair_stats(HAND)  # min_support 100: nothing survives on 10 images
    assert selected_pairs(default) == []
    assert all("low_support" in s.reason for s in default)


def test_perfect_cooccurrence_has_npmi_one():
    stats = compute_pair_stats(make_source([["dog", "car"]] * 3), PairSelection(min_support=1))
    assert stats[0].npmi == 1.0 and stats[0].selected


def test_vectorised_counts_match_a_brute_force_count():
    rng = np.random.default_rng(0)
    names = list(SUPER)
    imgs = [[c for c in names if rng.random() < 0.4] for _ in range(200)]
    stats = by_pair(compute_pair_stats(make_source(imgs), PairSelection(min_support=5)))
    for a, b in itertools.combinations(sorted(names), 2):
        n_ab = sum(a in o and b in o for o in imgs)
        if n_ab == 0:
            assert (a, b) not in stats
            continue
        n_a, n_b, n = sum(a in o for o in imgs), sum(b in o for o in imgs), len(imgs)
        p_ab = n_ab / n
        assert stats[(a, b)].n_ab == n_ab
        assert stats[(a, b)].npmi == pytest.approx(math.log(p_ab / (n_a / n * n_b / n)) / -math.log(p_ab))


def test_rows_match_the_dataset_format_columns():
    stats = compute_pair_stats(HAND, PairSelection(min_support=2))
    assert [s.pair for s in stats] == sorted(s.pair for s in stats)
    assert list(stats[0].as_row()) == list(features(PAIR_STATS))
    assert list(selected_pairs(stats)[0].as_row(with_selection=False)) == list(features(PAIRS))


def test_refuses_test_split_and_unknown_categories():
    with pytest.raises(ValueError, match="training split"):
        compute_pair_stats(make_source([["dog", "car"]], split="test"))
    with pytest.raises(ValueError, match="not a category"):
        compute_pair_stats(make_source([["dog", "unicorn"]]))


def test_scaled_min_support():
    assert scaled_min_support(118_287) == 100          # COCO train: unchanged
    assert scaled_min_support(59_144) == 50
    assert scaled_min_support(2_000) == 5              # floor for small sources
    assert scaled_min_support(10_000_000) == 100       # never above the base
    assert PairSelection().scaled_to(2_000) == PairSelection(min_support=5)
