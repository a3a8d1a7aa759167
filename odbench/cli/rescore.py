"""`odbench rescore RESULT.json`: recompute metrics and intervals from the rankings (2.0 -> 2.1)."""
from __future__ import annotations

import argparse

from .common import user_errors


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(
        name, help=summary,
        description="Recompute every metric and SPEC 9's intervals of a result document from its rankings "
                    "and the dataset, and write it at the current schema version (2.1). The model, run facts "
                    "and rankings are kept as they are; the model is not run.")
    p.add_argument("result", metavar="RESULT.json", help="a result document")
    p.add_argument("--output", default=None, help="where to write the re-scored document")
    p.add_argument("--in-place", action="store_true", help="replace RESULT.json itself (atomically)")
    p.add_argument("--dataset", default=None,
                   help="the dataset folder or hub repo it was scored on (default: the file's benchmark.source)")
    p.add_argument("--draws", type=int, default=1000, help="bootstrap draws (SPEC 9: 1000; at least 100)")
    p.add_argument("--draw-seed", type=int, default=0, help="seed of the draws (SPEC 9: 0)")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    from .. import results
    from ..data import load_benchmark
    from ..errors import ODBenchError
    from ..files import check_output_path
    from ..intervals import check_draws
    from ..queries import build_query_sets
    from ..rescoring import rescore

    check_draws(args.draws, args.draw_seed)
    if args.in_place == (args.output is not None):
        raise ODBenchError("give exactly one of --output NEW.json and --in-place")
    output = args.result if args.in_place else check_output_path(args.output, overwrite=args.overwrite)
    doc = results.load(args.result)
    benchmark = load_benchmark(args.dataset or doc.benchmark.source, revision=doc.benchmark.revision,
                               split=doc.benchmark.split or "test")     # the split it was scored on
    new = rescore(doc, benchmark, build_query_sets(benchmark), draws=args.draws, seed=args.draw_seed)
    results.save(new, output, overwrite=True if args.in_place else args.overwrite, validated=True)
    print(f"wrote {output} (schema {new.schema_version}, rankings sha256 {new.rankings_sha256[:12]}... unchanged)")
    return 0
