"""`odbench report RESULT.json [--compare OTHER.json]`: a markdown summary and a PNG of one model,
or of two models and their difference."""
from __future__ import annotations

import argparse

from .common import user_errors


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(
        name, help=summary,
        description="Summarise a result file in markdown, with a PNG of per-pair odmap@10 and hr@5 and "
                    "the summary metrics (odmap@10, cmap@10, gap@10, hr@5); with --compare, two models "
                    "side by side and their difference (OTHER - RESULT). Needs matplotlib: "
                    "pip install 'odbench[report]'.")
    p.add_argument("result", metavar="RESULT.json", help="a result document (odbench-eval's output)")
    p.add_argument("--compare", metavar="OTHER.json", default=None,
                   help="a second result on the same dataset, e.g. the mitigated model against its baseline")
    p.add_argument("--output", default="report.md",
                   help="markdown file to write; the PNG goes beside it with the same name (default: report.md)")
    p.add_argument("--overwrite", action="store_true", help="replace the report if it exists")
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    from .. import results
    from ..report import write_report

    doc = results.load(args.result)
    other = results.load(args.compare) if args.compare else None
    md_path, png_path = write_report(doc, args.output, other, overwrite=args.overwrite)
    print(f"wrote {md_path} and {png_path}")
    return 0
