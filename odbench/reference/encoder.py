"""``odbench:baseline``, ``odbench:mitigated`` and ``odbench:PATH``: the reference CLIP as an encoder."""
from __future__ import annotations

from pathlib import Path

from odbench.encoders.open_clip_adapter import OpenCLIPEncoder
from odbench.encoders.open_clip_configs import register_model_config
from odbench.errors import EncoderError

from . import REFERENCE_ARCH, REFERENCE_CONFIG, REFERENCE_MODELS, weights_path

# `odbench-ref` becomes an architecture open_clip (and OpenCLIPEncoder) knows.
register_model_config(REFERENCE_ARCH, REFERENCE_CONFIG)


def untrained_reference(seed: int, arch: str = REFERENCE_ARCH) -> OpenCLIPEncoder:
    """The reference architecture (or another registered `arch`) with random weights drawn
    from `seed`: what `odbench train-reference` trains."""
    return OpenCLIPEncoder(arch, seed=seed)


def resolve_weights(weights: str) -> Path:
    if weights in REFERENCE_MODELS:
        path = weights_path(weights)
        if not path.is_file():
            raise EncoderError(
                f"odbench:{weights}: the packaged weights {path} are missing (a source checkout "
                f"without them, or a partial install); rebuild them with "
                f"`python scripts/reference_experiments.py` (see docs/reference-study.md).")
        return path
    path = Path(weights).expanduser()
    if not path.is_file():
        raise EncoderError(f"odbench:{weights}: neither a reference model "
                           f"({', '.join(REFERENCE_MODELS)}) nor an existing weights file")
    return path


class ReferenceEncoder(OpenCLIPEncoder):
    """The reference architecture with packaged (or given) weights."""

    def __init__(self, weights: str = "baseline", device: str = "cpu", precision: str = "fp32"):
        path = resolve_weights(weights)
        super().__init__(REFERENCE_ARCH, pretrained=str(path), device=device, precision=precision)
        self.name = f"odbench:{weights}"
