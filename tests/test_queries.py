"""Relevance and query sets of SPEC sections 4 and 5, in both caption styles."""
import numpy as np
import pytest

from odbench.benchmark import Items
from odbench.errors import DatasetError
from odbench.queries import Relevance, build_query_sets, same_objects_relevance

from tiny_dataset import CAPTIONS, IMAGES, columns, tiny_benchmark


def items(*labels, prefix="x") -> Items:
    n = len(labels)
    return Items(ids=tuple(f"{prefix}{i}" for i in range(n)), src=np.arange(n), kind=np.array(["original"] * n),
                 removed=(None,) * n, pair=(None,) * n, labels=tuple(frozenset(l) for l in labels))


def relevant(d, query_id):
    row = d.query_ids.index(query_id)
    return {d.gallery_ids[g] for g in d.relevance.row(row)}


def test_a_relevance_mask_marks_each_query_its_own_items():
    # Gallery item 2 is relevant to no query, yet ranked: the mask must not take (query 0,
    # item 2) for (query 1, item 0).
    relevance = Relevance.from_lists([[1], [0], [0]])
    ranked = np.array([[0, 1, 2], [0, 1, 2], [2, 1, 0]])
    assert relevance.mask(ranked).tolist() == [[False, True, False], [True, False, False], [False, False, True]]
    assert relevance.counts.tolist() == [1, 1, 1] and relevance.row(1).tolist() == [0]
    # Nor the other way round: item 3, relevant to query 0 but not ranked, is not query 1's item 0.
    ranked = np.array([[0, 1, 2], [0, 1, 2]])
    assert Relevance.from_lists([[3], [2]]).mask(ranked).tolist() == [[False, False, False], [False, False, True]]
    # Queries with nothing relevant: an all-False mask of the ranked shape.
    assert Relevance.from_lists([[], []]).mask(ranked).tolist() == [[False] * 3] * 2
    # Padding (-1) of query 1 is not query 0's relevant item 2.
    padded = np.array([[2, 0], [-1, 0], [1, -1]])
    assert Relevance.from_lists([[2], [0], [1]]).mask(padded).tolist() == [[True, False], [False, True], [True, False]]


# ---- exhaustive style: relevance is equality of object sets ---------------------------------

def test_same_object_set_is_relevant_across_sources():
    images = items({"dog", "person"}, {"dog"}, {"dog", "person", "frisbee"}, set(), prefix="i")
    captions = items({"dog", "person"}, set(), prefix="c")         # sources differ from the images'
    rows = same_objects_relevance(captions, np.arange(2), images, np.arange(4))
    assert rows[0] == [0]              # same set; {dog} is a subset and {dog, person, frisbee} a superset
    assert rows[1] == []               # an empty caption set is relevant to nothing, not even an empty image
    back = same_objects_relevance(images, np.arange(4), captions, np.arange(2))
    assert back == [[0], [], [], []]


def test_exhaustive_relevance_and_traps():
    qs = build_query_sets(tiny_benchmark("exhaustive"))
    # i1 lost its frisbee: the edited caption and i2's caption (dog and person, another source)
    # are relevant; i1's own original caption, which names the frisbee, is the trap.
    assert relevant(qs.i2t, "i1-no-frisbee") == {"c1-no-frisbee", "c2"}
    assert relevant(qs.i2t, "i1-no-person") == {"c1-no-person", "c3"}
    assert relevant(qs.i2t, "i3-no-frisbee") == {"c3-no-frisbee"}
    # Text to image: "a man and a dog" is relevant to every image holding exactly those, never i1.
    assert relevant(qs.t2i, "c1-no-frisbee") == {"i1-no-frisbee", "i2"}
    assert relevant(qs.t2i, "c3-no-frisbee") == {"i3-no-frisbee"}


