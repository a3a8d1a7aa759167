"""open_clip models as ODBench encoders (``--model open_clip:ARCH[/PRETRAINED]``).

Where the weights come from is part of the identity, as in open_clip's own factory:

- ``pretrained=None``: random initialisation; ``untrained = True`` and the result says so.
- ``pretrained=TAG``: one of ``open_clip.list_pretrained_tags_by_model(ARCH)``; needs the weights
  in open_clip's cache or a network, else a clear ``EncoderError``.
- ``pretrained=/path/to/checkpoint.{pt,bin,safetensors}``: a state dict for ARCH (open_clip
  accepts a file path in place of a tag; ``{"state_dict": ...}`` and ``module.`` prefixes are fine).
- ``pretrained=local-dir:DIR`` (or a directory): DIR holds ``open_clip_config.json`` plus weights
  (open_clip's ``local-dir:`` schema), or just a checkpoint for ARCH.
- ``arch=local-dir:DIR`` / ``arch=hf-hub:ORG/REPO``: config and weights from that source.

Small architectures of ODBench's own (``odbench-tiny``, the reference models) are registered with
open_clip by ``odbench.encoders.open_clip_configs``.
"""
from __future__ import annotations

import difflib
import functools
import os
from pathlib import Path

import open_clip
import torch

from odbench.encoders import open_clip_configs  # noqa: F401  (registers odbench-tiny with open_clip)
from odbench.encoders.loader import state_dict_sha256
from odbench.errors import EncoderError

_CHECKPOINT_NAMES = (  # open_clip's preference order inside a folder
    "open_clip_model.safetensors", "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin", "open_clip_pytorch_model.pth",
    "model.safetensors", "pytorch_model.bin", "pytorch_model.pth", "model.pth",
)
# open_clip's local-dir: schema only looks for these; a folder we resolve ourselves may hold .pt.
_OPEN_CLIP_EXTS = (".safetensors", ".bin", ".pth")
_ALL_EXTS = _OPEN_CLIP_EXTS + (".pt",)


class OpenCLIPEncoder(torch.nn.Module):
    """An open_clip model behind the Encoder protocol."""

    def __init__(
        self,
        arch: str,
        pretrained: str | None = None,
        device: str = "cpu",
        precision: str = "fp32",
        cache_dir: str | None = None,
        seed: int = 0,
    ):
        super().__init__()
        model_name, weights, untrained = _resolve_source(arch, pretrained)
        if weights is not None and open_clip.is_pretrained_cfg(model_name, weights):
            _fail_fast_if_unreachable(model_name, weights, cache_dir)
        try:
            # Seeded random init, so an untrained baseline has a reproducible weights hash;
            # fork_rng leaves the caller's global RNG state untouched.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model, _, preprocess = open_clip.create_model_and_transforms(
                    model_name, pretrained=weights, device=device, precision=precision,
                    cache_dir=cache_dir,
                )
            self.tokenizer = open_clip.get_tokenizer(model_name, cache_dir=cache_dir)
        except EncoderError:
            raise
        except Exception as exc:
            raise EncoderError(_creation_error(arch, pretrained, exc)) from exc
        self.model = model.eval()
        self.preprocess = preprocess  # open_clip's eval transform: resize, crop, normalise
        self.arch, self.pretrained, self.untrained = arch, pretrained, untrained
        self.name = f"open_clip:{arch}" + (f"/{pretrained}" if pretrained else " (untrained)")
        self.num_parameters = sum(p.numel() for p in self.model.parameters())

    @functools.cached_property
    def weights_hash(self) -> str:
        """SHA-256 of the state dict (computed once; see ``loader.state_dict_sha256``)."""
        return state_dict_sha256(self.model)

    def _device_dtype(self) -> tuple[torch.device, torch.dtype]:
        param = next(self.model.visual.parameters())
        return param.device, param.dtype

    @torch.no_grad()
    def encode_images(self, batch: torch.Tensor) -> torch.Tensor:
        device, dtype = self._device_dtype()
        return self.model.encode_image(batch.to(device=device, dtype=dtype))

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        device, _ = self._device_dtype()
        tokens = self.tokenizer(list(texts))
        return self.model.encode_text(tokens.to(device))


