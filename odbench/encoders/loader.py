"""Turn a ``--model`` string and ``--model-arg key=value`` pairs into a ready encoder.

Spec forms (checked in this order):

- ``PREFIX:REST`` for a built-in prefix of ``odbench.encoders.registry`` (``open_clip:ViT-B-32``,
  ``mock:random``): the prefix wins even when a module of that name exists.
- ``path/to/file.py:Class``: the file is imported under a private module name.
- ``package.module:Class`` (``Class`` may be a dotted path, or a factory function, or a
  ready-made encoder instance): imported lazily with importlib, the current directory first
  made importable as ``python -m`` would.

Every mistake a user can make ends in one ``EncoderError`` whose message says what to fix.
"""
from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import pkgutil
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from odbench.encoders.arguments import typed_kwargs
from odbench.encoders.protocol import Encoder, missing_methods
from odbench.encoders.registry import builtin_examples, get_builtin, suggest_builtin
from odbench.errors import EncoderError
from odbench.escaping import one_line
from odbench.user_code import user_code_sha256

_FORMS = "expected 'package.module:Class', 'path/to/file.py:Class' or a built-in name ({})"


@dataclass
class LoadedEncoder:
    """An encoder plus the identity the result document records."""

    encoder: Encoder
    spec: str  # the --model string, verbatim
    args: dict[str, Any]  # the --model-arg values, as given (strings from the CLI)
    target: str  # what the spec resolved to, "module:Class"
    name: str
    weights_hash: str | None
    num_parameters: int | None
    untrained: bool
    revision: str | None = None  # the hub commit of the weights, for encoders that know it (hf:)
    mteb: dict[str, Any] | None = None  # what MTEB's registry says of the model (mteb:)
    code_hash: str | None = None  # odbench.user_code.user_code_sha256() once the model was built

    def identity(self) -> dict[str, Any]:
        """JSON-ready model identity: exactly the keys of the result schema's ``model`` object
        (``target`` stays out: the spec already determines it)."""
        plain = (str, int, float, bool, type(None))
        identity = {
            "spec": self.spec,
            "args": {k: v if isinstance(v, plain) else str(v) for k, v in self.args.items()},
            "name": self.name,
            "weights_hash": self.weights_hash,
            "num_parameters": self.num_parameters,
            "untrained": self.untrained,
        }
        if self.revision is not None:   # optional in the schema: most models have no commit
            identity["revision"] = self.revision
        if self.mteb is not None:       # optional in the schema: only mteb: models have it
            identity["mteb"] = self.mteb
        return identity


