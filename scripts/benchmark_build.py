"""Throughput of the sharded test-split builder (issue 22). Prints figures measured in this run,
each with the machine's load average (os.getloadavg) at the time; asserts nothing.

    python scripts/benchmark_build.py                          # 1,000 / 5,000 / 20,000 sources
    python scripts/benchmark_build.py --sizes 1000 5000 --diffusers-sources 40

For each size: a PictoWorld world (2,000 training scenes for the pairs, N test scenes, COCO
format, 64 px) is built with the telea inpainter, every stage in its own process so that its
peak memory (VmHWM) is its own:
  plan   read the COCO files, pair statistics, eligibility, caption edits, controls, shuffle
  edit   inpaint every chosen edit: one process (shard 0 of 1), then two processes at once
         (shards 0 and 1 of 2, as a job array runs them) from the same plan
  merge  parquet folder from the plan and the parts, with the writer's own content hashes
  hash   verify the written folder's content hash as a loader does
The two-process build is merged too, and its dataset hash must equal the one-process build's.
Then a tiny random diffusers inpainting pipeline (tests/tiny_inpainting_model.py) on a few
sources, one process. Last, an extrapolation to COCO train (118,000 sources) from each
inpainter's measured time per edit and the measured edits per source: PictoWorld's 64 px
scenes are far smaller than COCO's photos, so it is a lower bound for telea, and the tiny
pipeline says nothing of a real model's time: it shows how the build's time scales.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COCO_TRAIN = 118_000
SELECTION = ["--min-support", "50", "--min-npmi", "0.5", "--min-conditional", "0.5"]   # the embedded recipe's


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss keeps
    the parent's high-water mark across fork and exec, so it would report the driver's)."""
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ one stage, in its own process
def _config(args: argparse.Namespace):
    from dataset_builders.inpainters import get_inpainter
    from dataset_builders.pair_stats import PairSelection
    from dataset_builders.test_split import TestSplitConfig

    inpainter = "telea" if args.inpainter == "telea" else get_inpainter("diffusers", weights=args.weights,
                                                                          steps=args.steps)
    return TestSplitConfig(name="bench", version="1.0.0", selection=PairSelection(50, 0.5, 0.5),
                           caption_style="exhaustive", check=False, num_workers=1, inpainter=inpainter)


def stage(args: argparse.Namespace) -> dict:
    from dataset_builders.build_plan import prepare, read_plan, run_shard
    from dataset_builders.embedded import CITATION, read_pictoworld
    from dataset_builders.hf_folder import DatasetCard, verify_dataset_folder
    from dataset_builders.test_split_plan import KIND, ROW_CONFIGS, merge_test_split, plan_test_split, render_test_unit

    work, started, out = Path(args.work), time.perf_counter(), {}
    if args.stage == "plan":
        config = _config(args)
        card = DatasetCard(name="bench", version="1.0.0", license="cc-by-sa-4.0", citation=CITATION, description="b")
        train, test = read_pictoworld(args.world, "train"), read_pictoworld(args.world, "test")
        plan = prepare(work, lambda w: plan_test_split(w, train, test, config, card), KIND, ROW_CONFIGS,
                       shard=0, shards=1, resume=False, overwrite=False)
        rows = sum(1 for _ in plan.iter_rows("images"))
        out = {"units": plan.units, "edits": rows - len(test.images), "sources": len(test.images)}
    elif args.stage == "edit":
        plan = read_plan(work)
        with open(os.devnull, "w") as quiet:
            out = run_shard(work, plan, partial(render_test_unit, config=_config(args)), shard=args.shard,
                            shards=args.shards, log=quiet)
    elif args.stage == "merge":
        info, _ = merge_test_split(work, read_plan(work), Path(args.out), check=False)
        out = {"dataset_hash": info.dataset_hash}
    elif args.stage == "hash":
        out = {"dataset_hash": verify_dataset_folder(args.out)["dataset_hash"]}
    out["seconds"] = time.perf_counter() - started
    out["peak_mb"] = peak_rss_mb()
    return out


