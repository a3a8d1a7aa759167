"""Re-scoring a result from its rankings: every number recomputed, the rankings untouched.

`odbench rescore` upgrades a 2.0 document to 2.1 (SPEC 9's intervals and retention@k) without
re-running the model: rankings are the artifact every number is recomputed from.
"""
from __future__ import annotations

import dataclasses

from .benchmark import Benchmark
from .errors import ResultError
from .intervals import DEFAULT_DRAWS, DEFAULT_SEED, compute_intervals
from .metrics import query_scores, report_of
from .queries import QuerySets
from .results import SCHEMA_VERSION, ResultDocument


def rescore(doc: ResultDocument, benchmark: Benchmark, queries: QuerySets, *, draws: int = DEFAULT_DRAWS,
            seed: int = DEFAULT_SEED) -> ResultDocument:
    """The document at the current schema version with metrics and intervals recomputed on
    `benchmark` (which must be the dataset it was scored on); model, run and rankings kept."""
    if doc.benchmark.dataset_hash != benchmark.dataset_hash:
        raise ResultError(f"the result was scored on dataset hash {doc.benchmark.dataset_hash[:12]}..., but "
                          f"{benchmark.name} v{benchmark.version} has {benchmark.dataset_hash[:12]}...; "
                          f"pass the dataset it was scored on with --dataset")
    scores = query_scores(benchmark, queries, doc.rankings, list_length=doc.run.k)
    report = report_of(scores)
    intervals = compute_intervals(benchmark, queries, doc.rankings, draws=draws, seed=seed, scores=scores,
                                  point=report.metrics)
    new = dataclasses.replace(doc, metrics=report.metrics, per_pair=report.per_pair,
                              per_category=report.per_category, query_counts=report.query_counts,
                              intervals=intervals.as_dict(), schema_version=SCHEMA_VERSION)
    new.validate()
    return new