def test_exhaustive_query_sets():
    qs = build_query_sets(tiny_benchmark("exhaustive"))
    assert set(qs.i2t.query_ids) == {"i1-no-frisbee", "i1-no-person", "i3-no-frisbee"}
    # t2i queries are the edited captions, of both kinds; originals are not queries.
    assert set(qs.t2i.query_ids) == {"c1-no-frisbee", "c1-no-person", "c3-no-frisbee"}
    t2i = qs.groups[("t2i", "decorrelate")]
    assert sorted(qs.t2i.query_ids[r] for r in t2i.rows) == ["c1-no-frisbee", "c3-no-frisbee"]
    assert set(t2i.labels) == {"dog+frisbee"}
    control = qs.groups[("t2i", "control")]
    assert [qs.t2i.query_ids[r] for r in control.rows] == ["c1-no-person"]
    assert list(control.labels) == ["person"]
    assert qs.dropped == {"t2i": 0, "std_i2t": 0}
    # Standard retrieval stays the Karpathy protocol: same source, whatever the captions name.
    assert relevant(qs.std_t2i, "c2") == {"i2"}


# ---- partial style: version 1's relevance, kept ----------------------------------------------

def test_partial_relevance_is_per_source_and_by_subset():
    qs = build_query_sets(tiny_benchmark("partial"))
    assert relevant(qs.i2t, "i1-no-frisbee") == {"c2", "c3", "c1-no-frisbee"}   # c1 names the frisbee
    assert relevant(qs.t2i, "c1") == {"i1", "i1-no-person"}                      # never i1-no-frisbee


# c7 names a cat that image i1 does not hold (a human caption's mistake, or a cat outside it).
WITH_ABSENT_OBJECT = (IMAGES, CAPTIONS + [("c7", "i1", "original", None, ["cat", "frisbee"], "A frisbee and a cat.")])


def test_a_caption_naming_an_absent_object():
    qs = build_query_sets(tiny_benchmark("partial", rows=WITH_ABSENT_OBJECT))
    # Standard retrieval is by source only (Karpathy): c7 and i1 are still each other's match.
    assert relevant(qs.std_t2i, "c7") == {"i1"}
    assert "c7" in relevant(qs.std_i2t, "i1")
    # By content nothing holds a cat and a frisbee: c7 names the removed frisbee, so it would be
    # a text-to-image query, but with no relevant image it is left out and counted (SPEC 4).
    assert "c7" not in qs.t2i.query_ids and qs.dropped["t2i"] == 1
    assert "c7" not in relevant(qs.i2t, "i1-no-person")        # {dog, frisbee} holds no cat


def test_partial_query_sets():
    qs = build_query_sets(tiny_benchmark("partial"))
    assert set(qs.i2t.query_ids) == {"i1-no-frisbee", "i1-no-person", "i3-no-frisbee"}
    # t2i queries are original captions naming a removed object of their own image.
    assert set(qs.t2i.query_ids) == {"c1", "c2", "c5"}
    decorrelate = qs.groups[("t2i", "decorrelate")]
    assert sorted(qs.t2i.query_ids[r] for r in decorrelate.rows) == ["c1", "c5"]
    control = qs.groups[("t2i", "control")]
    assert [qs.t2i.query_ids[r] for r in control.rows] == ["c2"]     # c2 names the removed person


def test_a_dataset_without_a_style_is_scored_as_version_1():
    from odbench.data import build_benchmark
    images, captions = columns("partial")
    b, _ = build_benchmark(images, captions, [("dog", "frisbee")],
                           {"name": "old", "version": "1.0.0", "dataset_hash": "0" * 64})
    assert (b.spec_version, b.caption_style) == ("1", "partial")


def test_an_exhaustive_dataset_must_name_every_object():
    from odbench.data import build_benchmark
    images, captions = columns("exhaustive")
    captions["mentions"][3] = ["dog"]                  # c2 forgets the person in i2
    with pytest.raises(DatasetError, match="'c2' has \\['dog'\\], not its source's objects"):
        build_benchmark(images, captions, [("dog", "frisbee")],
                        {"name": "t", "version": "0.0.1", "dataset_hash": "0" * 64, "caption_style": "exhaustive"})
    with pytest.raises(DatasetError, match="caption_style 'both'"):
        build_benchmark(*columns("exhaustive"), [("dog", "frisbee")],
                        {"name": "t", "version": "0.0.1", "dataset_hash": "0" * 64, "caption_style": "both"})
