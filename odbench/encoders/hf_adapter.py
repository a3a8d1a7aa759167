"""Hugging Face transformers dual encoders as ODBench encoders (``--model hf:ORG/NAME[@REVISION]``).

Any model that ``AutoModel`` loads and that has ``get_image_features`` and ``get_text_features``
(CLIP, SigLIP, and the like) works, through its own processor (``AutoProcessor``): its image
processor resizes and normalises each image, its tokenizer pads and truncates the captions.

- ``hf:ORG/NAME`` / ``hf:ORG/NAME@REVISION``: a hub repository at a branch, tag or commit (from the
  local cache when ``HF_HUB_OFFLINE=1``). The result records the commit the files came from.
- ``hf:./my-checkpoint`` / ``hf:/abs/folder``: a ``save_pretrained`` folder; it has no commit,
  the weights hash identifies it.

transformers is an optional dependency (``pip install 'odbench[hf]'``), imported only here.
"""
from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from odbench.encoders.loader import state_dict_sha256
from odbench.errors import EncoderError

_INSTALL = "pip install 'odbench[hf]'"


class _ImageProcessorTransform:
    """One PIL image -> pixel tensor [3, H, W], through the model's own image processor.

    A module-level class so that it pickles into DataLoader workers (see the Encoder protocol)."""

    def __init__(self, image_processor: Any) -> None:
        self.image_processor = image_processor

    def __call__(self, image: Any) -> torch.Tensor:
        return self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]


def _features(output: Any) -> torch.Tensor:
    # transformers 4 returns the projected embeddings; 5 returns a model output whose
    # pooler_output holds them.
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class HFEncoder(torch.nn.Module):
    """A transformers dual encoder behind the Encoder protocol."""

    def __init__(self, model: str, revision: str | None = None, cache_dir: str | None = None) -> None:
        super().__init__()
        try:
            import transformers
        except ImportError:
            raise EncoderError(f"hf:{model} needs transformers, which is not installed: {_INSTALL}") from None
        folder = Path(model).expanduser()
        local = folder.is_dir()
        if local and revision:
            raise EncoderError(f"hf:{model}: a local folder has no revision (got @{revision}); "
                               f"the weights hash identifies it")
        if not local and _looks_like_path(model):
            raise EncoderError(f"hf:{model}: no such folder ({folder.resolve()})")
        source = str(folder) if local else model
        try:
            # Resolve the branch or tag to a commit once, then load everything at that commit:
            # the model and its processor come from one snapshot, and the result can name it.
            commit = None if local else _resolve_commit(model, revision, cache_dir)
            revision = commit or revision
            with _no_progress_bars(transformers):
                self.model = transformers.AutoModel.from_pretrained(source, revision=revision, cache_dir=cache_dir)
        except Exception as exc:
            raise EncoderError(_load_error(model, revision, local, exc)) from None
        missing = [m for m in ("get_image_features", "get_text_features") if not hasattr(self.model, m)]
        if missing:
            raise EncoderError(f"hf:{model}: {type(self.model).__name__} is not a dual encoder: it has no "
                               f"{' and no '.join(m + '()' for m in missing)} (CLIP, SigLIP and the like have both)")
        try:
            processor = transformers.AutoProcessor.from_pretrained(source, revision=revision, cache_dir=cache_dir)
        except Exception as exc:
            raise EncoderError(_load_error(model, revision, local, exc, what="processor")) from None
        self.tokenizer = getattr(processor, "tokenizer", None)
        image_processor = getattr(processor, "image_processor", None)
        if self.tokenizer is None or image_processor is None:
            raise EncoderError(f"hf:{model}: its processor ({type(processor).__name__}) needs both a tokenizer "
                               f"and an image processor")
        self.model.eval()
        self.preprocess = _ImageProcessorTransform(image_processor)
        config = self.model.config
        text_config = getattr(config, "text_config", config)
        self.max_length = getattr(text_config, "max_position_embeddings", None)
        # SigLIP was trained on captions padded to full length and pools without the mask.
        self.padding: str | bool = "max_length" if config.model_type.startswith("siglip") else True
        # The commit the files came from (None for a folder): what "main" meant that day.
        self.revision = commit
        self.name = f"hf:{model}" + (f"@{self.revision}" if self.revision else "")
        self.untrained = False
        self.num_parameters = sum(p.numel() for p in self.model.parameters())

    @functools.cached_property
    def weights_hash(self) -> str:
        return state_dict_sha256(self.model)

    def _device_dtype(self) -> tuple[torch.device, torch.dtype]:
        param = next(self.model.parameters())
        return param.device, param.dtype

    @torch.no_grad()
    def encode_images(self, batch: torch.Tensor) -> torch.Tensor:
        device, dtype = self._device_dtype()
        return _features(self.model.get_image_features(pixel_values=batch.to(device=device, dtype=dtype)))

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        device, _ = self._device_dtype()
        tokens = self.tokenizer(list(texts), padding=self.padding, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
        return _features(self.model.get_text_features(**{k: v.to(device) for k, v in tokens.items()}))


def _resolve_commit(repo_id: str, revision: str | None, cache_dir: str | None) -> str | None:
    """The commit a branch, tag or commit of `repo_id` stands for, from the snapshot folder its
    config.json is cached in (huggingface_hub names snapshot folders by commit)."""
    import huggingface_hub

    path = Path(huggingface_hub.hf_hub_download(repo_id, "config.json", revision=revision, cache_dir=cache_dir))
    commit = path.parent.name
    return commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None


@contextlib.contextmanager
def _no_progress_bars(transformers: Any) -> Iterator[None]:
    """transformers draws a bar per checkpoint load; ODBench shows its own progress."""
    enabled = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers.utils.logging.enable_progress_bar()


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or model.count("/") > 1


def _load_error(model: str, revision: str | None, local: bool, exc: Exception, what: str = "model") -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    if local:
        return f"hf:{model}: transformers could not load the {what} from the folder ({text[:400]})"
    import huggingface_hub

    where = f"hf:{model}" + (f"@{revision}" if revision else "")
    if huggingface_hub.is_offline_mode():
        return (f"{where}: not in the local Hugging Face cache and HF_HUB_OFFLINE is set; download it once "
                f"where a network is available, or pass a save_pretrained folder ({text[:300]})")
    return f"{where}: could not be loaded from the hub ({text[:400]})"
