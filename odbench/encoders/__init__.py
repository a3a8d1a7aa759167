"""Encoders: the model contract, the ``--model`` loader and the built-in adapters.

``OpenCLIPEncoder`` and ``register_model_config`` (which adds an architecture to open_clip) are
imported on first use, so that importing ODBench does not import open_clip.
"""
from __future__ import annotations

from typing import Any

from odbench.encoders.arguments import convert_arg, parse_model_args
from odbench.encoders.checks import check_output
from odbench.encoders.loader import LoadedEncoder, load_encoder, resolve_object, state_dict_sha256
from odbench.encoders.mock import MockEncoder
from odbench.encoders.protocol import Encoder
from odbench.encoders.registry import Builtin, register_builtin
from odbench.errors import EncoderError
from odbench.registry import import_object

__all__ = [
    "Builtin",
    "Encoder",
    "EncoderError",
    "LoadedEncoder",
    "MockEncoder",
    "OpenCLIPEncoder",
    "check_output",
    "convert_arg",
    "load_encoder",
    "parse_model_args",
    "register_builtin",
    "register_model_config",
    "resolve_object",
    "state_dict_sha256",
]

_LAZY = {"OpenCLIPEncoder": "odbench.encoders.open_clip_adapter:OpenCLIPEncoder",
         "register_model_config": "odbench.encoders.open_clip_configs:register_model_config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return import_object(_LAZY[name])
    raise AttributeError(f"module 'odbench.encoders' has no attribute {name!r}")
