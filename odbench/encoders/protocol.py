'''The contract between ODBench and a model: the ``Encoder`` protocol.

An encoder is any object with two methods. ODBench does not care how it is built, only that
it turns images and captions into vectors of one shared embedding space:

``encode_images(batch) -> torch.Tensor``  of shape ``[n, d]``
    ``batch`` is whatever the encoder's ``preprocess`` returns, stacked by PyTorch's default
    collate: usually a float tensor ``[n, 3, H, W]``, already on the evaluation device. An
    encoder without ``preprocess`` (or with ``preprocess = None``) receives a plain
    ``list`` of ``n`` RGB ``PIL.Image.Image`` objects instead.

``encode_texts(texts: list[str]) -> torch.Tensor``  of shape ``[n, d]``
    Tokenise inside; put the tokens on the model's device yourself.

Both must return floating-point, finite values, one row per input, with the same ``d`` for
images and texts. The harness checks every batch (``odbench.encoders.checks``) and stops with
a message naming the model and the problem. Embeddings need not be normalised: the harness
L2-normalises them and ranks by cosine similarity.

Optional attributes, looked up with ``getattr(encoder, name, None)``:

``preprocess: Callable[[PIL.Image.Image], torch.Tensor]``
    Per-image transform (decode -> resize -> tensor). The harness runs it in DataLoader worker
    processes so that image decoding overlaps with the model, hence it must be picklable: a
    torchvision ``Compose``, a module-level function or a module-level class instance; not a
    lambda or a closure.
``name: str``
    Human-readable model name for tables; defaults to the ``--model`` string.
``weights_hash: str | None``
    SHA-256 identifying the weights. If absent and the encoder is a ``torch.nn.Module``, the
    loader hashes its ``state_dict`` (see ``odbench.encoders.loader.state_dict_sha256``).
``num_parameters: int | None``
    Parameter count; if absent, counted from an ``nn.Module``.
``untrained: bool``
    True for a randomly initialised model; the result document then says "untrained".
``revision: str | None``
    The hub commit the weights were loaded from (the ``hf:`` adapter sets it); recorded as the
    result's ``model.revision``.

If the encoder is a ``torch.nn.Module`` (anything with ``.to`` / ``.eval``), the harness calls
``encoder.to(device)`` and ``encoder.eval()`` and runs the encode methods under
``torch.no_grad()`` (plus autocast when a lower precision is requested).

Complete example: save as ``my_encoder.py``, then smoke-test and evaluate it::

    import zlib

    import torch
    from torchvision import transforms


    class MyEncoder(torch.nn.Module):
        """A toy CLIP-like encoder: a linear image tower and a bag-of-words text tower."""

        name = "my-encoder"

        def __init__(self, dim: int = 64, vocab: int = 4096, image_size: int = 32):
            super().__init__()
            self.vocab = vocab
            self.image_tower = torch.nn.Sequential(
                torch.nn.Flatten(), torch.nn.Linear(3 * image_size * image_size, dim)
            )
            self.text_tower = torch.nn.EmbeddingBag(vocab, dim, mode="mean")
            # Runs in DataLoader workers: a torchvision Compose pickles fine.
            self.preprocess = transforms.Compose(
                [transforms.Resize((image_size, image_size)), transforms.ToTensor()]
            )

        def encode_images(self, batch: torch.Tensor) -> torch.Tensor:
            return self.image_tower(batch)

        def encode_texts(self, texts: list[str]) -> torch.Tensor:
            # crc32, not hash(): str hashes change from one Python process to the next.
            ids = [[zlib.crc32(w.encode()) % self.vocab for w in t.lower().split()] or [0]
                   for t in texts]
            flat = torch.tensor([i for row in ids for i in row])
            offsets = torch.tensor([0] + [len(row) for row in ids[:-1]]).cumsum(0)
            device = self.text_tower.weight.device
            return self.text_tower(flat.to(device), offsets.to(device))

    # Smoke test, in Python:
    #   from odbench.encoders import load_encoder, MockEncoder
    #   loaded = load_encoder("my_encoder.py:MyEncoder", {"dim": "128"})
    #   loaded.encoder.encode_texts(["a dog on a surfboard"]).shape   # torch.Size([1, 128])
    # Evaluate, on the command line:
    #   odbench-eval --model my_encoder.py:MyEncoder --model-arg dim=128 \\
    #       --output results/my-encoder.json
'''
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

# The methods every encoder needs; the loader names the missing ones in its error message.
REQUIRED_METHODS: tuple[str, ...] = ("encode_images", "encode_texts")


@runtime_checkable
class Encoder(Protocol):
    """An image-text model as ODBench sees it. See the module docstring for the full contract.

    Only the two methods are part of the runtime check; the optional attributes (``preprocess``,
    ``name``, ``weights_hash``, ``num_parameters``, ``untrained``) are read with ``getattr``.
    """

    def encode_images(self, batch: Any) -> torch.Tensor:
        """Embed a batch of preprocessed images (or a list of PIL images): ``[n, d]``."""
        ...

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Embed a list of captions: ``[n, d]``."""
        ...


def missing_methods(obj: object) -> list[str]:
    """Names of the required methods that ``obj`` (an instance or a class) lacks."""
    return [m for m in REQUIRED_METHODS if not callable(getattr(obj, m, None))]