def _resolve_source(arch: str, pretrained: str | None) -> tuple[str, str | None, bool]:
    """(open_clip model_name, open_clip pretrained, untrained) for our arch/pretrained pair."""
    if arch.startswith("hf-hub:"):
        return arch, None, False
    if arch.startswith("local-dir:"):
        folder = Path(arch[len("local-dir:"):]).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise EncoderError(f"open_clip {arch}: no open_clip_config.json in {folder}")
        return f"local-dir:{folder}", None, _find_checkpoint(folder, _OPEN_CLIP_EXTS) is None
    arch = arch.replace("/", "-")  # open_clip's own normalisation of names
    if arch not in open_clip.list_models():
        close = difflib.get_close_matches(arch, open_clip.list_models(), n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise EncoderError(f"open_clip has no architecture {arch!r} (see open_clip.list_models()).{hint}")
    if pretrained is None or pretrained.strip().lower() in ("", "none"):
        return arch, None, True
    if pretrained.startswith("local-dir:") or Path(pretrained).expanduser().is_dir():
        folder = Path(pretrained.removeprefix("local-dir:")).expanduser()
        if (folder / "open_clip_config.json").is_file():
            return f"local-dir:{folder}", None, _find_checkpoint(folder, _OPEN_CLIP_EXTS) is None
        checkpoint = _find_checkpoint(folder) if folder.is_dir() else None
        if checkpoint is None:
            raise EncoderError(f"open_clip {arch}: no checkpoint (*.safetensors, *.bin, *.pt, *.pth) "
                               f"or open_clip_config.json in {folder}")
        return arch, str(checkpoint), False
    if open_clip.is_pretrained_cfg(arch, pretrained):
        return arch, pretrained, False
    path = Path(pretrained).expanduser()
    if path.is_file():
        return arch, str(path), False
    tags = open_clip.list_pretrained_tags_by_model(arch)
    close = difflib.get_close_matches(pretrained, tags, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    known = f"known tags for {arch}: {', '.join(tags)}" if tags else f"open_clip knows no tags for {arch}"
    raise EncoderError(f"open_clip {arch}: pretrained {pretrained!r} is neither a known tag nor an "
                       f"existing file ({known}).{hint}")


_PROBE_TIMEOUT_S = 10


def _fail_fast_if_unreachable(arch: str, tag: str, cache_dir: str | None) -> None:
    """open_clip fetches missing weights through huggingface_hub, which retries a failed
    connection five times for each of two file names (about 50 s with no network). Instead:
    weights in the cache are used; otherwise one request, without retries, must reach the hub."""
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError

    hub = open_clip.get_pretrained_cfg(arch, tag).get("hf_hub", "")
    if not hub or "file" in open_clip.get_pretrained_cfg(arch, tag):
        return   # a plain URL download: open_clip tries it once
    repo_id, filename = os.path.split(hub)
    names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    if filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    if any(isinstance(huggingface_hub.try_to_load_from_cache(repo_id, name, cache_dir=cache_dir), str)
           for name in names):
        return
    unavailable = (f"open_clip {arch}/{tag}: the pretrained weights are not in the local cache and "
                   f"could not be downloaded (offline?)")
    if huggingface_hub.is_offline_mode():
        raise EncoderError(f"{unavailable}: HF_HUB_OFFLINE is set. Download them once where a network "
                           f"is available, or pass a checkpoint file as pretrained.")
    try:
        huggingface_hub.get_hf_file_metadata(huggingface_hub.hf_hub_url(repo_id, names[0]),
                                             timeout=_PROBE_TIMEOUT_S)
    except HfHubHTTPError:
        return   # the hub answered (a missing file name, say): open_clip takes it from here
    except Exception as exc:   # no connection, DNS failure, timeout
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise EncoderError(f"{unavailable}: the hub at {huggingface_hub.constants.ENDPOINT} did not "
                           f"answer ({text}). Download them once where a network is available, or pass "
                           f"a checkpoint file as pretrained; set HF_HUB_OFFLINE=1 to skip the "
                           f"attempt.") from None


def _find_checkpoint(folder: Path, exts: tuple[str, ...] = _ALL_EXTS) -> Path | None:
    for name in _CHECKPOINT_NAMES:
        if (folder / name).is_file():
            return folder / name
    found = sorted(p for ext in exts for p in folder.glob(f"*{ext}"))
    return found[0] if found else None


def _creation_error(arch: str, pretrained: str | None, exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if pretrained and open_clip.is_pretrained_cfg(arch.replace("/", "-"), pretrained) and (
        "download" in text.lower() or isinstance(exc, (OSError, ConnectionError))
    ):
        return (f"open_clip {arch}/{pretrained}: the pretrained weights are not in the local cache "
                f"and could not be downloaded (offline?). Download them once where a network is "
                f"available, or pass a checkpoint file as pretrained. ({text})")
    return f"open_clip {arch} (pretrained={pretrained!r}) could not be created: {text}"
