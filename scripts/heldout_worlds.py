"""Held-out PictoWorld test worlds (issue #19, item 3): the shipped reference models, out of sample.

    python scripts/heldout_worlds.py                     # worlds of generator seeds 11 and 12
    python scripts/heldout_worlds.py --seeds 11 12 --work /tmp/heldout --publish

Each world is built with exactly the embedded benchmark's recipe (dataset_builders/embedded.py)
but another generator seed, under its own name (`odbench-picto-heldout-<seed>`, so that it is
never taken for the published dataset), must pass `check-benchmark` (SPEC 8), and every model
is scored on it; then the paired comparison of SPEC 9 (same draws for both models) of each model
against the first. Seeds 11 and 12 are used nowhere else in the repository (the embedded test
world is seed 0; the validation split and the study use their own). The worlds are built under
--work and not committed; `--publish` writes what they gave, with their dataset hashes (a
rebuild must give the same hashes), to odbench/reference/study/heldout_worlds.json.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("odmap@10", "cmap@10", "gap@10", "retention@10", "hr@5", "rsum")


def build_world(seed: int, work: Path) -> Path:
    from dataset_builders.embedded import PictoRecipe, build_picto

    recipe = dataclasses.replace(PictoRecipe(), name=f"odbench-picto-heldout-{seed}", version="1.0.0", seed=seed)
    folder = work / recipe.name
    if not (folder / "manifest").is_dir():
        start = time.perf_counter()
        build_picto(folder, recipe, overwrite=True)
        print(f"built {recipe.name} in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


def score(models: list[str], folder: Path, work: Path) -> tuple[dict, list]:
    from odbench import results
    from odbench.data import load_benchmark
    from odbench.evaluate import build_encoder, evaluate
    from odbench.queries import build_query_sets
    from odbench.run_config import RunConfig
    from odbench.validity import check_benchmark

    benchmark = load_benchmark(folder)
    queries = build_query_sets(benchmark)
    check = check_benchmark(benchmark)
    docs = []
    for spec in models:
        out = work / f"{folder.name}--{spec.replace(':', '-')}.json"
        if not out.is_file():
            doc = evaluate(build_encoder(spec), benchmark, queries, RunConfig(batch_size=64), dataset_source=str(folder))
            results.save(doc, out, overwrite=True)
        docs.append(results.load(out))
    world = {"dataset_hash": benchmark.dataset_hash, "sources": len(benchmark.sources),
             "check_benchmark_passed": check.passed,
             "models": {spec: {m: doc.metrics[m] for m in COMPARED} for spec, doc in zip(models, docs, strict=True)}}
    return world, docs


def main() -> None:
    from odbench.comparison import compare_documents
    from odbench.data import load_benchmark
    from odbench.queries import build_query_sets

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--models", nargs="+", default=["odbench:baseline", "odbench:mitigated"],
                        help="the first is the reference A of every comparison")
    parser.add_argument("--work", type=Path, default=Path("/tmp/odbench-heldout"))
    parser.add_argument("--publish", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    summary = {"recipe": "dataset_builders/embedded.py PictoRecipe() with another generator seed", "worlds": {}}
    for seed in args.seeds:
        folder = build_world(seed, args.work)
        world, docs = score(args.models, folder, args.work)
        benchmark = load_benchmark(folder)
        comparison = compare_documents(docs, args.models, benchmark, build_query_sets(benchmark))
        world["differences"] = {}
        print(f"\n{folder.name} (generator seed {seed}, dataset hash {world['dataset_hash'][:12]}..., "
              f"{world['sources']} sources, check-benchmark {'passed' if world['check_benchmark_passed'] else 'FAILED'})")
        for j, spec in enumerate(args.models[1:], 1):
            world["differences"][f"{spec} - {args.models[0]}"] = diffs = {}
            for metric in COMPARED:
                d = comparison.difference(0, j, metric)
                diffs[metric] = {"delta": d.delta, "interval": d.interval, "p": d.p, "separable": d.separable}
                lo, hi = d.interval
                print(f"  {spec} - {args.models[0]}: {metric:<12} {d.delta:+.4f} [{lo:+.4f}, {hi:+.4f}] "
                      f"p {d.p:.3f} {'separable' if d.separable else 'not separable'}")
        summary["worlds"][str(seed)] = world
    if args.publish:
        out = ROOT / "odbench" / "reference" / "study" / "heldout_worlds.json"
        out.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
