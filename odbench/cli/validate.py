"""`odbench validate FILE...`: check result documents against the schema and their hash."""
from __future__ import annotations

import argparse

from .. import results
from .common import user_errors


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(name, help=summary)
    p.add_argument("files", nargs="+", help="result JSON files")
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    for path in args.files:
        doc = results.load(path)
        print(f"{path}: valid ({doc.model.spec} on {doc.benchmark.name} "
              f"v{doc.benchmark.version}, odmap@10={doc.metrics['odmap@10']})")
    return 0
