"""`odbench sweep`: evaluate many models on one dataset, one result file each, resumable, then
compare them all with intervals (SPEC 9).

    odbench sweep --models models.txt --output-dir sweeps/picto
    odbench sweep --model odbench:baseline --model odbench:mitigated --output-dir sweeps/ref

A models file has one `SPEC [KEY=VALUE ...]` per line (`#` comments). Run the same command again
after an interruption: finished models are skipped, failed ones retried (`--skip-failed` keeps
them as they are). The comparison goes to `<output-dir>/comparison.md` (and a PNG beside it
when matplotlib is installed).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .common import quiet_libraries, resolve_device, user_errors
from .eval import add_run_arguments


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(name, help=summary, description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", action="append", default=[], metavar="FILE",
                   help="a file with one model per line: SPEC [KEY=VALUE ...] (repeatable)")
    p.add_argument("--model", action="append", default=[], metavar="SPEC",
                   help="a model, as odbench-eval --model takes it (repeatable; after the --models files)")
    p.add_argument("--output-dir", required=True, help="one result file per model and sweep.json go here")
    add_run_arguments(p)
    p.add_argument("--skip-failed", action="store_true",
                   help="do not retry the models that failed in an earlier run of this sweep")
    p.add_argument("--metric", action="append", default=None, metavar="METRIC",
                   help="a metric of the comparison (repeatable; default: odbench compare's)")
    p.set_defaults(func=run)


def _line(outcome) -> str:
    name = outcome.model.label
    if outcome.status == "failed":
        return f"failed   {name}: {outcome.error}"
    m = outcome.doc.metrics
    shown = "n/a" if m.get("odmap@10") is None else f"{m['odmap@10']:.4f}"
    verb = "skipped  " if outcome.status == "skipped" else "done     "
    note = " (finished before)" if outcome.status == "skipped" else ""
    return f"{verb}{name}: odmap@10 {shown} -> {outcome.path}{note}"


@user_errors
def run(args: argparse.Namespace) -> int:
    from ..comparison import COMPARED_METRICS, check_metrics, known_metrics
    from ..files import check_output_path
    from ..intervals import check_draws
    from ..run_config import RunConfig
    from ..sweep import SweepError, model_list

    # every mistake the user can make is found before the first model runs
    models = model_list(args.models, args.model)
    settings = RunConfig(batch_size=args.batch_size, precision=args.precision, num_workers=args.num_workers,
                         seed=args.seed)
    check_draws(args.draws, args.draw_seed)
    metrics = args.metric or list(COMPARED_METRICS)
    check_metrics(metrics, known_metrics())
    if not args.output_dir.strip():
        raise SweepError("--output-dir is empty: name a folder, e.g. --output-dir sweeps/odbench-picto")
    check_output_path(Path(args.output_dir) / "comparison.md", overwrite=True, option="--output-dir")
    quiet_libraries()
    config = dataclasses.replace(settings, device=resolve_device(args.device))
    from ..cache import EmbeddingCache, VerifiedDatasets, default_cache_dir
    from ..data import load_benchmark
    from ..queries import build_query_sets
    from ..sweep import run_sweep

    cache_dir = None if args.no_cache else default_cache_dir()
    benchmark = load_benchmark(args.dataset, revision=args.revision,
                               verified=VerifiedDatasets(cache_dir) if cache_dir else None)
    queries = build_query_sets(benchmark)
    print(f"sweep of {len(models)} models on {benchmark.name} v{benchmark.version} into {args.output_dir}", flush=True)
    outcomes = run_sweep(models, args.output_dir, benchmark, queries, config,
                         dataset_source=args.dataset or benchmark.name,
                         cache=EmbeddingCache(cache_dir) if cache_dir else None, draws=args.draws,
                         draw_seed=args.draw_seed, retry_failed=not args.skip_failed,
                         report=lambda outcome: print(_line(outcome), flush=True))
    finished = [o for o in outcomes if o.doc is not None]
    failed = [o for o in outcomes if o.status == "failed"]
    if len(finished) >= 2:
        print(_write_comparison(finished, benchmark, queries, metrics, args), flush=True)
    else:
        print(f"no comparison: {len(finished)} model(s) finished, a comparison needs two")
    if failed:
        print(f"error: {len(failed)} of {len(models)} models failed (see above and {args.output_dir}/sweep.json); "
              f"fix them and run the same command again", file=sys.stderr)
        return 1
    return 0


def _write_comparison(finished, benchmark, queries, metrics, args) -> str:
    """The comparison of every finished model (the first is A), as markdown; written to
    <output-dir>/comparison.md, with its PNG when matplotlib is there."""
    from ..comparison import compare_documents
    from ..comparison_table import markdown, write_comparison
    from ..errors import ODBenchError
    from ..files import write_atomic

    labels = [o.model.label for o in finished]
    comparison = compare_documents([o.doc for o in finished], labels, benchmark, queries, draws=args.draws,
                                   seed=args.draw_seed)
    output = Path(args.output_dir) / "comparison.md"
    try:
        write_comparison(comparison, metrics, output, overwrite=True)
        text = output.read_text(encoding="utf-8")
    except ODBenchError:     # no matplotlib: the table without its picture
        text = markdown(comparison, metrics)
        write_atomic(output, text, overwrite=True)
    return text + f"\nwrote {output}"
