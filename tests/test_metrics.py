"""Metrics of SPEC section 5 on benchmarks small enough to work out by hand (partial style
here; the exhaustive style's relevance and queries are in test_queries.py)."""
import numpy as np
import pytest

from odbench.metrics import average_precision, compute_metrics, hit_at_k
from odbench.queries import build_query_sets
from odbench.rankings import RankingError

from tiny_dataset import EXHAUSTIVE_CAPTIONS, EXHAUSTIVE_IMAGES, tiny_benchmark


def ideal_rankings(benchmark):
    """Every query ranks its relevant items first (in gallery order), then the rest."""
    qs = build_query_sets(benchmark)
    out = {}
    for name in ("i2t", "t2i", "std_i2t", "std_t2i"):
        d = qs.direction(name)
        out[name] = {}
        for row, q in enumerate(d.query_ids):
            rel = set(d.relevance.indices[d.relevance.indptr[row]:d.relevance.indptr[row + 1]].tolist())
            order = sorted(range(len(d.gallery_ids)), key=lambda g: (g not in rel, g))
            out[name][q] = [d.gallery_ids[g] for g in order[:10]]
    return out


def test_average_precision_hand_examples():
    rel = np.array([[0, 1, 0, 1, 1, 0, 0, 0, 0, 0],     # hits at 2, 4, 5; |R| = 3
                    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],     # no relevant item in the top k
                    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],     # more relevant items (20) than k
                    [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=bool)
    n_rel = np.array([3, 2, 20, 1])
    ap = average_precision(rel, n_rel, 10)
    assert ap[0] == pytest.approx((1 / 2 + 2 / 4 + 3 / 5) / 3)
    assert ap[1] == 0.0
    assert ap[2] == pytest.approx(1.0)                  # normalised by min(k, |R|) = 10
    assert ap[3] == pytest.approx(0.5)
    # Fewer relevant items than k but only some retrieved: normaliser is |R|, not hits.
    assert average_precision(rel[:1], np.array([5]), 10)[0] == pytest.approx(1.6 / 5)
    assert average_precision(rel[:1], n_rel[:1], 1)[0] == 0.0
    assert hit_at_k(rel, 1).tolist() == [0.0, 0.0, 1.0, 0.0]


def test_caption_naming_removed_object_is_not_relevant():
    qs = build_query_sets(tiny_benchmark())
    d = qs.i2t
    row = d.query_ids.index("i1-no-frisbee")
    relevant = {d.gallery_ids[g] for g in d.relevance.indices[d.relevance.indptr[row]:d.relevance.indptr[row + 1]]}
    assert relevant == {"c2", "c3", "c1-no-frisbee"}         # c1 names the removed frisbee
    t = qs.t2i
    row = t.query_ids.index("c1")
    relevant = {t.gallery_ids[g] for g in t.relevance.indices[t.relevance.indptr[row]:t.relevance.indptr[row + 1]]}
    assert relevant == {"i1", "i1-no-person"}               # never the image without the frisbee


def test_query_sets_follow_the_spec():
    qs = build_query_sets(tiny_benchmark())
    assert set(qs.i2t.query_ids) == {"i1-no-frisbee", "i1-no-person", "i3-no-frisbee"}
    assert set(qs.t2i.query_ids) == {"c1", "c2", "c5"}        # captions naming a removed object
    assert qs.std_i2t.gallery_ids == ("c1", "c2", "c3", "c4", "c5")


