"""SPEC v2's metrics, written again as plainly as possible, agree with the library.

`naive_metrics` below shares no code with odbench: it reads the dataset rows as plain dicts,
decides relevance and query membership from the SPEC's words with loops and sets, and
averages by hand. Rankings come from the planted-shortcut oracle (so that they are neither
perfect nor random) on a PictoWorld build of each caption style made by the test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from dataset_builders.embedded import PictoRecipe, build_picto
from odbench.data import load_benchmark, load_config
from odbench.evaluate import rank_all
from odbench.metrics import compute_metrics
from odbench.queries import build_query_sets
from odbench.run_config import RunConfig
from odbench.validity import categories, label_embeddings, partners

KS = (1, 5, 10)


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else None


def naive_metrics(images, captions, style, rankings):
    """Every metric of SPEC section 5, from rows and rankings, by the SPEC's words."""
    caption_of = {c["caption_id"]: c for c in captions}

    def rel(image, caption):
        objects, mentions = set(image["objects"]), set(caption["mentions"])
        if style == "exhaustive":
            return len(mentions) > 0 and mentions == objects
        return image["src_id"] == caption["src_id"] and mentions <= objects

    def ap(ranked, relevant, k):
        hits, total = 0, 0.0
        for i, item in enumerate(ranked[:k], start=1):
            if item in relevant:
                hits += 1
                total += hits / i
        return total / min(k, len(relevant))

    def label(item):
        return "+".join(sorted(item["pair"])) if item["edit_kind"] == "decorrelate" else item["removed"]

    out = {}
    for kind, prefix in (("decorrelate", "odmap"), ("control", "cmap")):
        # image to text: edited images of this kind against all captions
        queries = [i for i in images if i["edit_kind"] == kind]
        relevant = {q["image_id"]: {c["caption_id"] for c in captions if rel(q, c)} for q in queries}
        i2t_members = [(q["image_id"], label(q)) for q in queries]
        # text to image, by style
        t2i_members = []
        if style == "exhaustive":
            for c in captions:
                if c["edit_kind"] == kind:
                    t2i_members.append((c["caption_id"], label(c)))
        else:
            for c in captions:
                if c["edit_kind"] != "original":
                    continue
                labels = set()
                for e in images:
                    if e["edit_kind"] == kind and e["src_id"] == c["src_id"] and e["removed"] in c["mentions"]:
                        labels.add(label(e))
                t2i_members += [(c["caption_id"], lab) for lab in sorted(labels)]
        t2i_relevant = {}
        for cid, _ in t2i_members:
            t2i_relevant[cid] = {i["image_id"] for i in images if rel(i, caption_of[cid])}
        t2i_members = [(cid, lab) for cid, lab in t2i_members if t2i_relevant[cid]]
        for k in KS:
            for direction, members, rel_sets in (("i2t", i2t_members, relevant), ("t2i", t2i_members, t2i_relevant)):
                groups = {}
                for qid, lab in members:
                    groups.setdefault(lab, []).append(ap(rankings[direction][qid], rel_sets[qid], k))
                out[f"{prefix}_{direction}@{k}"] = mean(mean(v) for v in groups.values())
            a, b = out[f"{prefix}_i2t@{k}"], out[f"{prefix}_t2i@{k}"]
            out[f"{prefix}@{k}"] = None if a is None or b is None else (a + b) / 2
    for k in KS:
        out[f"gap@{k}"] = out[f"cmap@{k}"] - out[f"odmap@{k}"]
        rates = []
        for q in images:
            if q["edit_kind"] == "decorrelate":
                top = rankings["i2t"][q["image_id"]][:k]
                rates.append(sum(q["removed"] in caption_of[c]["mentions"] for c in top) / k)
        out[f"hr@{k}"] = mean(rates)
    originals = [i for i in images if i["edit_kind"] == "original"]
    original_captions = [c for c in captions if c["edit_kind"] == "original"]
    rsum = 0.0
    for k in KS:
        hits = []
        for i in originals:
            own = {c["caption_id"] for c in original_captions if c["src_id"] == i["image_id"]}
            if own:
                hits.append(any(c in own for c in rankings["std_i2t"][i["image_id"]][:k]))
        out[f"r_i2t@{k}"] = mean(hits)
        out[f"r_t2i@{k}"] = mean(c["src_id"] in rankings["std_t2i"][c["caption_id"]][:k] for c in original_captions)
        rsum += 100 * (out[f"r_i2t@{k}"] + out[f"r_t2i@{k}"])
    out["rsum"] = rsum
    for k in KS:   # SPEC 9: the share of control performance kept without the usual partner
        out[f"retention@{k}"] = out[f"odmap@{k}"] / out[f"cmap@{k}"]
    # The query sets the naive reading expects, to compare with what was ranked.
    out["_queries"] = {"i2t": {i["image_id"] for i in images if i["edit_kind"] != "original"},
                       "t2i": {cid for kind in ("decorrelate", "control") for cid in
                               _t2i_ids(images, captions, style, kind, rel)}}
    return out


def _t2i_ids(images, captions, style, kind, rel):
    if style == "exhaustive":
        ids = [c for c in captions if c["edit_kind"] == kind]
    else:
        ids = [c for c in captions if c["edit_kind"] == "original" and any(
            e["edit_kind"] == kind and e["src_id"] == c["src_id"] and e["removed"] in c["mentions"] for e in images)]
    return {c["caption_id"] for c in ids if any(rel(i, c) for i in images)}


@pytest.fixture(scope="module", params=["exhaustive", "partial"])
def built(request, tmp_path_factory):
    style = request.param
    recipe = PictoRecipe(name=f"naive-{style}", n_images={"train": 600, "test": 40},
                         caption_style={"train": "partial", "test": style})
    out = tmp_path_factory.mktemp("naive") / recipe.name
    build_picto(out, recipe)
    return style, out


def shortcut_rankings(benchmark, alpha=0.6):
    columns = categories(benchmark)
    rng = np.random.default_rng(1)
    images = label_embeddings(benchmark.images.labels, columns, rng.normal(0, 0.05, (len(benchmark.images), len(columns))),
                              alpha=alpha, pair_partners=partners(benchmark))
    texts = label_embeddings(benchmark.captions.labels, columns, rng.normal(0, 0.05, (len(benchmark.captions), len(columns))),
                             alpha=alpha, pair_partners=partners(benchmark))
    return rank_all(build_query_sets(benchmark), images, texts, RunConfig())


def test_naive_implementation_agrees_with_the_library(built):
    style, folder = built
    benchmark = load_benchmark(folder)
    assert benchmark.caption_style == style
    rankings = shortcut_rankings(benchmark)
    library = compute_metrics(benchmark, build_query_sets(benchmark), rankings).metrics
    columns = ["image_id", "src_id", "edit_kind", "removed", "objects", "pair"]
    images = load_config(folder, "images").select_columns(columns).to_list()
    captions = load_config(folder, "captions").select_columns(
        ["caption_id", "src_id", "edit_kind", "removed", "mentions", "pair"]).to_list()
    naive = naive_metrics(images, captions, style, rankings)
    assert set(rankings["i2t"]) == naive["_queries"]["i2t"]
    assert set(rankings["t2i"]) == naive["_queries"]["t2i"]
    compared = [k for k in library if not k.startswith("_")]
    assert set(compared) == set(naive) - {"_queries"}
    for key in compared:
        assert naive[key] is not None and math.isclose(library[key], naive[key], rel_tol=0, abs_tol=1e-9), key
    # Neither perfect nor empty: the comparison means something.
    assert 0.05 < library["odmap@10"] < 0.99 and library["hr@5"] > 0
