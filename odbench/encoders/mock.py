"""A deterministic, weightless encoder for smoke tests (``--model mock:random``).

Images: down-sampled pixels times a seeded random projection. Texts: the sum of one seeded
random vector per word (a bag of words). Identical inputs give identical embeddings in every
process and on every run, so harness outputs (rankings, hashes) can be compared exactly.
Retrieval quality is at chance level: it tests the plumbing, not a model.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
import torch
from PIL import Image

_WORD = re.compile(r"[a-z0-9]+")


class MockPreprocess:
    """PIL image -> float tensor [3, size, size] in [0, 1]; a module-level class so it pickles
    into DataLoader workers."""

    def __init__(self, size: int = 16):
        self.size = size

    def __call__(self, image: Image.Image) -> torch.Tensor:
        small = image.convert("RGB").resize((self.size, self.size), Image.Resampling.BILINEAR)
        pixels = np.asarray(small, dtype=np.float32) / 255.0
        return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def _seeded_normal(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    # SHA-256 of the key, not hash(): str hashes differ between Python processes.
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


class MockEncoder:
    """Deterministic random-projection encoder. Not an ``nn.Module``: nothing to train or move.

    ``with_preprocess=False`` drops ``preprocess`` so the harness's PIL-list path gets exercised
    (``encode_images`` then receives a list of PIL images).
    """

    weights_hash: str | None = None
    num_parameters: int | None = 0
    untrained = True  # it has no weights at all

    def __init__(self, dim: int = 64, image_size: int = 16, seed: int = 0, with_preprocess: bool = True):
        if dim < 1 or image_size < 1:
            raise ValueError("dim and image_size must be positive")
        self.dim, self.seed = dim, seed
        self.name = f"mock:random(dim={dim},seed={seed})"
        self._to_tensor = MockPreprocess(image_size)
        self.preprocess = self._to_tensor if with_preprocess else None
        self._image_projection = _seeded_normal(f"{seed}:image", (3 * image_size * image_size, dim))
        self._word_vectors: dict[str, torch.Tensor] = {}

    def encode_images(self, batch: torch.Tensor | list[Image.Image]) -> torch.Tensor:
        if isinstance(batch, (list, tuple)):  # no preprocess: PIL images
            batch = torch.stack([self._to_tensor(image) for image in batch])
        flat = batch.reshape(batch.shape[0], -1).to(torch.float32) - 0.5  # centre the pixels
        return flat @ self._image_projection.to(flat.device)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        rows = [self._text_vector(text) for text in texts]
        return torch.stack(rows) if rows else torch.zeros(0, self.dim)

    def _text_vector(self, text: str) -> torch.Tensor:
        # Sorted, so that float summation order (hence the bits) ignores word order.
        words = sorted(_WORD.findall(text.lower())) or ["<empty>"]  # never a zero vector
        return torch.stack([self._word(w) for w in words]).sum(dim=0)

    def _word(self, word: str) -> torch.Tensor:
        vector = self._word_vectors.get(word)
        if vector is None:
            vector = self._word_vectors[word] = _seeded_normal(f"{self.seed}:word:{word}", (self.dim,))
        return vector
