"""Result documents for models whose rankings the tests make up (no encoder runs)."""
from __future__ import annotations

import hashlib

from odbench.intervals import compute_intervals
from odbench.metrics import compute_metrics
from odbench.queries import QuerySets, build_query_sets
from odbench.rankings import rankings_hash
from odbench.results import SCHEMA_VERSION

from tiny_dataset import NAME


def scored_rankings(queries: QuerySets, seed: int) -> dict:
    """A deterministic stand-in for a model: each query orders the gallery by a seeded hash."""
    out = {}
    for name in ("i2t", "t2i", "std_i2t", "std_t2i"):
        d = queries.direction(name)
        score = lambda q, g: hashlib.sha256(f"{seed}:{q}:{g}".encode()).hexdigest()
        out[name] = {q: sorted(d.gallery_ids, key=lambda g: score(q, g))[:10] for q in d.query_ids}
    return out


def make_submission(benchmark, seed: int, spec: str = "mock:random", **model) -> dict:
    """A result document as odbench-eval writes it, for a model whose rankings we make up."""
    queries = build_query_sets(benchmark)
    rankings = scored_rankings(queries, seed)
    report = compute_metrics(benchmark, queries, rankings)
    return {
        "schema_version": SCHEMA_VERSION,
        "benchmark": {"name": benchmark.name, "version": benchmark.version, "revision": None,
                      "spec_version": benchmark.spec_version, "caption_style": benchmark.caption_style,
                      "dataset_hash": benchmark.dataset_hash, "source": NAME,
                      **({} if benchmark.split == "test" else {"split": benchmark.split})},
        "model": {"spec": spec, "args": {"seed": seed}, "name": spec, "weights_hash": None,
                  "num_parameters": 1234567, "untrained": True, **model},
        "run": {"odbench_version": "0.1.0", "torch_version": "2.0", "device": "cpu", "precision": "fp32",
                "batch_size": 8, "seed": 0, "date": "2024-05-01T12:00:00+00:00", "wall_time_s": 1.0, "k": 10},
        **report.as_dict(),
        "rankings": rankings,
        "rankings_sha256": rankings_hash(rankings),
        "intervals": compute_intervals(benchmark, queries, rankings).as_dict(),
    }
