"""A learned inpainter: any diffusers inpainting pipeline saved in a local folder.

    pip install 'odbench[inpaint]'          # diffusers, transformers, accelerate; imported only when used
    python -m dataset_builders test-split ... --inpainter diffusers --inpainter-weights ./sd-inpainting

Telea stays the offline default. On photos it leaves object-shaped smears where large objects
were, and shadows stay; a diffusion model trained for inpainting fills the hole with plausible
background. The weights are never downloaded here: the folder is what a pipeline's
`save_pretrained(folder)` writes (for example a Stable Diffusion inpainting checkpoint fetched
once with `huggingface-cli download`), loaded with `local_files_only=True`.

Choices that keep a build honest and repeatable:
- Only the pixels under the mask change, as with OpenCV: the model's output is pasted into the
  original through the mask, so the rest of the photo is bit-identical.
- The removed category is the negative prompt, so that the model is steered away from painting
  the object back; the prompt asks for background.
- Each edit draws its noise from a CPU generator seeded by (seed, image id, removed category):
  the result does not depend on worker order. On a GPU, kernels may still differ in the last
  bits between runs, so a learned build is repeatable rather than bit-exact.
- The editor string names the weights by content: `diffusers/<diffusers version>+w<SHA-256 of the
  folder's files, 12 hex>+c<hash of the settings, 8 hex>`, so a dataset says which model made
  each edit.
- The pipeline is loaded once per process on first use (never in `__init__`), so the object is
  cheap to pass to worker processes; with a GPU, `--workers 1` avoids one copy per worker.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from odbench.hashing import folder_sha256

from .inpaint_inputs import check_inputs

EXTRA_HINT = "pip install 'odbench[inpaint]'"
_PIPELINES: dict[tuple[str, str], Any] = {}   # (weights folder, device) -> loaded pipeline, per process


class DiffusersInpainter:
    """`diffusers.AutoPipelineForInpainting` from a local folder, behind the `Inpainter` protocol."""

    name = "diffusers"

    def __init__(self, weights: str | os.PathLike, *, steps: int = 30, guidance_scale: float = 7.5,
                 prompt: str = "background", resolution: int | None = None, seed: int = 0,
                 device: str | None = None):
        missing = [m for m in ("diffusers", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            raise ValueError(f"the diffusers inpainter needs the optional package(s) {', '.join(missing)}: "
                             f"{EXTRA_HINT}")
        folder = Path(weights).expanduser().resolve()
        if not (folder / "model_index.json").is_file():
            raise ValueError(f"{weights} is not a diffusers pipeline folder (no model_index.json); "
                             f"save an inpainting pipeline there with pipe.save_pretrained(folder)")
        if steps < 1 or (resolution is not None and resolution < 8):
            raise ValueError("steps must be >= 1 and resolution >= 8")
        self.weights, self.device = folder, device
        self.steps, self.guidance_scale, self.prompt = int(steps), float(guidance_scale), prompt
        self.resolution, self.seed = (None if resolution is None else int(resolution)), int(seed)
        from importlib.metadata import version
        settings = json.dumps([self.steps, self.guidance_scale, self.prompt, self.resolution, self.seed])
        self.version = (f"{version('diffusers')}+w{folder_sha256(folder)[:12]}"
                        f"+c{hashlib.sha256(settings.encode()).hexdigest()[:8]}")

    def _pipeline(self) -> Any:
        import torch
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        key = (str(self.weights), device)
        if key not in _PIPELINES:
            from diffusers import AutoPipelineForInpainting
            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            with warnings.catch_warnings():   # newer diffusers call it `dtype`; older know only this
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                pipe = AutoPipelineForInpainting.from_pretrained(str(self.weights), torch_dtype=dtype,
                                                                 local_files_only=True)
            if getattr(pipe, "safety_checker", None) is not None:
                pipe.safety_checker = None   # it blacks out whole images it misjudges
            pipe.set_progress_bar_config(disable=True)
            _PIPELINES[key] = pipe.to(device)
        return _PIPELINES[key]

    def _edit_seed(self, source_image: Any, removed: str | None) -> int:
        key = f"{self.seed}/{getattr(source_image, 'id', '')}/{removed or ''}"
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")

    def inpaint(self, image: Image.Image, mask: np.ndarray, *, source_image: Any = None,
                removed: str | None = None) -> Image.Image:
        import torch
        pixels, mask = check_inputs(image, mask)
        if not mask.any():
            return image.copy()
        pipe = self._pipeline()
        w, h = image.size
        # The model works at about `resolution` px on the longer side, in multiples of 8; by
        # default the size it was trained at (Stable Diffusion 1/2: 512, SDXL: 1024).
        native = getattr(getattr(getattr(pipe, "unet", None), "config", None), "sample_size", None)
        resolution = self.resolution or (native * getattr(pipe, "vae_scale_factor", 8) if native else 512)
        scale = resolution / max(w, h)
        sw, sh = (max(8, round(v * scale / 8) * 8) for v in (w, h))
        small_mask = Image.fromarray(mask.astype(np.uint8) * 255).resize((sw, sh), Image.BILINEAR)
        small_mask = small_mask.point(lambda v: 255 if v else 0)   # any covered pixel stays masked
        generator = torch.Generator(device="cpu").manual_seed(self._edit_seed(source_image, removed))
        out = pipe(prompt=self.prompt, negative_prompt=removed or "", image=image.resize((sw, sh), Image.BICUBIC),
                   mask_image=small_mask, height=sh, width=sw, num_inference_steps=self.steps,
                   guidance_scale=self.guidance_scale, generator=generator, output_type="pil").images[0]
        filled = np.asarray(out.convert("RGB").resize((w, h), Image.BICUBIC), dtype=np.uint8)
        return Image.fromarray(np.where(mask[..., None], filled, pixels).astype(np.uint8), mode="RGB")

    def __repr__(self) -> str:
        return f"DiffusersInpainter(weights={str(self.weights)!r}, steps={self.steps})"
