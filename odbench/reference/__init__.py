"""ODBench's reference CLIP models (PictoWorld): architecture and packaged weights.

- ``REFERENCE_ARCH`` / ``REFERENCE_CONFIG``: a small open_clip configuration that trains on a
  2-core CPU (64 px ViT, narrow text transformer, open_clip's default tokenizer).
- ``weights_path(name)``: the packaged weights of ``odbench:baseline`` (trained from scratch on
  correlated PictoWorld data by ``odbench train-reference``) and ``odbench:mitigated``
  (baseline finetuned on the synthetic decorrelated set by ``odbench finetune``).

This module imports neither torch nor open_clip; ``odbench.reference.encoder`` does.

Size: open_clip's tokenizer has 49408 tokens, so the token embedding dominates the model
(49408 x 64 = 3.2 M of 3.6 M parameters). The weights are stored in fp16 (7.3 MB, under the
10 MB per file limit) and loaded into an fp32 model; the numbers in the documentation
(docs/reference-study.md) are measured on exactly these fp16-rounded weights.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

REFERENCE_ARCH = "odbench-ref"
REFERENCE_CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 3, "width": 96, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 48, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
WEIGHTS_DIR = Path(__file__).parent / "weights"
REFERENCE_MODELS = {
    "baseline": "trained from scratch on PictoWorld with pair co-occurrence 0.9",
    "mitigated": "baseline finetuned on a 50/50 mix of original and synthetic decorrelated pairs",
}


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.safetensors"
