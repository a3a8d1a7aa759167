"""`odbench SUBCOMMAND`: one module per subcommand, each adding its own parser.

Subcommands are registered by name, with their one-line help and the `"module:add_parser"` that
builds their full parser. Only the subcommand being run is imported: `odbench eval` loads no
training code, and the library never imports the trainer (`odbench_train`), whose two
subcommands are reached here by name.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from .. import __version__
from ..registry import Registry, import_object


@dataclass(frozen=True)
class Subcommand:
    summary: str     # the line `odbench --help` shows
    target: str      # "module:add_parser"; add_parser(subparsers, name, summary) adds the full parser


SUBCOMMANDS: Registry[Subcommand] = Registry("subcommand")
SUBCOMMANDS.register("eval", Subcommand("evaluate a model (same as odbench-eval)", "odbench.cli.eval:add_parser"))
SUBCOMMANDS.register("validate", Subcommand("validate result documents (schema, rankings hash, recomputed metrics)",
                                            "odbench.cli.validate:add_parser"))
SUBCOMMANDS.register("check-benchmark", Subcommand("score the label oracle and planted shortcuts (SPEC section 8)",
                                                   "odbench.cli.check_benchmark:add_parser"))
SUBCOMMANDS.register("leaderboard", Subcommand("verify submissions/ and write leaderboard.md",
                                               "odbench.cli.leaderboard:add_parser"))
SUBCOMMANDS.register("report", Subcommand("summarise a result (or compare two) in markdown and a PNG",
                                          "odbench.cli.report:add_parser"))
SUBCOMMANDS.register("compare", Subcommand("compare results with paired 95%% intervals and rank intervals (SPEC 9)",
                                           "odbench.cli.compare:add_parser"))
SUBCOMMANDS.register("rescore", Subcommand("recompute a result's metrics and intervals from its rankings "
                                           "(upgrades 2.0 files to 2.1)", "odbench.cli.rescore:add_parser"))
SUBCOMMANDS.register("sweep", Subcommand("evaluate many models, one result file each, resumable, then compare them",
                                         "odbench.cli.sweep:add_parser"))
SUBCOMMANDS.register("train-reference", Subcommand("train the reference CLIP on a PictoWorld split",
                                                   "odbench_train.train_reference:add_parser"))
SUBCOMMANDS.register("finetune", Subcommand("finetune an open_clip model with the synthetic training set",
                                            "odbench_train.finetune:add_parser"))


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The `odbench` parser for the command line `argv`: the subcommand it names gets its full
    parser; every other one is listed by name and help only."""
    parser = argparse.ArgumentParser(prog="odbench", description="ODBench: object-decorrelation "
                                     "benchmark for image-text retrieval.")
    parser.add_argument("--version", action="version", version=f"odbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, command in SUBCOMMANDS.items():
        if name == chosen:
            import_object(command.target)(subparsers, name, command.summary)
        else:
            subparsers.add_parser(name, help=command.summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