def test_hand_worked_rankings():
    b = tiny_benchmark()
    rankings = ideal_rankings(b)
    rankings["i2t"]["i1-no-frisbee"] = ["c1", "c2", "c4", "c3", "c1-no-frisbee", "c5", "c5-no-frisbee"]
    # The only relevant caption of i3-no-frisbee is the edited one; put it second.
    rankings["i2t"]["i3-no-frisbee"] = ["c5", "c5-no-frisbee", "c1", "c2", "c3", "c4", "c1-no-frisbee"]
    report = compute_metrics(b, build_query_sets(b), rankings)
    m = report.metrics
    ap_a = (1 / 2 + 2 / 4 + 3 / 5) / 3
    ap_b = 1 / 2
    assert m["odmap_i2t@10"] == pytest.approx((ap_a + ap_b) / 2)     # one pair: mean of its queries
    assert m["odmap_i2t@1"] == 0.0
    assert m["odmap_t2i@10"] == pytest.approx(1.0)
    assert m["odmap@10"] == pytest.approx(((ap_a + ap_b) / 2 + 1.0) / 2)
    assert m["cmap@10"] == pytest.approx(1.0)
    assert m["gap@10"] == pytest.approx(1.0 - m["odmap@10"])
    # Frisbee-naming captions in the top 5: c1 for i1 (1 of 5); c5 and c1 for i3 (2 of 5).
    assert m["hr@5"] == pytest.approx((1 / 5 + 2 / 5) / 2)
    assert m["hr@1"] == pytest.approx(1.0)
    assert m["hr@10"] == pytest.approx(2 / 10)            # c1 and c5 in both lists, over k=10
    assert m["r_i2t@1"] == 1.0 and m["r_t2i@1"] == 1.0 and m["rsum"] == pytest.approx(600.0)
    assert report.per_pair["dog+frisbee"]["n_i2t"] == 2
    assert report.per_category["person"]["cmap_i2t@10"] == pytest.approx(1.0)
    # Per pair and category, too, @k is the mean of the two directions.
    assert report.per_category["person"]["cmap@10"] == pytest.approx(1.0)
    assert report.per_pair["dog+frisbee"]["odmap@10"] == pytest.approx(m["odmap@10"])
    assert report.query_counts == {"odmap_i2t": 2, "cmap_i2t": 1, "odmap_t2i": 2, "cmap_t2i": 1, "hr": 2,
                                   "r_i2t": 3, "r_t2i": 5, "dropped_t2i": 0}
    assert report.as_dict() == {"metrics": m, "per_pair": report.per_pair, "per_category": report.per_category,
                                "query_counts": report.query_counts}


def test_a_caption_naming_an_absent_object_still_counts_in_standard_retrieval():
    from tiny_dataset import CAPTIONS, IMAGES
    b = tiny_benchmark("partial", rows=(IMAGES, CAPTIONS + [("c7", "i1", "original", None, ["cat", "frisbee"],
                                                             "A frisbee and a cat.")]))
    report = compute_metrics(b, build_query_sets(b), ideal_rankings(b))
    assert report.metrics["r_t2i@1"] == 1.0 and report.query_counts["r_t2i"] == 6   # c7 finds i1
    assert report.query_counts["dropped_t2i"] == 1


def test_a_ranking_problem_has_a_known_reason_and_says_what_is_wrong():
    problem = RankingError("wrong-length", "t2i: query 'c1' lists 6 ids, expected 7")
    assert (problem.reason, str(problem)) == ("wrong-length", "t2i: query 'c1' lists 6 ids, expected 7")
    with pytest.raises(ValueError, match="unknown ranking problem 'too-long'"):
        RankingError("too-long", "t2i: query 'c1' lists 12 ids")


def test_macro_average_weighs_each_pair_equally():
    b = tiny_benchmark()
    from odbench.metrics import macro_mean
    from odbench.queries import Groups
    groups = Groups(np.array([0, 1, 2]), np.array(["a+b", "a+b", "c+d"], dtype=object), np.array([None] * 3))
    result = macro_mean(np.array([1.0, 1.0, 0.0]), groups)
    assert result.value == pytest.approx(0.5)          # not 2/3: pairs weigh the same
    assert result.per_group == {"a+b": (1.0, 2), "c+d": (0.0, 1)}
    assert b.pairs == ("dog+frisbee",)


@pytest.mark.parametrize("tamper, reason, message", [
    (lambda r: r["i2t"].pop("i1-no-person"), "missing-queries", "missing"),
    (lambda r: r["i2t"].__setitem__("i9", ["c1"]), "extra-queries", "unexpected"),
    (lambda r: r["t2i"]["c1"].__setitem__(0, "i99"), "unknown-id", "unknown id"),
    (lambda r: r["t2i"]["c1"].__setitem__(1, r["t2i"]["c1"][0]), "duplicate-id", "twice"),
    (lambda r: r["std_t2i"]["c1"].pop(), "wrong-length", "lists"),
])
def test_malformed_rankings_are_rejected(tamper, reason, message):
    b = tiny_benchmark()
    rankings = ideal_rankings(b)
    tamper(rankings)
    with pytest.raises(RankingError, match=message) as raised:
        compute_metrics(b, build_query_sets(b), rankings)
    assert raised.value.reason == reason          # the leaderboard's rejection reason


