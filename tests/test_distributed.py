"""Several processes, one evaluation (torchrun): the same result as one process, bit for bit."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import torch.distributed as dist
import torch.multiprocessing as mp

from odbench import distributed
from odbench.cli.eval import main as odbench_eval


def test_each_rank_gets_whole_units_and_together_all_items():
    parts = [distributed.share(10, 4, rank, 3) for rank in range(3)]
    assert parts == [range(0, 4), range(4, 8), range(8, 10)]
    assert [distributed.share(3, 4, rank, 2) for rank in range(2)] == [range(0, 0), range(0, 3)]
    assert distributed.share(7, 2) == range(0, 7)            # one process: everything


def _evaluate_as(rank: int, size: int, rendezvous: str, dataset: str, out: str) -> None:
    from odbench.data import load_benchmark
    from odbench.evaluate import build_encoder, evaluate
    from odbench.queries import build_query_sets
    from odbench.run_config import RunConfig

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=size)
    try:
        benchmark = load_benchmark(dataset)
        # chunks of 2 queries and batches of 3 items: every direction is split between the ranks
        config = RunConfig(batch_size=3, chunk_size=2)
        doc = evaluate(build_encoder("mock:random"), benchmark, build_query_sets(benchmark), config,
                       dataset_source="tiny")
        with open(f"{out}.{rank}", "w") as f:
            json.dump(doc.rankings, f)
    finally:
        dist.destroy_process_group()


def test_two_processes_rank_exactly_as_one(dataset, tmp_path):
    mp.spawn(_evaluate_as, args=(2, str(tmp_path / "rendezvous"), str(dataset), str(tmp_path / "r")), nprocs=2)
    from odbench.data import load_benchmark
    from odbench.evaluate import build_encoder, evaluate
    from odbench.queries import build_query_sets
    from odbench.run_config import RunConfig

    benchmark = load_benchmark(dataset)
    single = evaluate(build_encoder("mock:random"), benchmark, build_query_sets(benchmark), RunConfig(),
                      dataset_source="tiny")
    for rank in (0, 1):
        assert json.loads((tmp_path / f"r.{rank}").read_text()) == single.rankings


def test_torchrun_writes_one_result_identical_to_one_process(dataset, tmp_path):
    args = ["--model", "open_clip:odbench-tiny", "--seed", "3", "--dataset", str(dataset), "--batch-size", "2",
            "--device", "cpu", "--no-cache"]
    assert odbench_eval([*args, "--output", str(tmp_path / "one.json")]) == 0
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "odbench.cli.eval", *args, "--output", str(tmp_path / "two.json")],
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("wrote ") == 1                   # rank 0 alone writes and reports
    one, two = (json.loads((tmp_path / name).read_text()) for name in ("one.json", "two.json"))
    assert two["rankings_sha256"] == one["rankings_sha256"]
    assert two["metrics"] == one["metrics"]
