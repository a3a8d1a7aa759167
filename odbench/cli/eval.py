"""`odbench-eval` (also `odbench eval`): score a model and write a validated result document."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING

from ..errors import ODBenchError
from ..escaping import one_line
from .common import quiet_libraries, resolve_device, user_errors

if TYPE_CHECKING:   # the results module loads jsonschema: imported when a result exists
    from ..results import ResultDocument


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help="module:Class, path/to/file.py:Class, or a built-in name such as "
                        "open_clip:ViT-B-32/laion2b_s34b_b79k, hf:openai/clip-vit-base-patch32, "
                        "mteb:openai/clip-vit-base-patch32 or odbench:baseline")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="constructor argument, typed by the constructor's annotations (repeatable)")
    add_run_arguments(p)
    p.add_argument("--k", type=int, default=10, help="length of each ranked list (10 to 100; the leaderboard takes 10)")
    p.add_argument("--output", required=True, help="where to write the result JSON")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The dataset and run settings, shared with `odbench sweep`."""
    p.add_argument("--dataset", default=None,
                   help="dataset folder, hub repo id (org/name), or embedded name (default: odbench-picto)")
    p.add_argument("--revision", default=None,
                   help="hub revision (a tag such as v1.0.0); for a folder or the embedded dataset it must "
                        "be the dataset's own version")
    p.add_argument("--split", default="test",
                   help="the dataset split to score: test (the reported numbers, the leaderboard) or validation "
                        "(SPEC 9: for choosing methods and settings; the leaderboard refuses it)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--precision", choices=("fp32", "amp"), default="fp32",
                   help="amp runs the encoder under autocast; similarity scores are always fp32")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers for image preprocessing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--draws", type=int, default=1000,
                   help="bootstrap draws over source scenes for every metric's 95%% interval (SPEC 9; at least 100)")
    p.add_argument("--draw-seed", type=int, default=0, help="seed of the draws (SPEC 9: 0)")
    p.add_argument("--no-cache", action="store_true",
                   help="compute the embeddings and verify the dataset even if an earlier run of the same model "
                        "and files did (the cache is in $ODBENCH_CACHE_DIR, default ~/.cache/odbench)")


def summary_table(doc: ResultDocument) -> str:
    """Each headline metric with its 95% interval (SPEC 9), one per line."""
    from ..results import HEADLINE_METRICS

    m = doc.metrics
    bounds = (doc.intervals or {}).get("metrics", {})
    width = max(len(k) for k in HEADLINE_METRICS)
    split = f", split {doc.benchmark.split}" if doc.benchmark.split else ""
    title = f"{doc.model.spec} on {doc.benchmark.name} v{doc.benchmark.version}{split}"
    if doc.intervals:
        title += f" (95% intervals over source scenes, {doc.intervals['draws']} draws)"
    lines = [title]
    for key in HEADLINE_METRICS:
        value, interval = m.get(key), bounds.get(key)
        digits = 2 if key == "rsum" else 4
        shown = "n/a" if value is None else f"{value:8.{digits}f}"
        if value is not None and interval is not None:
            shown += f"  [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
        lines.append(f"  {key:<{width}}  {shown}")
    return "\n".join(lines)


def _rerun_hint(cache) -> str:
    if cache is not None and cache.stored is not None:
        return (f"the embeddings are cached ({cache.stored}): rerun the same command with --output "
                f"naming a folder with space and they are read back, not recomputed")
    return "the embeddings were not cached: free space or name another --output, and rerun"


def warn_if_tied(doc: ResultDocument) -> None:
    """One warning line when most ranked lists are one tie: the result then says more about the
    gallery order than about the model (constant or zero embeddings)."""
    tied = doc.run.tied_queries or 0
    total = sum(len(lists) for lists in doc.rankings.values())
    if total and 2 * tied >= total:
        print(f"warning: {tied} of {total} queries rank a list whose scores all tie (constant or zero "
              f"embeddings?): those lists are in gallery order, not the model's; run.tied_queries "
              f"records it", file=sys.stderr)


@user_errors
def run(args: argparse.Namespace) -> int:
    from .. import results
    from ..dataset_format import check_split_name
    from ..files import check_output_path
    from ..run_config import RunConfig

    # Everything the user can get wrong is checked before the model is built (and before the
    # heavy imports): an evaluation can take minutes, and its result must have somewhere to go.
    output = check_output_path(args.output, overwrite=args.overwrite)
    check_split_name(args.split)
    settings = RunConfig(batch_size=args.batch_size, precision=args.precision, num_workers=args.num_workers,
                         seed=args.seed, k=args.k)                # checks them
    from ..intervals import check_draws

    check_draws(args.draws, args.draw_seed)
    quiet_libraries()
    from .. import distributed

    # under torchrun: join the group; each process gets its own GPU (or shares the CPU, gloo)
    config = dataclasses.replace(settings, device=distributed.init_from_environment(resolve_device(args.device)))
    from ..cache import EmbeddingCache, VerifiedDatasets, default_cache_dir
    from ..data import load_benchmark, locate_damage
    from ..encoders import parse_model_args
    from ..errors import DamagedRow, EncoderError
    from ..evaluate import build_encoder, evaluate
    from ..queries import build_query_sets

    model_args = parse_model_args(args.model_arg)
    cache_dir = None if args.no_cache else default_cache_dir()
    cache = EmbeddingCache(cache_dir) if cache_dir else None
    try:
        loaded = build_encoder(args.model, model_args, seed=args.seed)
        benchmark = load_benchmark(args.dataset, revision=args.revision,
                                   verified=VerifiedDatasets(cache_dir) if cache_dir else None,
                                   deferred=True,   # the images' hash is checked as they are encoded
                                   split=args.split)
        queries = build_query_sets(benchmark)
        doc = evaluate(loaded, benchmark, queries, config, dataset_source=args.dataset or benchmark.name,
                       cache=cache, draws=args.draws, draw_seed=args.draw_seed)
    except DamagedRow as exc:
        raise locate_damage(args.dataset, exc) from None
    except SystemExit as exc:   # raised by the model's code (ours never exits): not a success
        raise EncoderError(f"{args.model} called exit({exc.code!r}) while it was built or run; "
                           f"no result was written") from None
    if not distributed.is_main():    # every process holds the same document; rank 0 writes it
        return 0
    if cache is not None and cache.warning:
        print(f"warning: {cache.warning}", file=sys.stderr)
    warn_if_tied(doc)
    try:
        results.save(doc, output, overwrite=args.overwrite, validated=True)   # evaluate validated it
    except OSError as exc:   # checked writable up front; a full disk can still fail here
        raise ODBenchError(f"cannot write {one_line(output)} ({exc.strerror or type(exc).__name__}); "
                           + _rerun_hint(cache)) from None
    print(summary_table(doc))
    if cache is not None:
        print(cache.status)
    print(f"wrote {output} (rankings sha256 {doc.rankings_sha256[:12]}...)")
    return 0


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(name, help=summary)
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="odbench-eval", description="Evaluate an image-text retrieval "
                                     "model on ODBench and write a validated result document.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
