"""A tiny image-text model in MTEB's registry, loaded through MTEB's own CLIP wrapper
(`mteb.models.model_implementations.clip_models.CLIPModel`, which calls transformers'
`from_pretrained` on the name): the name is a local save_pretrained folder (tiny_hf_clip.py),
so nothing is downloaded. Needs odbench[mteb] and odbench[hf]."""
from __future__ import annotations

from pathlib import Path

TINY_REVISION = "0123456789abcdef0123456789abcdef01234567"
TINY_TRAINING = {"MSCOCOI2TRetrieval", "MSCOCOT2IRetrieval"}


def register_tiny_clip(monkeypatch, folder: Path, **overrides) -> str:
    """Put a ModelMeta for the CLIP checkpoint in `folder` into MTEB's registry (undone by
    `monkeypatch` after the test); returns the name to use after `mteb:`."""
    from mteb.models.model_implementations import MODEL_REGISTRY
    from mteb.models.model_implementations.clip_models import CLIPModel
    from mteb.models.model_meta import ModelMeta

    name = str(folder)
    fields = {"loader": CLIPModel, "name": name, "revision": TINY_REVISION, "release_date": "2026-01-01",
              "modalities": ["image", "text"], "n_parameters": 16897, "training_datasets": set(TINY_TRAINING),
              "framework": ["PyTorch"], "similarity_fn_name": "cosine", **overrides}
    monkeypatch.setitem(MODEL_REGISTRY, name, ModelMeta.create_empty(fields))
    return name
