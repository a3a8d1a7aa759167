"""SPEC 9's intervals, written again from the SPEC's words, agree with the library and with the
committed submissions.

`naive_intervals` shares no code with odbench: it reads the dataset rows as plain dicts, scores
every query by SPEC 5 with loops (relevance as the join on the object set of an exhaustive
dataset), then walks the draws one at a time: a draw is a row of
`numpy.random.default_rng(seed).integers(0, S, (B, S))` over the sources in ascending src_id
order; each source weighs the number of times it was picked; each metric is the weighted mean
within its groups, then the plain mean over the groups that weigh (macro), and the interval is
the 2.5th and 97.5th percentile by linear interpolation. To stay within seconds, each query's
value is first summed per (source, group): the weighted sum of a group is then a loop over
its sources.
"""
from __future__ import annotations

import copy
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from odbench.data import embedded_path, load_benchmark, load_config
from odbench.intervals import compute_intervals
from odbench.queries import build_query_sets

SUBMISSIONS = sorted((Path(__file__).parent.parent / "submissions").rglob("*.json"))
CHECKED = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "cmap@10", "gap@10", "retention@10", "hr@5", "rsum")


def percentile(values, q):
    """numpy's default ("linear") percentile, by hand."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def query_values(images, captions, rankings):
    """Per metric component: [(source, group, value)] for every query, by SPEC 5."""
    caption_of = {c["caption_id"]: c for c in captions}
    captions_by_set, images_by_set = defaultdict(set), defaultdict(set)
    for c in captions:
        if c["mentions"]:
            captions_by_set[frozenset(c["mentions"])].add(c["caption_id"])
    for i in images:
        if i["objects"]:
            images_by_set[frozenset(i["objects"])].add(i["image_id"])

    def ap(ranked, relevant, k):
        hits, total = 0, 0.0
        for i, item in enumerate(ranked[:k], start=1):
            if item in relevant:
                hits += 1
                total += hits / i
        return total / min(k, len(relevant))

    def group(item):
        return "+".join(sorted(item["pair"])) if item["edit_kind"] == "decorrelate" else item["removed"]

    out = defaultdict(list)
    for kind, prefix in (("decorrelate", "odmap"), ("control", "cmap")):
        for q in images:
            if q["edit_kind"] == kind:
                relevant = captions_by_set[frozenset(q["objects"])]
                out[f"{prefix}_i2t@10"].append((q["src_id"], group(q), ap(rankings["i2t"][q["image_id"]], relevant, 10)))
        for c in captions:
            relevant = images_by_set[frozenset(c["mentions"])] if c["mentions"] else set()
            if c["edit_kind"] == kind and relevant:
                out[f"{prefix}_t2i@10"].append((c["src_id"], group(c), ap(rankings["t2i"][c["caption_id"]], relevant, 10)))
    for q in images:
        if q["edit_kind"] == "decorrelate":
            top = rankings["i2t"][q["image_id"]][:5]
            out["hr@5"].append((q["src_id"], None, sum(q["removed"] in caption_of[c]["mentions"] for c in top) / 5))
    originals = [i for i in images if i["edit_kind"] == "original"]
    original_captions = [c for c in captions if c["edit_kind"] == "original"]
    own = defaultdict(set)
    for c in original_captions:
        own[c["src_id"]].add(c["caption_id"])
    for k in (1, 5, 10):
        for i in originals:
            if own[i["image_id"]]:
                hit = any(c in own[i["image_id"]] for c in rankings["std_i2t"][i["image_id"]][:k])
                out[f"r_i2t@{k}"].append((i["src_id"], None, float(hit)))
        for c in original_captions:
            out[f"r_t2i@{k}"].append((c["src_id"], None, float(c["src_id"] in rankings["std_t2i"][c["caption_id"]][:k])))
    return out


def naive_intervals(images, captions, rankings, draws=1000, seed=0):
    sources = sorted({i["src_id"] for i in images if i["edit_kind"] == "original"})
    values = query_values(images, captions, rankings)
    cells = {}   # metric -> {(source, group): [sum, count]}
    for metric, rows in values.items():
        table = defaultdict(lambda: [0.0, 0])
        for src, grp, v in rows:
            table[(src, grp)][0] += v
            table[(src, grp)][1] += 1
        cells[metric] = table
    picks = np.random.default_rng(seed).integers(0, len(sources), size=(draws, len(sources)))
    per_draw = defaultdict(list)
    for row in picks:                      # one draw at a time
        weight = Counter(sources[int(i)] for i in row)
        m = {}
        for metric, table in cells.items():
            sums, counts = defaultdict(float), defaultdict(float)
            for (src, grp), (total, n) in table.items():
                w = weight.get(src, 0)
                sums[grp] += w * total
                counts[grp] += w * n
            means = [sums[g] / counts[g] for g in sums if counts[g] > 0]
            m[metric] = sum(means) / len(means)   # macro; a plain mean has one group (None)
        m["odmap@10"] = (m["odmap_i2t@10"] + m["odmap_t2i@10"]) / 2
        m["cmap@10"] = (m["cmap_i2t@10"] + m["cmap_t2i@10"]) / 2
        m["gap@10"] = m["cmap@10"] - m["odmap@10"]
        m["retention@10"] = m["odmap@10"] / m["cmap@10"]
        m["rsum"] = 100 * sum(m[f"r_{d}@{k}"] for k in (1, 5, 10) for d in ("i2t", "t2i"))
        for metric in CHECKED:
            per_draw[metric].append(m[metric])
    return {metric: [percentile(v, 2.5), percentile(v, 97.5)] for metric, v in per_draw.items()}


@pytest.fixture(scope="module")
def rows():
    folder = embedded_path()
    images = load_config(folder, "images").select_columns(
        ["image_id", "src_id", "edit_kind", "removed", "objects", "pair"]).to_list()
    captions = load_config(folder, "captions").select_columns(
        ["caption_id", "src_id", "edit_kind", "removed", "mentions", "pair"]).to_list()
    return images, captions


@pytest.mark.parametrize("path", SUBMISSIONS, ids=lambda p: p.name)
def test_naive_intervals_agree_with_the_committed_submission(path, rows):
    doc = json.loads(path.read_text(encoding="utf-8"))
    naive = naive_intervals(*rows, doc["rankings"], doc["intervals"]["draws"], doc["intervals"]["seed"])
    for metric in CHECKED:
        assert doc["intervals"]["metrics"][metric] == pytest.approx(naive[metric], abs=1e-9), metric


def test_a_changed_ranking_changes_the_intervals(rows):
    """The comparison above can fail: reversing 50 image queries' lists moves the bounds."""
    doc = json.loads(SUBMISSIONS[0].read_text(encoding="utf-8"))
    rankings = copy.deepcopy(doc["rankings"])
    for query in sorted(rankings["i2t"])[:50]:
        rankings["i2t"][query].reverse()
    benchmark = load_benchmark(embedded_path())
    library = compute_intervals(benchmark, build_query_sets(benchmark), rankings).metrics
    naive = naive_intervals(*rows, rankings)
    assert library["odmap_i2t@10"] == pytest.approx(naive["odmap_i2t@10"], abs=1e-9)
    assert naive["odmap_i2t@10"] != pytest.approx(doc["intervals"]["metrics"]["odmap_i2t@10"], abs=1e-6)
