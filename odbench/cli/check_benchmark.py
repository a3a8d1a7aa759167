"""`odbench check-benchmark [DATASET]`: prove that a dataset's ODmAP measures object reliance
(SPEC section 8), on each split the dataset has (SPEC 9). Exit status 1 when an exhaustive
dataset fails the gates on any split."""
from __future__ import annotations

import argparse
import json
import time

from ..errors import DamagedRow, ODBenchError
from .common import quiet_libraries, resolve_device, user_errors

EXIT_FAILED = 1


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(
        name, help=summary,
        description="Rank and score the label oracle and the planted shortcuts (alpha 0.3, 0.6, 0.9 "
                    "in the image tower, the text tower and both) through the ordinary ranking and "
                    "metric code. An exhaustive dataset must pass the gates of SPEC section 8 (exit "
                    "status 1 otherwise); a partial one (COCO) is reported without gates.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("dataset", nargs="?", default=None,
                   help="dataset folder, hub repo id (org/name), or embedded name (default: odbench-picto)")
    p.add_argument("--revision", default=None, help="hub revision (a tag such as v2.0.0)")
    p.add_argument("--split", default=None,
                   help="check this split only (test or validation; default: every split the dataset has)")
    p.add_argument("--seed", type=int, default=0, help="seed of the oracle's Gaussian noise")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--output", default=None, help="also write the report as JSON to this file")
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    quiet_libraries()
    from ..data import load_benchmark, locate_damage, read_manifest
    from ..dataset_format import check_split_name, dataset_splits
    from ..files import write_atomic
    from ..validity import check_benchmark

    if args.output is not None and not args.output:
        raise ODBenchError("--output needs a file name")
    started = time.perf_counter()
    if args.split is not None:
        check_split_name(args.split)
    splits = [args.split] if args.split else dataset_splits(read_manifest(args.dataset, revision=args.revision))
    reports = {}
    for split in splits:
        try:
            benchmark = load_benchmark(args.dataset, revision=args.revision, split=split)
        except DamagedRow as exc:
            raise locate_damage(args.dataset, exc) from None
        report = check_benchmark(benchmark, seed=args.seed, device=resolve_device(args.device))
        heading = f"split {split}: " if len(splits) > 1 else ""
        print(f"{heading}{report.benchmark} ({report.caption_style} captions, SPEC v{benchmark.spec_version}), "
              f"label-oracle noise seed {args.seed}\n")
        print(report.table() + "\n")
        print(report.summary() + "\n")
        reports[split] = report
    print(f"({time.perf_counter() - started:.1f} s)")
    if args.output:
        # One split: its report, as before validation splits; several: one report per split.
        data = reports[splits[0]].as_dict() if len(splits) == 1 else \
            {"splits": {s: r.as_dict() for s, r in reports.items()},
             "passed": all(r.passed for r in reports.values() if r.gated)}
        write_atomic(args.output, json.dumps(data, indent=1) + "\n", overwrite=True)
    return EXIT_FAILED if any(r.gated and not r.passed for r in reports.values()) else 0
