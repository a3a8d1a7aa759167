"""`odbench compare A.json B.json [C.json ...]`: paired comparison on the same draws (SPEC 9)."""
from __future__ import annotations

import argparse

from .common import user_errors


def add_parser(subparsers, name: str, summary: str) -> None:
    from ..comparison import COMPARED_METRICS

    p = subparsers.add_parser(
        name, help=summary,
        description="Compare result files on the same dataset with SPEC 9's paired bootstrap over source "
                    "scenes: each model's metrics with 95%% intervals, every difference against the first "
                    "file with its interval, p and whether it is separable, per-pair differences, and the "
                    "rank interval of each model. Metrics are recomputed from the rankings.")
    p.add_argument("results", nargs="+", metavar="RESULT.json", help="two or more result documents; the first is A")
    p.add_argument("--metric", action="append", default=None, metavar="METRIC",
                   help=f"a metric to compare (repeatable; default: {', '.join(COMPARED_METRICS)})")
    p.add_argument("--dataset", default=None,
                   help="the dataset folder or hub repo the results were scored on (default: the files' "
                        "benchmark.source, e.g. the embedded odbench-picto)")
    p.add_argument("--draws", type=int, default=1000, help="bootstrap draws (SPEC 9: 1000; at least 100)")
    p.add_argument("--draw-seed", type=int, default=0, help="seed of the draws (SPEC 9: 0)")
    p.add_argument("--output", default=None,
                   help="write the markdown here and a PNG beside it (same name, .png); default: print the markdown")
    p.add_argument("--overwrite", action="store_true", help="replace --output and its PNG if they exist")
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    from .. import results
    from ..comparison import COMPARED_METRICS, check_comparable, check_metrics, compare_documents, known_metrics
    from ..comparison_table import markdown, write_comparison
    from ..data import load_benchmark
    from ..files import check_output_path
    from ..intervals import check_draws
    from ..queries import build_query_sets

    check_draws(args.draws, args.draw_seed)
    if args.output is not None:
        check_output_path(args.output, overwrite=args.overwrite)
    docs = [results.load(path) for path in args.results]
    check_comparable(docs, args.results)
    metrics = args.metric or list(COMPARED_METRICS)
    check_metrics(metrics, known_metrics())     # before the dataset is loaded
    first = docs[0].benchmark
    benchmark = load_benchmark(args.dataset or first.source, revision=first.revision, split=first.split or "test")
    labels = [doc.model.spec + (" (untrained)" if doc.model.untrained else "") for doc in docs]
    if len(set(labels)) < len(labels):     # the same model twice (other args, say): name the files
        labels = list(args.results)
    comparison = compare_documents(docs, labels, benchmark, build_query_sets(benchmark),
                                   draws=args.draws, seed=args.draw_seed)
    if args.output is None:
        print(markdown(comparison, metrics), end="")
        return 0
    md_path, png_path = write_comparison(comparison, metrics, args.output, overwrite=args.overwrite)
    print(f"wrote {md_path} and {png_path}")
    return 0
