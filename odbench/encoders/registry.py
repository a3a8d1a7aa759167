"""Built-in model names: ``PREFIX:REST`` strings that resolve to adapters shipped with ODBench.

Each entry names its adapter as a ``module:Class`` string, resolved only when used, so that
``import odbench`` never imports open_clip. ``parse`` turns the text after ``PREFIX:`` into
constructor arguments (strings, typed later by the loader like ``--model-arg`` values), so a
built-in name is only a shorthand: ``open_clip:ViT-B-32/laion2b_s34b_b79k`` is
``odbench.encoders.open_clip_adapter:OpenCLIPEncoder`` with ``arch=ViT-B-32`` and
``pretrained=laion2b_s34b_b79k``.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from odbench.errors import EncoderError
from odbench.registry import Registry


@dataclass(frozen=True)
class Builtin:
    prefix: str
    target: str  # "module:Class" of the adapter
    parse: Callable[[str], dict[str, str]]  # text after "prefix:" -> constructor arguments
    usage: str  # shown in error messages and --help
    examples: tuple[str, ...] = ()


BUILTINS: Registry[Builtin] = Registry("built-in model name")


def register_builtin(builtin: Builtin) -> None:
    """Add (or replace) a built-in prefix, e.g. for the project's reference models."""
    BUILTINS.register(builtin.prefix, builtin, replace=True)


def get_builtin(prefix: str) -> Builtin | None:
    return BUILTINS.get(prefix)


def builtin_examples() -> list[str]:
    return [ex for b in BUILTINS.values() for ex in (b.examples or (b.usage,))]


def suggest_builtin(name: str) -> str:
    """' Did you mean ...?' over built-in prefixes and examples, or ''."""
    pool = BUILTINS.names() + builtin_examples()
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


# ---- open_clip:ARCH[/PRETRAINED] ---------------------------------------------------------------

def _parse_open_clip(rest: str) -> dict[str, str]:
    if not rest:
        raise EncoderError("open_clip needs an architecture: open_clip:ARCH[/PRETRAINED], "
                           "e.g. open_clip:ViT-B-32/laion2b_s34b_b79k")
    # Schema'd names carry their own weights; a '/' inside them is part of the path or repo id.
    if rest.startswith(("local-dir:", "hf-hub:")):
        return {"arch": rest}
    arch, _, pretrained = rest.partition("/")
    args = {"arch": arch}
    if pretrained:  # the remainder may itself be a path: open_clip:ARCH//abs/ckpt.pt
        args["pretrained"] = pretrained
    return args


register_builtin(Builtin(
    prefix="open_clip",
    target="odbench.encoders.open_clip_adapter:OpenCLIPEncoder",
    parse=_parse_open_clip,
    usage="open_clip:ARCH[/PRETRAINED] (PRETRAINED: a tag, a checkpoint path, or local-dir:DIR)",
    examples=("open_clip:ViT-B-32/laion2b_s34b_b79k", "open_clip:odbench-tiny"),
))


# ---- mock:VARIANT ------------------------------------------------------------------------------

_MOCK_VARIANTS: dict[str, dict[str, str]] = {
    "random": {},  # hash-seeded random projections, with a tensor preprocess
    "pil": {"with_preprocess": "false"},  # no preprocess: encode_images receives PIL images
}


def _parse_mock(rest: str) -> dict[str, str]:
    variant = rest or "random"
    if variant not in _MOCK_VARIANTS:
        close = difflib.get_close_matches(variant, list(_MOCK_VARIANTS), n=1)
        hint = f" Did you mean 'mock:{close[0]}'?" if close else ""
        raise EncoderError(f"unknown mock encoder 'mock:{variant}'; known: "
                           f"{', '.join('mock:' + v for v in _MOCK_VARIANTS)}.{hint}")
    return dict(_MOCK_VARIANTS[variant])


register_builtin(Builtin(
    prefix="mock",
    target="odbench.encoders.mock:MockEncoder",
    parse=_parse_mock,
    usage="mock:random | mock:pil (deterministic, weightless, for smoke tests)",
    examples=("mock:random", "mock:pil"),
))


# ---- odbench:baseline | odbench:mitigated | odbench:PATH ----------------------------------------

def _parse_odbench(rest: str) -> dict[str, str]:
    if not rest:
        raise EncoderError("odbench needs a reference model: odbench:baseline, odbench:mitigated, "
                           "or odbench:PATH (weights of the reference architecture)")
    return {"weights": rest}


register_builtin(Builtin(
    prefix="odbench",
    target="odbench.reference.encoder:ReferenceEncoder",
    parse=_parse_odbench,
    usage="odbench:baseline | odbench:mitigated | odbench:PATH (reference CLIPs trained on PictoWorld)",
    examples=("odbench:baseline", "odbench:mitigated"),
))


# ---- hf:ORG/NAME[@REVISION] | hf:FOLDER ---------------------------------------------------------

def _parse_hf(rest: str) -> dict[str, str]:
    if not rest:
        raise EncoderError("hf needs a model: hf:ORG/NAME[@REVISION] or hf:./folder, "
                           "e.g. hf:openai/clip-vit-base-patch32")
    if Path(rest).expanduser().is_dir():   # a folder may well have an '@' in its path
        return {"model": rest}
    model, sep, revision = rest.rpartition("@")
    if not sep:
        return {"model": rest}
    if not model or not revision:
        raise EncoderError(f"hf:{rest}: expected hf:ORG/NAME@REVISION (a branch, tag or commit)")
    return {"model": model, "revision": revision}


register_builtin(Builtin(
    prefix="hf",
    target="odbench.encoders.hf_adapter:HFEncoder",
    parse=_parse_hf,
    usage="hf:ORG/NAME[@REVISION] | hf:FOLDER (a transformers dual encoder such as CLIP or SigLIP; "
          "pip install 'odbench[hf]')",
    examples=("hf:openai/clip-vit-base-patch32", "hf:./my-checkpoint"),
))


# ---- mteb:NAME[@REVISION] ----------------------------------------------------------------------

def _parse_mteb(rest: str) -> dict[str, str]:
    if not rest:
        raise EncoderError("mteb needs a model of MTEB's registry: mteb:NAME[@REVISION], "
                           "e.g. mteb:openai/clip-vit-base-patch32")
    model, sep, revision = rest.rpartition("@")
    if not sep:
        return {"model": rest}
    if not model or not revision:
        raise EncoderError(f"mteb:{rest}: expected mteb:NAME@REVISION (the revision MTEB pins for NAME)")
    return {"model": model, "revision": revision}


register_builtin(Builtin(
    prefix="mteb",
    target="odbench.encoders.mteb_adapter:MTEBEncoder",
    parse=_parse_mteb,
    usage="mteb:NAME[@REVISION] (an image-text model of MTEB's registry, through MTEB's own wrapper; "
          "pip install 'odbench[mteb]')",
    examples=("mteb:openai/clip-vit-base-patch32",),
))