def state_dict_sha256(module: torch.nn.Module) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of every state_dict tensor, in sorted key order.

    Device-independent (bytes are taken on CPU); the dtype is part of the hash, so the same
    weights in fp16 and fp32 hash differently, which is what a result should record.
    """
    h = hashlib.sha256()
    state = module.state_dict()
    for key in sorted(state):
        value = state[key]
        if not isinstance(value, torch.Tensor):  # extra_state: anything picklable
            h.update(f"{key}\0extra\0{value!r}\0".encode())
            continue
        t = value.detach().cpu().contiguous().reshape(-1)
        data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        # Length-prefixed header so that two different tensor lists can never collide.
        h.update(f"{key}\0{t.dtype}\0{tuple(value.shape)}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def load_encoder(spec: str, args: dict[str, Any] | None = None) -> LoadedEncoder:
    """Resolve ``spec``, build the encoder with ``args`` (typed by the constructor's
    annotations) and collect its identity. Raises ``EncoderError`` on any user mistake."""
    spec = (spec or "").strip()
    user_args = dict(args or {})
    if not spec:
        raise EncoderError("empty --model; " + _FORMS.format(", ".join(builtin_examples())))

    head, sep, rest = spec.partition(":")
    builtin = get_builtin(head) if sep else get_builtin(spec)
    if builtin is not None:
        target = builtin.target
        obj = resolve_object(target)
        named = builtin.parse(rest if sep else "")
        for key, value in named.items():
            if key in user_args and str(user_args[key]) != value:
                raise EncoderError(f"{spec}: argument {key!r} is given both by the name "
                                   f"({value!r}) and by --model-arg ({user_args[key]!r})")
        call_args = {**named, **user_args}
    elif _is_file_spec(spec):
        if spec.endswith(".py"):
            raise EncoderError(f"--model {spec!r} names a file but no class: use {spec}:ClassName")
        path, _, attr = spec.rpartition(":")
        module = _import_file(path)
        obj = _get_attr(module, attr, where=path)
        target = f"{path}:{attr}"
        call_args = user_args
    elif sep:
        if not head or not rest:
            raise EncoderError(f"--model {spec!r}: " + _FORMS.format(", ".join(builtin_examples())))
        module = _import_module(head)
        obj = _get_attr(module, rest, where=head)
        target = spec
        call_args = user_args
    else:
        raise EncoderError(f"--model {spec!r} is not a known built-in name; "
                           + _FORMS.format(", ".join(builtin_examples())) + "." + suggest_builtin(spec))

    encoder = _instantiate(obj, call_args, spec)
    return _identify(encoder, spec, user_args, target)


def resolve_object(target: str) -> Any:
    """Lazily import ``module:attr`` (attr may be dotted); errors as ``EncoderError``."""
    module_name, _, attr = target.partition(":")
    return _get_attr(_import_module(module_name), attr, where=module_name)


# ---- resolution --------------------------------------------------------------------------------

def _is_file_spec(spec: str) -> bool:
    path, sep, _ = spec.rpartition(":")
    return (bool(sep) and path.endswith(".py")) or spec.endswith(".py")


def _import_file(path_text: str) -> types.ModuleType:
    if not path_text or not path_text.endswith(".py"):
        raise EncoderError(f"--model {path_text!r}: a file spec is 'path/to/file.py:Class'")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise EncoderError(f"model file not found: {path_text} (looked at {path.resolve()})")
    path = path.resolve()
    # A private, stable module name: repeated loads of one file share it, two files never clash.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    name = f"_odbench_user_{path.stem}_{digest}"
    # Let the file import its sibling modules, as `python file.py` would.
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise EncoderError(f"cannot import {path_text} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # needed by dataclasses, pickling and typing during exec
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise EncoderError(f"importing model file {path_text} raised {type(exc).__name__}: {exc}") from exc
    return module


def _import_module(name: str) -> types.ModuleType:
    # `odbench-eval --model my_module:Encoder` should find my_module.py in the current directory,
    # as `python -m` would; appended so that it never shadows installed packages.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or name
        if name == missing or name.startswith(missing + "."):
            raise EncoderError(f"no module named {missing!r} (from {name!r}; searched the current "
                               f"directory and sys.path).{_suggest_module(missing)}") from exc
        raise EncoderError(f"importing module {name!r} failed: {exc} "
                           f"(a package it needs is not installed)") from exc
    except Exception as exc:
        raise EncoderError(f"importing module {name!r} raised {type(exc).__name__}: {exc}") from exc


def _suggest_module(missing: str) -> str:
    parent, _, leaf = missing.rpartition(".")
    try:
        if parent:
            package = importlib.import_module(parent)
            pool = [m.name for m in pkgutil.iter_modules(getattr(package, "__path__", []))]
        else:
            pool = [m.name for m in pkgutil.iter_modules()]
    except Exception:  # suggestions are a courtesy; never fail because of them
        return ""
    close = difflib.get_close_matches(leaf, pool, n=3, cutoff=0.75)
    if parent:
        close = [f"{parent}.{c}" for c in close]
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    if not parent:
        hint += suggest_builtin(missing)
    return hint


def _get_attr(module: types.ModuleType, attr_path: str, *, where: str) -> Any:
    if not attr_path:
        raise EncoderError(f"--model needs a class after ':' in {where}:CLASS"
                           f"{_encoder_classes_hint(module)}")
    obj: Any = module
    done: list[str] = []
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            scope = f"{where}:{'.'.join(done)}" if done else where
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            if not close and not done:
                hint = _encoder_classes_hint(module)
            raise EncoderError(f"{scope} has no attribute {part!r}.{hint}")
        obj = getattr(obj, part)
        done.append(part)
    return obj


def _encoder_classes_hint(module: types.ModuleType) -> str:
    found = [n for n, v in vars(module).items()
             if isinstance(v, type) and not n.startswith("_") and not missing_methods(v)]
    return f" Encoder classes it defines: {', '.join(sorted(found))}." if found else ""


# ---- construction ------------------------------------------------------------------------------

def _instantiate(obj: Any, args: dict[str, Any], spec: str) -> Encoder:
    what = getattr(obj, "__qualname__", type(obj).__name__)
    if not isinstance(obj, type) and isinstance(obj, Encoder):
        if args:  # a module-level instance: there is no constructor to pass arguments to
            raise EncoderError(f"{spec} is an encoder instance; it takes no --model-arg "
                               f"(got {', '.join(args)})")
        return obj
    if isinstance(obj, type) and missing_methods(obj):
        raise _not_an_encoder(spec, f"class {what}", missing_methods(obj))
    if not callable(obj):
        raise EncoderError(f"{spec} is a {type(obj).__name__}, not an Encoder class or factory")

    kwargs = typed_kwargs(obj, args, spec, what)
    try:
        with warnings.catch_warnings():
            # torch.nn.init warns about a zero-size layer (a dimension of 0); check_output then
            # says what is wrong with the embeddings, in one line of ours
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors is a no-op")
            encoder = obj(**kwargs)
    except EncoderError:
        raise  # adapters raise their own clear messages
    except Exception as exc:
        raise EncoderError(f"constructing {what} (from {spec}) raised {type(exc).__name__}: "
                           f"{one_line(exc, 300)}") from exc
    missing = missing_methods(encoder)
    if missing:
        raise _not_an_encoder(spec, f"{what}(...) returned a {type(encoder).__name__}, which", missing)
    return encoder


def _not_an_encoder(spec: str, subject: str, missing: list[str]) -> EncoderError:
    return EncoderError(
        f"{spec}: {subject} is not an Encoder: it has no {' and no '.join(m + '()' for m in missing)}. "
        "An Encoder needs encode_images(batch) -> Tensor[n, d] and encode_texts(list[str]) -> "
        "Tensor[n, d]; see odbench.encoders.protocol"
    )


# ---- identity ----------------------------------------------------------------------------------

def _identify(encoder: Encoder, spec: str, args: dict[str, Any], target: str) -> LoadedEncoder:
    is_module = isinstance(encoder, torch.nn.Module)
    weights_hash = getattr(encoder, "weights_hash", None)
    if weights_hash is None and is_module and len(encoder.state_dict()):
        weights_hash = state_dict_sha256(encoder)
    num_parameters = getattr(encoder, "num_parameters", None)
    if num_parameters is None and is_module:
        num_parameters = sum(p.numel() for p in encoder.parameters())
    name = getattr(encoder, "name", None)
    revision = getattr(encoder, "revision", None)
    mteb = getattr(encoder, "mteb_metadata", None)
    return LoadedEncoder(
        encoder=encoder,
        spec=spec,
        args=args,
        target=target,
        name=name if isinstance(name, str) and name else spec,
        weights_hash=weights_hash,
        num_parameters=num_parameters,
        untrained=bool(getattr(encoder, "untrained", False)),
        revision=revision if isinstance(revision, str) and revision else None,
        mteb=dict(mteb) if isinstance(mteb, dict) else None,
        code_hash=user_code_sha256(),     # after construction: what the model imported is loaded
    )
