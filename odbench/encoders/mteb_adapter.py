"""MTEB's image-text models as ODBench encoders (``--model mteb:NAME[@REVISION]``).

MTEB (with MIEB, its image side) keeps a registry of models, each with its own loader,
preprocessing and metadata. ``mteb.get_model_meta(NAME)`` finds one and ``load_model()`` builds
it; ODBench then feeds it its images and captions through MTEB's own ``encode`` (a DataLoader
over a ``datasets.Dataset`` with an ``image`` or a ``text`` column), one batch at a time.

- Only the registry is searched: an unknown name is an error naming close matches, never a
  download of an unregistered repository. ``@REVISION`` must be the revision MTEB pins.
- The model must take both images and text (MTEB's ``modalities``); a text-only or image-only
  model, or one MTEB lists without an implementation, is refused before anything is loaded.
- The result records what MTEB knows of the model (``mteb_metadata``: name, revision,
  parameter count, release date, training datasets); the leaderboard marks a model whose
  training datasets include COCO.
- Items are encoded without prompts (``prompt_type=None``): every image and caption is a query
  in one direction and a gallery item in the other, and ODBench encodes each once.

mteb is an optional dependency (``pip install 'odbench[mteb]'``), imported only here.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from odbench.encoders.hf_adapter import _no_progress_bars
from odbench.encoders.loader import state_dict_sha256
from odbench.errors import EncoderError

_INSTALL = "pip install 'odbench[mteb]'"
TASK_NAME = "ODBench"


def import_mteb(what: str) -> Any:
    """mteb, or one clear line saying how to install it."""
    try:
        import mteb
    except ImportError:
        raise EncoderError(f"{what} needs mteb, which is not installed: {_INSTALL}") from None
    return mteb


def model_meta(name: str, revision: str | None = None) -> Any:
    """MTEB's ModelMeta of a registered image-text model; EncoderError for anything else."""
    mteb = import_mteb(f"mteb:{name}")
    where = f"mteb:{name}" + (f"@{revision}" if revision else "")
    try:
        meta = mteb.get_model_meta(name, revision)     # registry only: fetch_from_hf is off
    except KeyError as exc:                              # its message names close matches
        raise EncoderError(f"{where}: {exc.args[0] if exc.args else exc}") from None
    except ValueError as exc:                            # a revision MTEB does not pin
        raise EncoderError(f"{where}: {exc}") from None
    modalities = set(meta.modalities or ())
    missing = [m for m in ("image", "text") if m not in modalities]
    if missing:
        kind = {"image": "text-only" if "text" in modalities else "not an image model",
                "text": "image-only"}[missing[0]]
        raise EncoderError(f"{where}: MTEB lists it as {kind} (modalities: {', '.join(sorted(modalities)) or 'none'}); "
                           f"ODBench needs a model that embeds both images and text")
    if meta.loader is None:
        raise EncoderError(f"{where}: MTEB lists this model without an implementation to load it")
    return meta


def metadata_record(meta: Any) -> dict[str, Any]:
    """What the result document records of an MTEB model (`model.mteb`)."""
    release = meta.release_date
    trained = meta.training_datasets
    return {"name": meta.name, "revision": meta.revision, "n_parameters": meta.n_parameters,
            "release_date": None if release is None else str(release),
            "training_datasets": None if trained is None else sorted(trained)}


def trained_on_coco(record: dict[str, Any] | None) -> bool:
    """Whether MTEB's metadata names a COCO dataset among the model's training data (False when
    it says nothing: unknown is not 'no', but it is not a mark either)."""
    return any("coco" in name.lower() for name in (record or {}).get("training_datasets") or ())


@functools.lru_cache(maxsize=1)
def task_metadata() -> Any:
    """The TaskMetadata MTEB models are told they encode for (some pick prompts from it)."""
    from mteb.abstasks.task_metadata import TaskMetadata

    return TaskMetadata(
        name=TASK_NAME, description="ODBench object-decorrelation retrieval (images and captions).",
        dataset={"path": "odbench", "revision": "embedded"}, type="Any2AnyRetrieval",
        modalities=["image", "text"], eval_splits=["test"], eval_langs=["eng-Latn"],
        main_score="odmap@10")


