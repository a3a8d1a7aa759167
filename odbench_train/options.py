"""Options and checks shared by the training subcommands, `odbench train-reference` and `odbench finetune`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from odbench.cli.common import resolve_device
from odbench.distributed import init_from_environment, is_main
from odbench.errors import ODBenchError

from .data_parallel import check_batch_size


def add_loop_arguments(p: argparse.ArgumentParser, *, lr: float, epochs: float, batch_size: int,
                       warmup: int) -> None:
    p.add_argument("--output", required=True, help="run folder: checkpoint.pt, loss.jsonl, model.safetensors")
    p.add_argument("--epochs", type=float, default=epochs, help=f"epochs (fractions allowed; default {epochs})")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="override the epoch length in steps (e.g. to match another run's steps)")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help=f"peak learning rate (AdamW, cosine; default {lr})")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=warmup, help="linear warm-up steps")
    p.add_argument("--seed", type=int, default=0, help="batch order, caption choice (and init when training)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--no-amp", action="store_true", help="fp32 on CUDA too (AMP is on by default on CUDA)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop after this many steps (the schedule is unchanged; --resume continues)")
    p.add_argument("--resume", action="store_true", help="continue the run in --output from its checkpoint")


def check_loop_arguments(args: argparse.Namespace) -> str:
    """Check the options the loop shares, apply --threads and, under torchrun, join the process
    group; return this process's device."""
    import torch

    if args.batch_size < 2:
        raise ODBenchError("--batch-size must be at least 2 (contrastive loss)")
    check_batch_size(args.batch_size)   # before joining: a wrong launch fails at once
    if args.epochs <= 0:
        raise ODBenchError("--epochs must be positive")
    if args.lr <= 0:
        raise ODBenchError("--lr must be positive")
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ODBenchError(f"--output {out} is a file, not a folder")
    if args.resume and not (out / "checkpoint.pt").is_file():
        raise ODBenchError(f"--resume: no checkpoint.pt in {out}")
    return init_from_environment(device)


def report(result: dict) -> None:
    if is_main():    # one run, one report
        print(json.dumps(result, indent=2))
