"""Validation of what an encoder returns, so that a broken model fails with a clear message
instead of producing silently wrong rankings."""
from __future__ import annotations

from typing import Literal

import torch

from odbench.errors import EncoderError

_METHOD = {"image": "encode_images", "text": "encode_texts"}
_OTHER = {"image": "text", "text": "image"}


def check_output(
    tensor: object,
    *,
    expected_count: int,
    model_name: str,
    what: Literal["image", "text"],
    expected_dim: int | None = None,
) -> torch.Tensor:
    """Check one batch of embeddings and return it as a detached float32 (or float64) tensor ``[n, d]``.

    ``expected_dim`` is the dimension of the other modality's embeddings, when already known:
    images and captions must live in the same space to be compared.
    """
    if what not in _METHOD:
        raise ValueError(f"what must be 'image' or 'text', not {what!r}")
    where = f"model {model_name}: {_METHOD[what]}"
    if not isinstance(tensor, torch.Tensor):
        raise EncoderError(f"{where} returned {type(tensor).__name__}, expected a torch.Tensor [n, d]")
    if tensor.ndim != 2:
        raise EncoderError(
            f"{where} returned a tensor of shape {tuple(tensor.shape)}, expected 2 dimensions [n, d]"
        )
    n, d = tensor.shape
    if n != expected_count:
        raise EncoderError(
            f"{where} returned {n} embeddings for {expected_count} inputs (shape {tuple(tensor.shape)})"
        )
    if d == 0:
        raise EncoderError(f"{where} returned embeddings of dimension 0")
    # Integer outputs usually mean token ids or argmax leaked out: refuse instead of casting.
    if not tensor.is_floating_point():
        raise EncoderError(f"{where} returned dtype {tensor.dtype}, expected a floating-point tensor")
    if expected_dim is not None and d != expected_dim:
        raise EncoderError(
            f"{where} returned embeddings of dimension {d}, but the {_OTHER[what]} embeddings have "
            f"dimension {expected_dim}; both must be in one shared space"
        )
    bad = int((~torch.isfinite(tensor)).sum())
    if bad:
        rows = int((~torch.isfinite(tensor)).any(dim=1).sum())
        raise EncoderError(
            f"{where} returned {bad} non-finite value(s) (NaN or inf) in {rows} of {n} embeddings"
        )
    # float64 stays float64 until normalised: huge values would overflow a float32 cast
    return tensor.detach() if tensor.dtype == torch.float64 else tensor.detach().to(torch.float32)
