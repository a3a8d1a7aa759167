"""`odbench SUBCOMMAND`: one module per subcommand, each adding its own parser."""
from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import check_benchmark, finetune, leaderboard, train, validate
from . import eval as eval_cmd

SUBCOMMANDS = [eval_cmd, validate, check_benchmark, leaderboard, train, finetune]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odbench", description="ODBench: object-decorrelation "
                                     "benchmark for image-text retrieval.")
    parser.add_argument("--version", action="version", version=f"odbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