def exhaustive_without(kind, images=True, captions=True):
    """The exhaustive tiny benchmark without its `kind` edits (of images, captions or both)."""
    return tiny_benchmark("exhaustive", rows=([r for r in EXHAUSTIVE_IMAGES if not (images and r[2] == kind)],
                                              [r for r in EXHAUSTIVE_CAPTIONS if not (captions and r[2] == kind)]))


def test_a_benchmark_without_control_edits_has_null_control_metrics():
    b = exhaustive_without("control")
    report = compute_metrics(b, build_query_sets(b), ideal_rankings(b))
    m = report.metrics
    for k in (1, 5, 10):
        # null, never NaN or 0: the result schema allows null where a metric has no query
        assert m[f"cmap_i2t@{k}"] is None and m[f"cmap_t2i@{k}"] is None and m[f"cmap@{k}"] is None
        assert m[f"gap@{k}"] is None and m[f"retention@{k}"] is None
        assert m[f"odmap@{k}"] == 1.0
    assert report.per_category == {}
    assert report.query_counts["cmap_i2t"] == 0 and report.query_counts["cmap_t2i"] == 0
    assert m["hr@5"] == pytest.approx(0.4) and m["rsum"] == pytest.approx(600.0)


def test_a_benchmark_without_decorrelate_edits_has_null_odmap_and_hallucination_rate():
    b = exhaustive_without("decorrelate")
    report = compute_metrics(b, build_query_sets(b), ideal_rankings(b))
    m = report.metrics
    for k in (1, 5, 10):
        assert m[f"odmap@{k}"] is None and m[f"hr@{k}"] is None and m[f"gap@{k}"] is None
        assert m[f"retention@{k}"] is None
        assert m[f"cmap@{k}"] == 1.0
    assert report.query_counts["hr"] == 0 and report.query_counts["odmap_i2t"] == 0
    # The selected pair is still listed, with null ODmAP and no hallucination rate.
    assert report.per_pair == {"dog+frisbee": {"odmap@1": None, "odmap@5": None, "odmap@10": None}}


def test_a_metric_of_one_direction_only_is_null_in_the_mean():
    # Control edits of images but not of captions: cmap_i2t exists, cmap_t2i does not, and
    # their mean cmap is null rather than the image side alone.
    b = exhaustive_without("control", images=False)
    report = compute_metrics(b, build_query_sets(b), ideal_rankings(b))
    assert report.metrics["cmap_i2t@10"] == 1.0 and report.metrics["cmap_t2i@10"] is None
    assert report.metrics["cmap@10"] is None
    assert report.per_category == {"person": {"cmap_i2t@1": 1.0, "n_i2t": 1, "cmap@1": None, "cmap_i2t@5": 1.0,
                                              "cmap@5": None, "cmap_i2t@10": 1.0, "cmap@10": None}}


def test_metrics_at_k_need_lists_of_at_least_k():
    b = tiny_benchmark()
    top5 = {d: {q: ids[:5] for q, ids in lists.items()} for d, lists in ideal_rankings(b).items()}
    assert compute_metrics(b, build_query_sets(b), top5, list_length=5, ks=(1, 5)).metrics["odmap@5"] == 1.0
    # Lists of 5 cannot give odmap@10 (nor its default ks): an error, not numbers over 5 items
    with pytest.raises(ValueError, match="metrics at k=10 need ranked lists of at least that length, got 5"):
        compute_metrics(b, build_query_sets(b), top5, list_length=5)


def test_retention_is_odmap_over_cmap_and_undefined_where_cmap_is_0():
    b = tiny_benchmark()
    qs = build_query_sets(b)
    rankings = ideal_rankings(b)
    # The control queries (i1-no-person; c2, which names the removed person) rank their
    # relevant items last: nothing relevant at rank 1, so cmap@1 is 0.
    for direction, query in (("i2t", "i1-no-person"), ("t2i", "c2")):
        d = qs.direction(direction)
        rel = {d.gallery_ids[g] for g in d.relevance.row(d.query_ids.index(query))}
        rankings[direction][query] = sorted(rankings[direction][query], key=lambda g: g in rel)
    m = compute_metrics(b, qs, rankings).metrics
    assert m["cmap@1"] == 0.0 and m["odmap@1"] == 1.0
    assert m["retention@1"] is None                       # SPEC 9: undefined, not odmap / 1
    assert m["retention@10"] == pytest.approx(m["odmap@10"] / m["cmap@10"]) and m["cmap@10"] < 1.0
