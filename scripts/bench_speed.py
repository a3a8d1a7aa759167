"""Speed of the harness's own work, at COCO scale: top-K ranking and metric computation.

    python scripts/bench_speed.py [--device cuda] [--queries 25000] [--gallery 30000]

Prints figures; asserts nothing. The model's encoding time is the user's and is not measured.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from odbench.data import build_benchmark
from odbench.metrics import compute_metrics
from odbench.queries import build_query_sets
from odbench.retrieval import normalize, top_k


def synthetic_benchmark(n_sources: int, rng: np.random.Generator):
    """A COCO-shaped benchmark: 5 captions per source, about one edit per source."""
    cats = [f"c{i}" for i in range(80)]
    images = {k: [] for k in ("image_id", "src_id", "edit_kind", "removed", "objects", "pair", "gallery_pos")}
    captions = {k: [] for k in ("caption_id", "text", "src_id", "edit_kind", "removed", "mentions", "gallery_pos")}
    for s in range(n_sources):
        objs = sorted(rng.choice(cats[2:], size=3, replace=False).tolist()) + ["c0", "c1"]
        sid = f"i{s}"
        for row in ((sid, "original", None, objs, None), (f"{sid}-no-c1", "decorrelate", "c1",
                                                          [o for o in objs if o != "c1"], ["c0", "c1"])):
            for key, value in zip(("image_id", "edit_kind", "removed", "objects", "pair"), row, strict=True):
                images[key].append(value)
            images["src_id"].append(sid)
        for j in range(5):
            mentions = ["c0", "c1"] if j < 2 else ["c0"]
            for key, value in zip(("caption_id", "text", "edit_kind", "removed", "mentions"),
                                  (f"c{s}_{j}", "", "original", None, mentions), strict=True):
                captions[key].append(value)
            captions["src_id"].append(sid)
    images["gallery_pos"] = rng.permutation(len(images["image_id"])).tolist()
    captions["gallery_pos"] = rng.permutation(len(captions["caption_id"])).tolist()
    manifest = {"name": "synthetic", "version": "0.0.0", "dataset_hash": "0" * 64}
    return build_benchmark(images, captions, [("c0", "c1")], manifest)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--queries", type=int, default=25_000)
    parser.add_argument("--gallery", type=int, default=30_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--sources", type=int, default=5_000)
    args = parser.parse_args()
    torch.manual_seed(0)
    q = normalize(torch.randn(args.queries, args.dim))
    g = normalize(torch.randn(args.gallery, args.dim))
    for chunk in (256, 1024, 4096):
        top_k(q[:chunk], g, 10, device=args.device, chunk_size=chunk)  # warm-up
        start = time.perf_counter()
        top_k(q, g, 10, device=args.device, chunk_size=chunk)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        took = time.perf_counter() - start
        print(f"top_k  {args.queries} x {args.gallery} d={args.dim} on {args.device}, chunk {chunk}: "
              f"{took:.2f} s ({args.queries / took:,.0f} queries/s)")

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    benchmark = synthetic_benchmark(args.sources, rng)
    qs = build_query_sets(benchmark)
    directions = {name: qs.direction(name) for name in ("i2t", "t2i", "std_i2t", "std_t2i")}
    print(f"query sets + relevance for {args.sources} sources ({len(benchmark.images)} images, "
          f"{len(benchmark.captions)} captions): {time.perf_counter() - start:.2f} s")
    rankings = {name: {qid: [d.gallery_ids[j] for j in rng.choice(len(d.gallery_ids), 10, replace=False)]
                       for qid in d.query_ids} for name, d in directions.items()}
    start = time.perf_counter()
    compute_metrics(benchmark, qs, rankings)
    n = sum(len(r) for r in rankings.values())
    print(f"compute_metrics over {n} ranked lists: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
