"""Several processes, one training run (`torchrun --nproc-per-node N -m odbench.cli.main finetune`).

DDP averages gradients with an all-reduce and the loss is taken over features gathered from
every rank, so float sums run in another order than in one process: the weights come out close
to one process's, not bit-identical.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from odbench.cli.main import main

CLOSE = 1e-4   # max abs weight difference allowed after 4 steps (measured: about 6e-6)


def _finetune_args(pictoworld: Path, synthetic: Path) -> list[str]:
    # 4 steps of 8 pairs, 2 of them synthetic: each of 2 ranks takes 4 rows of every global batch
    return ["finetune", "--model", "odbench:baseline", "--original", str(pictoworld), "--synthetic", str(synthetic),
            "--mix", "0.25", "--batch-size", "8", "--epochs", "0.5", "--seed", "3", "--checkpoint-every", "2",
            "--threads", "1"]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "odbench.cli.main", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})


def _max_difference(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    x, y = load_file(str(a)), load_file(str(b))
    assert x.keys() == y.keys()
    return max((x[k].double() - y[k].double()).abs().max().item() for k in x)


def test_torchrun_finetune_trains_the_one_process_model_and_resumes(pictoworld, synthetic, tmp_path):
    args = _finetune_args(pictoworld, synthetic)
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*args, "--output", str(one)]) == 0
    # Under torchrun, stopped after 2 of the 4 steps and resumed.
    for extra in (["--max-steps", "2"], ["--resume"]):
        run = _torchrun(*args, "--output", str(two), *extra)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.count('"total_steps"') == 1          # one report, rank 0's
    assert sorted(p.name for p in two.iterdir()) == ["checkpoint.pt", "config.json", "loss.jsonl", "model.safetensors"]
    logged = [[json.loads(line) for line in (run / "loss.jsonl").read_text().splitlines()] for run in (one, two)]
    assert [s["step"] for s in logged[1]] == [1, 2, 3, 4]     # every step once: one writer
    # Every rank computes the loss of the whole global batch, the one-process loss.
    assert [s["loss"] for s in logged[1]] == pytest.approx([s["loss"] for s in logged[0]], abs=1e-5)
    assert _max_difference(one / "model.safetensors", two / "model.safetensors") < CLOSE


def _finetune_as(rank: int, size: int, port: int, argv: list[str], writes: str) -> None:
    """One rank as torchrun starts it (its environment variables), recording what it writes
    under --output: files opened for writing, renames (the atomic saves) and new folders."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(size), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    output = os.path.realpath(argv[argv.index("--output") + 1])
    seen: list[str] = []

    def audit(event: str, args: tuple) -> None:
        mode = args[1] if event == "open" else None
        writing = (event == "open" and isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            event in ("os.rename", "os.mkdir")
        if writing and isinstance(args[0], (str, os.PathLike)) and \
                os.path.realpath(args[0]).startswith(output):
            seen.append(f"{event} {os.path.basename(args[0])}")

    sys.addaudithook(audit)                      # for this spawned process only
    try:
        assert main(argv) == 0
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    Path(f"{writes}.{rank}").write_text(json.dumps(seen))


def test_only_rank_0_writes_the_run_folder(pictoworld, synthetic, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [*_finetune_args(pictoworld, synthetic), "--max-steps", "2", "--output", str(tmp_path / "run")]
    mp.spawn(_finetune_as, args=(2, port, argv, str(tmp_path / "writes")), nprocs=2)
    writes = [json.loads((tmp_path / f"writes.{rank}").read_text()) for rank in (0, 1)]
    assert "open loss.jsonl" in writes[0] and "os.rename .checkpoint.pt.tmp" in writes[0]
    assert writes[1] == []


def test_each_rank_encodes_its_slice_of_the_same_global_batch(pictoworld, synthetic, tmp_path):
    from odbench.encoders import load_encoder
    from odbench_train.data import coco_pairs, hf_pairs
    from odbench_train.loop import TrainConfig, Trainer

    enc = load_encoder("open_clip:odbench-tiny").encoder
    trainer = Trainer(enc.model, enc.preprocess, enc.tokenizer, [coco_pairs(pictoworld), hf_pairs(synthetic)],
                      tmp_path, TrainConfig(batch_size=8, mix=0.25))
    images, texts = trainer.batch(5)                               # 6 original pairs, then 2 synthetic
    first, second = trainer.batch(5, range(0, 4)), trainer.batch(5, range(4, 8))
    assert torch.equal(torch.cat([first[0], second[0]]), images)
    assert first[1] + second[1] == texts
    # The mix is that of the global batch: here the synthetic pairs fall in rank 1's half.
    assert [t.endswith("frisbee nearby.") for t in texts] == [False] * 6 + [True] * 2


@pytest.mark.parametrize("command", ["finetune", "train-reference"])
def test_global_batch_must_divide_among_the_processes(command, pictoworld, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")    # as `torchrun --nproc-per-node 2` sets it
    data = ["--model", "odbench:baseline", "--original"] if command == "finetune" else ["--pictoworld"]
    argv = [command, *data, str(pictoworld), "--batch-size", "9", "--output", str(tmp_path / "run")]
    assert main(argv + (["--mix", "0"] if command == "finetune" else [])) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--batch-size 9" in err and "2 processes" in err and "\n" not in err, err
    assert not (tmp_path / "run").exists()
