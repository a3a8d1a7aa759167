"""`odbench validate FILE...`: check result documents against the schema and their hash, and
recompute their metrics from their rankings wherever their dataset can be loaded. Every file is
checked (one line each); the exit status is 2 when any failed."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ODBenchError, ResultError
from ..escaping import one_line
from .common import quiet_libraries, user_errors


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(
        name, help=summary,
        description="Check each result file: strict JSON, the schema, the rankings hash, and, when its dataset "
                    "can be loaded (an embedded one, a --dataset, or the folder the file names as its source), "
                    "every metric recomputed from the rankings. Each file gets one line saying what was checked.")
    p.add_argument("files", nargs="+", help="result JSON files")
    p.add_argument("--dataset", action="append", default=[], metavar="NAME@VERSION=PATH",
                   help="where a dataset the files name can be loaded from (repeatable)")
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    quiet_libraries()
    from ..leaderboard.datasets import DatasetRegistry, parse_dataset_option, parse_source

    options = dict(parse_dataset_option(text) for text in args.dataset)
    registry = DatasetRegistry({key: parse_source(text) for key, text in options.items()})
    failed = 0
    for path in args.files:
        try:
            print(check_file(path, registry))
        except ODBenchError as exc:
            print("error: " + " ".join(str(exc).split()), file=sys.stderr)
            failed += 1
    return 2 if failed else 0


def check_file(path: str, registry) -> str:
    """The line for one valid file (what was checked, and what could not be); raises
    ODBenchError naming the file and the first problem."""
    from .. import results
    from ..leaderboard.checks import recompute
    from ..leaderboard.rejection import Rejection

    doc = results.load(path)
    b = doc.benchmark
    shown = one_line(path)
    head = (f"{shown}: valid ({one_line(doc.model.spec)} on {b.name} v{b.version}, "
            f"odmap@10={doc.metrics['odmap@10']})")
    loaded, why_not = _dataset(doc, registry)
    if loaded is None:
        return f"{head}; checked: JSON, schema, rankings hash; not checked: the metrics and intervals ({why_not})"
    benchmark, queries = loaded
    if b.dataset_hash != benchmark.dataset_hash:
        raise ResultError(f"{shown}: dataset_hash {b.dataset_hash[:12]}... is not the hash of "
                          f"{benchmark.name}@{benchmark.version} ({benchmark.dataset_hash[:12]}...)")
    try:
        recompute(doc, benchmark, queries)      # the leaderboard's own check
    except Rejection as rejection:
        raise ResultError(f"{shown}: {rejection.reason}: {rejection.detail}") from None
    what = "every metric and interval" if doc.intervals is not None else "every metric (the file has no intervals)"
    return (f"{head}; checked: JSON, schema, rankings hash, and {what} recomputed from the rankings "
            f"on {benchmark.name}@{benchmark.version}")


def _dataset(doc, registry):
    """((benchmark, queries), None), or (None, why not): the registry's dataset of that name
    and version, else the local folder the file names as its source."""
    from ..data import load_benchmark
    from ..leaderboard.rejection import Rejection
    from ..queries import build_query_sets

    b = doc.benchmark
    key = f"{b.name}@{b.version}"
    try:
        return registry.get(b.name, b.version), None
    except Rejection as rejection:
        if rejection.reason != "unknown-dataset":
            return None, one_line(rejection.detail)
    if b.source and Path(b.source).is_dir():
        try:
            benchmark = load_benchmark(b.source)
        except ODBenchError as exc:
            return None, f"its source folder {one_line(b.source)} could not be loaded: {one_line(exc)}"
        if f"{benchmark.name}@{benchmark.version}" == key:
            return (benchmark, build_query_sets(benchmark)), None
    return None, f"{key} cannot be loaded here: pass --dataset {key}=PATH"
