"""`odbench leaderboard`: verify every submission and write (or --check) leaderboard.md."""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from ..errors import ODBenchError
from .common import quiet_libraries, user_errors

EXIT_CHECK_FAILED = 1


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(
        name, help=summary,
        description="Recompute every metric of every result file under --submissions, reject the "
                    "files that do not check out, and write the leaderboard.")
    p.add_argument("--submissions", default="submissions",
                   help="folder of result JSON files, searched recursively (default: submissions)")
    p.add_argument("--output", default="leaderboard.md", help="markdown file to write (default: leaderboard.md)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a submission is rejected or --output is not up to date")
    p.add_argument("--reproduce", action="store_true",
                   help="also re-run every model the repository can build from its spec (odbench:baseline, "
                        "odbench:mitigated, untrained open_clip:ARCH, mock:) up to --max-params, and reject "
                        "it unless the rankings and weights hashes are identical (CPU)")
    p.add_argument("--allow-download", action="store_true",
                   help="with --reproduce: also re-run public pretrained weights at a fixed revision "
                        "(hf:ORG/NAME@COMMIT, open_clip:ARCH/TAG) from the local hub cache, downloading what "
                        "is missing unless HF_HUB_OFFLINE=1 (a maintainer's run; CI never downloads)")
    p.add_argument("--max-params", type=int, default=None, metavar="N",
                   help="with --reproduce: largest model to re-run, in parameters (default: CI's limit, "
                        "20000000)")
    p.add_argument("--html", default=None, metavar="DIR",
                   help="also write the leaderboard as a static web page, DIR/index.html (sortable tables, "
                        "plots; no server, no external requests), with the accepted result files copied "
                        "under DIR/results/; written with --check too")
    p.add_argument("--dataset", action="append", default=[], metavar="NAME@VERSION=PATH",
                   help="where to find a dataset version (folder, org/repo or org/repo@revision); "
                        "repeatable; overrides submissions/datasets.json and the embedded datasets")
    p.set_defaults(func=run)


def _diff_summary(old: str, new: str, output: Path) -> tuple[str, list[str]]:
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"{output} (on disk)",
                                     f"{output} (generated)", lineterm="", n=0))
    added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
    removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
    state = "is out of date" if output.is_file() else "does not exist"
    return (f"{output} {state} (+{added} -{removed} lines); run `odbench leaderboard` "
            f"and commit it", diff)


@user_errors
def run(args: argparse.Namespace) -> int:
    quiet_libraries()
    from ..escaping import one_line
    from ..files import check_output_path, write_atomic
    from ..leaderboard.checks import find_submissions, reproduction_check, verify_all
    from ..leaderboard.datasets import DatasetRegistry
    from ..leaderboard.identity import DUPLICATES, HISTORY_ORDER, history_order
    from ..leaderboard.markdown import render
    from ..reproduce import CI_MAX_PARAMETERS

    submissions, output = Path(args.submissions), Path(args.output)
    if not submissions.is_dir():
        raise ODBenchError(f"submissions folder not found: {one_line(submissions)}")
    if args.allow_download and not args.reproduce:
        raise ODBenchError("--allow-download only applies with --reproduce")
    if args.max_params is not None and not args.reproduce:
        raise ODBenchError("--max-params only applies with --reproduce")
    if args.max_params is not None and args.max_params < 0:
        raise ODBenchError("--max-params must be 0 or more")
    if not args.check:
        check_output_path(output, overwrite=True)
    if args.html is not None:
        check_output_path(Path(args.html) / "index.html", overwrite=True, option="--html")
    registry = DatasetRegistry.of_submissions(submissions, args.dataset)
    order = history_order(find_submissions(submissions), submissions)
    paths = order.paths       # precedence between duplicates: who entered the history first
    shown = {p: (submissions / p.relative_to(submissions)).as_posix() for p in paths}
    reproducer, reproduced = None, []

    def report(name: str, status: str) -> None:
        reproduced.extend([name] if status.startswith("reproduced") else [])
        print(f"{one_line(name)}: {status}", flush=True)

    if args.reproduce:
        limit = CI_MAX_PARAMETERS if args.max_params is None else args.max_params
        reproducer = reproduction_check(limit, report, allow_download=args.allow_download)
    outcome = verify_all(paths, registry, shown=shown, reproducer=reproducer)
    for r in outcome.rejected:
        print(r.line(), file=sys.stderr, flush=True)
    if order.basis != HISTORY_ORDER and any(r.reason in DUPLICATES for r in outcome.rejected):
        print(f"note: duplicates were decided by {order.basis}; with full history (git clone without "
              f"--depth) the earlier-committed file wins", file=sys.stderr)
    text = render(outcome, output.parent)
    summary = f"{len(outcome.accepted)} accepted, {len(outcome.rejected)} rejected"
    if args.reproduce:
        summary += f", {len(reproduced)} re-run and reproduced"

    if args.html is not None:
        from ..leaderboard.html import write_page

        print(f"wrote {write_page(outcome, args.html, submissions)}")
    if not args.check:
        write_atomic(output, text, overwrite=True)
        print(f"wrote {output}: {summary}")
        return 0
    failed = bool(outcome.rejected)
    old = output.read_text("utf-8") if output.is_file() else ""
    if old != text:
        line, diff = _diff_summary(old, text, output)
        print(line, file=sys.stderr)
        print("\n".join(diff[:60] + (["..."] if len(diff) > 60 else [])), file=sys.stderr)
        failed = True
    print(f"check {'failed' if failed else 'passed'}: {summary}")
    return EXIT_CHECK_FAILED if failed else 0
