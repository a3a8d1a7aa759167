"""open_clip architectures that ODBench adds: `register_model_config` is the public way in.

open_clip's own registry is filled from JSON files (`open_clip.add_model_config(path)`), so a
config registered here is written to a per-process temporary folder and handed to open_clip at
once; `MODEL_CONFIGS` keeps what was registered. `odbench-tiny` is registered here, the
reference architecture `odbench-ref` by `odbench.reference.encoder`, and a script or a user may
add their own (e.g. a 32 px variant of the reference model) before building a model with it.
"""
from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import open_clip

from odbench.registry import Registry

# A CLIP small enough to build and run on a laptop CPU in well under a second; for smoke tests
# of the open_clip path and as the architecture of tiny reference models.
TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

MODEL_CONFIGS: Registry[dict[str, Any]] = Registry("open_clip config")
_config_dir: Path | None = None


def register_model_config(name: str, config: dict[str, Any]) -> None:
    """Make `name` a model architecture open_clip knows (`open_clip.list_models()`), so that
    `open_clip:NAME` and `OpenCLIPEncoder(NAME)` build it. Re-registering a name replaces its config."""
    global _config_dir
    if not all(key in config for key in ("embed_dim", "vision_cfg", "text_cfg")):
        # open_clip would silently skip such a file; say so instead.
        raise ValueError(f"open_clip config {name!r} needs embed_dim, vision_cfg and text_cfg")
    if "/" in name or not name:
        raise ValueError(f"invalid open_clip model name {name!r}")
    if _config_dir is None:
        _config_dir = Path(tempfile.mkdtemp(prefix="odbench-open_clip-configs-"))
        # open_clip reads the file at registration; nothing needs it after the process ends.
        atexit.register(shutil.rmtree, _config_dir, ignore_errors=True)
    path = _config_dir / f"{name}.json"
    path.write_text(json.dumps(config, indent=2, sort_keys=True))
    open_clip.add_model_config(path)
    MODEL_CONFIGS.register(name, config, replace=True)


register_model_config("odbench-tiny", TINY_CONFIG)