def _collate(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    # images stay a list of PIL images, as MTEB's own collate leaves them
    return {key: [row[key] for row in rows] for key in rows[0]}


def encode_with(model: Any, column: str, values: list[Any], *, batch_size: int, metadata: Any = None) -> torch.Tensor:
    """MTEB's `encode` on one column ('image' or 'text') of `values`: float32 [n, d] on the CPU."""
    import datasets

    loader = torch.utils.data.DataLoader(datasets.Dataset.from_dict({column: values}), batch_size=batch_size,
                                         shuffle=False, collate_fn=_collate)
    out = model.encode(loader, task_metadata=metadata or task_metadata(), hf_split="test", hf_subset="default",
                       prompt_type=None, show_progress_bar=False)
    out = out.detach().cpu() if isinstance(out, torch.Tensor) else torch.from_numpy(np.asarray(out))
    return out.float()


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Most MTEB wrappers load through transformers, which draws a bar per checkpoint."""
    try:
        import transformers
    except ImportError:
        yield
        return
    with _no_progress_bars(transformers):
        yield


def _torch_modules(model: Any) -> dict[str, torch.nn.Module]:
    return {k: v for k, v in sorted(vars(model).items()) if isinstance(v, torch.nn.Module)}


class MTEBEncoder:
    """An MTEB registry model behind the Encoder protocol."""

    preprocess = None      # MTEB's wrapper preprocesses: encode_images receives PIL images

    def __init__(self, model: str, revision: str | None = None) -> None:
        meta = model_meta(model, revision)
        try:
            with _quiet_transformers():
                self.model = meta.load_model()
        except EncoderError:
            raise
        except Exception as exc:
            text = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise EncoderError(f"mteb:{model}: MTEB could not load the model ({text[:400]})") from None
        self.mteb_metadata = metadata_record(meta)
        self.revision = meta.revision
        self.name = f"mteb:{meta.name}" + (f"@{meta.revision}" if meta.revision else "")
        self.untrained = False
        modules = _torch_modules(self.model)
        counted = sum(p.numel() for m in modules.values() for p in m.parameters())
        self.num_parameters = counted or meta.n_parameters
        self._modules = modules

    @functools.cached_property
    def weights_hash(self) -> str | None:
        # the wrapper's torch modules (CLIP, open_clip, ...): one is hashed as itself, so MTEB's CLIP
        # wrapper and hf: on the same checkpoint name the same weights; None for an API model
        if len(self._modules) == 1:
            return state_dict_sha256(next(iter(self._modules.values())))
        return state_dict_sha256(torch.nn.ModuleDict(self._modules)) if self._modules else None

    def to(self, device: str | torch.device) -> MTEBEncoder:
        """Move the wrapper's torch modules; MTEB wrappers keep the device they send inputs to."""
        for module in self._modules.values():
            module.to(device)
        if hasattr(self.model, "device"):
            self.model.device = str(device)
        return self

    def eval(self) -> MTEBEncoder:
        for module in self._modules.values():
            module.eval()
        return self

    def encode_images(self, batch: list[Any]) -> torch.Tensor:
        return self._encode("image", list(batch))

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        return self._encode("text", list(texts))

    def _encode(self, column: str, values: list[Any]) -> torch.Tensor:
        try:
            return encode_with(self.model, column, values, batch_size=len(values))
        except EncoderError:
            raise
        except Exception as exc:
            text = " ".join(f"{type(exc).__name__}: {exc}".split())
            what = "images" if column == "image" else "captions"
            raise EncoderError(f"{self.name}: MTEB's encode failed on {what} ({text[:300]}); the model may not "
                               f"support {column} inputs") from None