def run_stage(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, __file__, "_stage", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(*procs: subprocess.Popen) -> list[dict]:
    results = []
    for p in procs:
        stdout, stderr = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a stage failed (exit {p.returncode}):\n{stderr[-3000:]}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


# ------------------------------------------------------------------------------------ driver
def world(folder: Path, n_test: int, n_train: int, size: int) -> Path:
    from dataset_builders.pictoworld import generate

    generate(folder, seed=0, n_images={"train": n_train, "test": n_test}, correlation={"train": 0.9, "test": 0.8},
             pair_rate={"train": 0.08, "test": 0.12}, image_size=size, num_workers=2)
    return folder


def line(label: str, r: dict, extra: str = "") -> None:
    print(f"  {label:<28} {r['seconds']:8.1f} s  peak {r['peak_mb']:6.0f} MB  {extra}  [{r['load']}]", flush=True)


def bench_size(tmp: Path, n: int, args: argparse.Namespace, inpainter: list[str]) -> dict:
    root = world(tmp / f"world-{n}", n, args.train, args.image_size)
    work, common = tmp / f"work-{n}", ["--world", str(root), *inpainter]
    print(f"\n{n} sources ({args.image_size} px), {inpainter[1]}; world generated  [{load()}]", flush=True)
    res = {}
    for name, argv in (("plan", ["plan"]), ("edit1", ["edit", "--shard", "0", "--shards", "1"])):
        (res[name],) = finish(run_stage(*argv, "--work", str(work), *common))
        res[name]["load"] = load()
    procs = [run_stage("edit", "--shard", str(i), "--shards", "2", "--work", str(work), *common) for i in (0, 1)]
    started = time.perf_counter()
    two = finish(*procs)
    res["edit2"] = {"seconds": time.perf_counter() - started, "peak_mb": max(r["peak_mb"] for r in two),
                    "images_edited": sum(r["images_edited"] for r in two), "load": load()}
    keep = tmp / f"two-{n}"
    keep.mkdir()
    for i in (0, 1):                     # merge the one-process parts first, then the two-process ones
        shutil.move(str(work / f"shard-{i}-of-2"), keep / f"shard-{i}-of-2")
    (res["merge"],) = finish(run_stage("merge", "--work", str(work), "--out", str(tmp / f"out-{n}"), *common))
    res["merge"]["load"] = load()
    (res["hash"],) = finish(run_stage("hash", "--work", str(work), "--out", str(tmp / f"out-{n}"), *common))
    res["hash"]["load"] = load()
    shutil.rmtree(work / "shard-0-of-1")
    for i in (0, 1):
        shutil.move(str(keep / f"shard-{i}-of-2"), work / f"shard-{i}-of-2")
    (merged2,) = finish(run_stage("merge", "--work", str(work), "--out", str(tmp / f"out2-{n}"), *common))

    p, e1, e2 = res["plan"], res["edit1"], res["edit2"]
    edits = e1["images_edited"]
    line("plan", p, f"{p['sources']} sources, {p['units']} with edits, {p['edits']} edits")
    line("edit, 1 process", e1, f"{edits / e1['seconds']:.1f} edits/s per process")
    line("edit, 2 processes", e2, f"{e2['images_edited'] / e2['seconds'] / 2:.1f} edits/s per process, "
                                  f"speed-up {e1['seconds'] / e2['seconds']:.2f}x")
    line("merge (write + own hashes)", res["merge"])
    line("hash (verify the folder)", res["hash"])
    one = p["seconds"] + e1["seconds"] + res["merge"]["seconds"]
    both = p["seconds"] + e2["seconds"] + res["merge"]["seconds"]
    same = merged2["dataset_hash"] == res["merge"]["dataset_hash"] == res["hash"]["dataset_hash"]
    print(f"  build plan+edit+merge: 1 process {one:.1f} s, 2 processes {both:.1f} s (speed-up {one / both:.2f}x); "
          f"plan = {100 * p['seconds'] / one:.1f}% of the one-process build; 2-process dataset hash "
          f"{'identical' if same else 'DIFFERENT'} ({res['merge']['dataset_hash'][:16]})  [{load()}]", flush=True)
    shutil.rmtree(root)
    return {"n": n, "per_edit_s": e1["seconds"] / max(edits, 1), "edits_per_source": edits / n, "res": res}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_stage":
        p = argparse.ArgumentParser()
        p.add_argument("stage")
        for flag in ("--world", "--work", "--out", "--inpainter", "--weights"):
            p.add_argument(flag, default=None)
        p.add_argument("--steps", type=int, default=30)
        p.add_argument("--shard", type=int, default=0)
        p.add_argument("--shards", type=int, default=1)
        print(json.dumps(stage(p.parse_args(sys.argv[2:]))))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000], help="test sources per world")
    p.add_argument("--train", type=int, default=2000, help="training scenes (for the pair statistics)")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--diffusers-sources", type=int, default=100, help="0 skips the diffusers run")
    p.add_argument("--diffusers-steps", type=int, default=30)
    args = p.parse_args()
    print(f"benchmark_build: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}  [{load()}]")
    per_edit = {}
    with tempfile.TemporaryDirectory(prefix="odbench-bench-build-") as tmp:
        tmp = Path(tmp)
        runs = [bench_size(tmp, n, args, ["--inpainter", "telea"]) for n in args.sizes]
        per_edit["telea"] = runs[-1]
        if len(runs) > 1:
            lo, hi = runs[0], runs[-1]
            for st in ("plan", "edit1", "merge", "hash"):
                a, b = lo["res"][st]["peak_mb"], hi["res"][st]["peak_mb"]
                print(f"peak memory of {st}: {a:.0f} MB at {lo['n']} sources, {b:.0f} MB at {hi['n']} "
                      f"({100 * (b / a - 1):+.0f}%)")
        if args.diffusers_sources:
            sys.path.insert(0, str(ROOT / "tests"))
            from tiny_inpainting_model import save_tiny_inpainting_pipeline

            weights = save_tiny_inpainting_pipeline(tmp)
            per_edit["diffusers (tiny, random)"] = bench_size(
                tmp, args.diffusers_sources, args,
                ["--inpainter", "diffusers", "--weights", str(weights), "--steps", str(args.diffusers_steps)])
    print(f"\nextrapolation to COCO train ({COCO_TRAIN:,} sources), from the measured time per edit and edits "
          f"per source (PictoWorld {args.image_size} px; COCO photos are ~640x480):")
    for name, r in per_edit.items():
        total = COCO_TRAIN * r["edits_per_source"] * r["per_edit_s"]
        print(f"  {name:<26} {1000 * r['per_edit_s']:8.2f} ms/edit x {r['edits_per_source']:.2f} edits/source: "
              f"{total / 3600:8.2f} h in 1 process, {total / 3600 / 8:.2f} h on 8 processes at linear scaling")


if __name__ == "__main__":
    main()
