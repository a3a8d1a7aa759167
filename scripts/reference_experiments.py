#!/usr/bin/env python
"""The reference-model study of the README ("Reference models and the mitigation experiment").

    python scripts/reference_experiments.py --work /tmp/odbench-study --seeds 0 1 2

Stages (each skipped when its output exists, so an interrupted study continues):
 1. PictoWorld training splits, 20k scenes at 128 px: pair co-occurrence 0.9 (generator seed 1)
    and 0.0 (generator seed 2). The test benchmark uses generator seed 0, so no scene is shared.
 2. The synthetic decorrelated set (remove + paste rows) from the first 3000 correlated scenes.
 3. Per training seed: `baseline` (train-reference on corr 0.9), `mitigated` (finetune baseline,
    50/50 mix with synthetic, --paired), `more-original` (finetune baseline on original pairs only, same
    steps), `uncorrelated` (train-reference on corr 0.0); every model evaluated on the embedded
    odbench-picto (telea inpainter), the baselines also on an exact-remover build.
 4. A random-initialised open_clip ViT-B-32.
 5. results/*.json per run, summary.json and table.md (mean ± sample std over seeds, per seed).

Every training and finetuning is the documented CLI command (printed and logged), run as a
subprocess; evaluation goes through odbench.evaluate, exactly as odbench-eval.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

METRICS = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "cmap@10", "gap@10", "hr@5", "r_i2t@1", "r_t2i@1", "rsum")
N_TRAIN = 20000
TRAIN_ARGS = ["--epochs", "5", "--batch-size", "256", "--lr", "1e-3", "--warmup", "30"]
FINETUNE_ARGS = ["--epochs", "3", "--batch-size", "256", "--lr", "3e-4", "--warmup", "10"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], logfile: Path) -> float:
    log("$ " + " ".join(cmd))
    t = time.perf_counter()
    with open(logfile, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}), see {logfile}")
    return round(time.perf_counter() - t, 1)


def stage_data(work: Path) -> dict:
    from dataset_builders.pictoworld import generate

    from odbench.training.synthetic import build_synthetic

    for name, seed, corr in (("pictoworld-corr0.9", 1, 0.9), ("pictoworld-corr0.0", 2, 0.0)):
        if not (work / name).is_dir():
            log(f"generating {name}")
            generate(work / name, seed=seed, n_images={"train": N_TRAIN}, correlation={"train": corr},
                     image_size=128, num_workers=2)
    report = work / "synthetic.json"
    if not report.is_file():
        log("building the synthetic training set")
        report.write_text(json.dumps(build_synthetic(work / "pictoworld-corr0.9", work / "synthetic"), indent=1))
    return json.loads(report.read_text())


class Evaluator:
    def __init__(self, results: Path):
        from odbench.data import load_benchmark

        self.results, self.benchmarks, self.load_benchmark = results, {}, load_benchmark

    def __call__(self, spec: str, name: str, dataset: str | None = None, args: dict | None = None) -> dict:
        from odbench import results as results_mod
        from odbench.encoders import load_encoder
        from odbench.evaluate import RunConfig, evaluate

        out = self.results / f"{name}.json"
        if not out.is_file():
            key = dataset or "odbench-picto"
            if key not in self.benchmarks:
                self.benchmarks[key] = self.load_benchmark(dataset)
            t = time.perf_counter()
            doc = evaluate(load_encoder(spec, args or {}), self.benchmarks[key], RunConfig(batch_size=64),
                           dataset_source=key)
            results_mod.save(doc, out, overwrite=True)
            log(f"evaluated {name} in {time.perf_counter() - t:.0f}s: odmap@10={doc['metrics']['odmap@10']:.4f} "
                f"cmap@10={doc['metrics']['cmap@10']:.4f} hr@5={doc['metrics']['hr@5']:.4f} "
                f"rsum={doc['metrics']['rsum']:.1f}")
        doc = json.loads(out.read_text())
        return {m: doc["metrics"][m] for m in METRICS}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="/tmp/odbench-study")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--skip-vit", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    work = Path(args.work)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    (work / "results").mkdir(exist_ok=True)
    log(f"train: {' '.join(TRAIN_ARGS)}; finetune: {' '.join(FINETUNE_ARGS)}")
    (work / "logs").mkdir(exist_ok=True)
    synthetic = stage_data(work)
    evaluate = Evaluator(work / "results")
    odb = [sys.executable, "-m", "odbench.cli.main"]
    common = ["--threads", str(args.threads)]
    walls = json.loads((work / "walltimes.json").read_text()) if (work / "walltimes.json").is_file() else {}
    table: dict[str, dict[int, dict]] = {}

    def train(name: str, cmd: list[str], run_dir: Path) -> str:
        weights = run_dir / "model.safetensors"
        if not weights.is_file():
            shutil.rmtree(run_dir, ignore_errors=True)
            walls[name] = run(cmd + common, work / "logs" / f"{name}.log")
            (work / "walltimes.json").write_text(json.dumps(walls, indent=1))
        return str(weights)

    exact = work / "odbench-picto-exact"
    for seed in args.seeds:
        runs = work / "runs"
        base = train(f"baseline-s{seed}", odb + ["train-reference", "--pictoworld", str(work / "pictoworld-corr0.9"),
                     "--output", str(runs / f"baseline-s{seed}"), "--seed", str(seed)] + TRAIN_ARGS,
                     runs / f"baseline-s{seed}")
        table.setdefault("baseline", {})[seed] = evaluate(f"odbench:{base}", f"baseline-s{seed}")
        mit = train(f"mitigated-s{seed}", odb + ["finetune", "--model", f"odbench:{base}", "--original",
                    str(work / "pictoworld-corr0.9"), "--synthetic", str(work / "synthetic"), "--mix", "0.5",
                    "--paired", "--save-dtype", "fp16", "--output", str(runs / f"mitigated-s{seed}"), "--seed", str(seed)]
                    + FINETUNE_ARGS, runs / f"mitigated-s{seed}")
        table.setdefault("mitigated", {})[seed] = evaluate(f"odbench:{mit}", f"mitigated-s{seed}")
        steps = json.loads((runs / f"mitigated-s{seed}" / "config.json").read_text())["plan"]["steps_per_epoch"]
        more = train(f"more-original-s{seed}", odb + ["finetune", "--model", f"odbench:{base}", "--original",
                     str(work / "pictoworld-corr0.9"), "--mix", "0", "--steps-per-epoch", str(steps),
                     "--save-dtype", "fp16", "--output", str(runs / f"more-original-s{seed}"), "--seed", str(seed)]
                     + FINETUNE_ARGS, runs / f"more-original-s{seed}")
        table.setdefault("baseline + original-only finetune", {})[seed] = evaluate(f"odbench:{more}",
                                                                                   f"more-original-s{seed}")
        unc = train(f"uncorrelated-s{seed}", odb + ["train-reference", "--pictoworld",
                    str(work / "pictoworld-corr0.0"), "--output", str(runs / f"uncorrelated-s{seed}"),
                    "--seed", str(seed)] + TRAIN_ARGS, runs / f"uncorrelated-s{seed}")
        table.setdefault("uncorrelated (corr 0.0)", {})[seed] = evaluate(f"odbench:{unc}", f"uncorrelated-s{seed}")
        if not exact.is_dir():
            log("building odbench-picto with the exact remover")
            from dataset_builders.embedded import build_picto

            build_picto(exact, inpainter="exact")
        table.setdefault("baseline, exact remover", {})[seed] = evaluate(f"odbench:{base}", f"baseline-exact-s{seed}",
                                                                         dataset=str(exact))
        table.setdefault("mitigated, exact remover", {})[seed] = evaluate(f"odbench:{mit}", f"mitigated-exact-s{seed}",
                                                                          dataset=str(exact))
        write_tables(work, table, walls, synthetic)
    if not args.skip_vit:
        table["random-init ViT-B-32"] = {0: evaluate("open_clip:ViT-B-32", "vit-b-32-untrained-s0",
                                                     args={"seed": "0"})}
    write_tables(work, table, walls, synthetic)
    return 0


def _fmt(values: list[float], metric: str) -> str:
    scale, digits = (1, 1) if metric == "rsum" else (1, 3)
    mean = statistics.fmean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def write_tables(work: Path, table: dict, walls: dict, synthetic: dict) -> None:
    cols = ("odmap_i2t@10", "odmap_t2i@10", "odmap@10", "cmap@10", "gap@10", "hr@5", "r_i2t@1", "r_t2i@1", "rsum")
    lines = ["| model | seeds | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for name, per_seed in table.items():
        vals = {m: [r[m] for r in per_seed.values()] for m in cols}
        lines.append(f"| {name} | {len(per_seed)} | " + " | ".join(_fmt(vals[m], m) for m in cols) + " |")
    lines += ["", "Per seed:", "", "| model | seed | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for name, per_seed in table.items():
        for seed, r in sorted(per_seed.items()):
            lines.append(f"| {name} | {seed} | " + " | ".join(_fmt([r[m]], m) for m in cols) + " |")
    (work / "table.md").write_text("\n".join(lines) + "\n")
    (work / "summary.json").write_text(json.dumps({"table": {k: {str(s): v for s, v in d.items()}
                                                            for k, d in table.items()},
                                                   "wall_times_s": walls, "synthetic": synthetic}, indent=1))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
