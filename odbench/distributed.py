"""One evaluation shared by several processes (`torchrun --nproc-per-node N -m odbench.cli.eval`).

Work is split on whole batches (encoding) and whole query chunks (ranking), so that every
embedding and every score is computed in exactly the batch or chunk one process would compute
it in: on one device type the gathered result is bit-identical to a single process's. Without
an initialised process group every function here is the one-process case.
"""
from __future__ import annotations

import os
from typing import Any

import torch


def world() -> tuple[int, int]:
    """(rank, number of processes); (0, 1) outside torchrun."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return world()[0] == 0


def launched_size() -> int:
    """The number of processes torchrun started (WORLD_SIZE), known before the group is joined;
    1 outside torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_environment(device: str) -> str:
    """Join the process group torchrun describes (WORLD_SIZE > 1 in the environment) and return
    this process's device: cuda:LOCAL_RANK for CUDA, with NCCL; the CPU with gloo."""
    if launched_size() <= 1:
        return device
    import torch.distributed as dist

    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return device


def barrier() -> None:
    """Wait until every rank is here (nothing to wait for in one process)."""
    if world()[1] > 1:
        import torch.distributed as dist

        dist.barrier()


def share(n: int, unit: int, rank: int | None = None, size: int | None = None) -> range:
    """This rank's contiguous part of `n` items, cut only at multiples of `unit`."""
    if rank is None or size is None:
        rank, size = world()
    blocks = -(-n // unit)
    return range(min(n, blocks * rank // size * unit), min(n, blocks * (rank + 1) // size * unit))


def _transport_device() -> torch.device:
    import torch.distributed as dist

    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def gather_rows(part: torch.Tensor) -> torch.Tensor:
    """Every rank's rows concatenated in rank order, on every rank (the parts may differ in
    length, and be empty)."""
    rank, size = world()
    if size == 1:
        return part
    import torch.distributed as dist

    shapes: list[Any] = [None] * size
    dist.all_gather_object(shapes, (tuple(part.shape), part.dtype))
    width = next((s[1:] for s, _ in shapes if s[0] > 0), tuple(part.shape[1:]))
    longest = max(s[0] for s, _ in shapes)
    device = _transport_device()
    padded = torch.zeros((longest, *width), dtype=shapes[0][1], device=device)
    if part.shape[0]:
        padded[:part.shape[0]] = part.to(device)
    out = [torch.empty_like(padded) for _ in range(size)]
    dist.all_gather(out, padded)
    return torch.cat([o[:s[0]] for o, (s, _) in zip(out, shapes, strict=True)]).cpu()


def broadcast(value: Any) -> Any:
    """Rank 0's `value` on every rank."""
    if world()[1] == 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(part: list) -> list:
    """Every rank's list concatenated in rank order, on every rank."""
    size = world()[1]
    if size == 1:
        return part
    import torch.distributed as dist

    parts: list[Any] = [None] * size
    dist.all_gather_object(parts, part)
    return [x for p in parts for x in p]
