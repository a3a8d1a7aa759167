"""One training run shared by the processes torchrun starts (`torchrun --nproc-per-node N -m
odbench.cli.main finetune ...`): distributed data parallel on one global batch.

Every rank builds the same global batch of `--batch-size` rows (same seed, same plan, so the
recipe means what it means in one process), encodes its own contiguous slice of it, and the
contrastive loss is taken over the whole global batch: open_clip's `ClipLoss` with
`gather_with_grad=True, local_loss=False` gathers every rank's features with their gradients,
so every rank computes the one-process loss, and DDP's gradient average is its gradient.
Outside torchrun every function here is the one-process case, and training is unchanged.
"""
from __future__ import annotations

import torch

from odbench.distributed import launched_size, world
from odbench.errors import ODBenchError


class Towers(torch.nn.Module):
    """An open_clip model's two towers and temperature as one forward: DDP synchronises the
    gradients of what runs through `forward`, not of `encode_image` called beside it."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (self.model.encode_image(images, normalize=True), self.model.encode_text(tokens, normalize=True),
                self.model.logit_scale.exp())


def check_batch_size(batch_size: int, size: int | None = None) -> None:
    """A global batch splits into equal slices, one per process (`size`: torchrun's WORLD_SIZE)."""
    size = launched_size() if size is None else size
    if batch_size % size:
        raise ODBenchError(f"--batch-size {batch_size} is not divisible by the {size} processes torchrun "
                           f"started; every process takes an equal slice of the global batch")


def rank_rows(batch_size: int) -> range:
    """This rank's rows of the global batch (all of them in one process)."""
    rank, size = world()
    check_batch_size(batch_size, size)
    part = batch_size // size
    return range(rank * part, (rank + 1) * part)


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`Towers(model)`, under DDP when there are several processes (DDP also broadcasts rank 0's
    weights, so every rank starts from the same model)."""
    towers = Towers(model)
    if world()[1] == 1:
        return towers
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(towers, device_ids=[device.index] if device.type == "cuda" else None)


def contrastive_loss() -> torch.nn.Module:
    """open_clip's ClipLoss over the global batch (the plain one-process loss in one process)."""
    from open_clip.loss import ClipLoss

    rank, size = world()
    if size == 1:
        return ClipLoss()
    return ClipLoss(local_loss=False, gather_with_grad=True, rank=rank, world_size=size)
