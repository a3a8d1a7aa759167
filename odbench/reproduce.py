"""Re-running a submission from its model spec (`odbench leaderboard --reproduce`).

Recomputing every metric from the rankings proves that the numbers follow from the rankings,
not that the named model produced them: a copied result under another name, another
parameter count or a no-op argument passes. For the models this repository can build by
itself (the packaged reference models, an untrained open_clip architecture, the mock
encoder), the leaderboard can run the evaluation again and compare the model's identity and
the rankings hash. Only built-in names with the arguments listed here are rebuilt, so nothing
a submitter wrote is ever imported. Weights come from outside only with `allow_download`
(`odbench leaderboard --reproduce --allow-download`, a maintainer's run): public weights at a
fixed revision, `hf:ORG/NAME@COMMIT` or `open_clip:ARCH/TAG`, from the local hub cache or the hub.

Reproduction runs on the CPU, with the seed, batch size, precision and K of the file.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .benchmark import Benchmark
from .errors import ODBenchError
from .queries import QuerySets
from .reference import REFERENCE_MODELS
from .results import ModelInfo, ResultDocument
from .run_config import RunConfig

# CI re-runs the models up to this size on every change. On the 2-core CI machine the reference
# models (3.6 M) take about 25 s each; an untrained open_clip ViT-B-32 (151 M) about 3 minutes.
CI_MAX_PARAMETERS = 20_000_000

# Built-in prefixes that need nothing from outside the repository, and the --model-arg keys
# each may carry: any other argument could name outside weights, code or a device.
_REBUILDABLE_ARGS: dict[str, frozenset[str]] = {
    "odbench": frozenset(),
    "open_clip": frozenset({"seed"}),
    "mock": frozenset({"seed"}),
}


class NotReproduced(ODBenchError):
    """The rebuilt model or its rankings differ from what the file says."""


def parameter_text(n: int | None) -> str:
    """3636193 -> '3.6M' (as the leaderboard shows parameter counts)."""
    if n is None:
        return "n/a"
    for size, unit in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


_COMMIT = re.compile(r"[0-9a-f]{40}")


def public_weights(spec: str, args: Mapping[str, Any]) -> str | None:
    """None when `spec` names public weights at a fixed revision that odbench loads itself
    (`hf:ORG/NAME@COMMIT`, `open_clip:ARCH/TAG` of open_clip's registry), with no argument
    that could point elsewhere; else why not."""
    prefix, _, rest = spec.partition(":")
    if prefix == "hf":
        model, at, revision = rest.rpartition("@")
        if not at or not _COMMIT.fullmatch(revision) or model.count("/") != 1 or model.startswith((".", "/", "~")):
            return "an hf: model is reproducible only as hf:ORG/NAME@COMMIT (a 40-hex commit of a hub repository)"
        if args:
            return f"an hf: model is re-run without arguments, the file has {sorted(args)[0]!r}"
        return None
    if prefix == "open_clip":
        arch, slash, tag = rest.partition("/")
        if not slash or rest.startswith(("local-dir:", "hf-hub:")):
            return "an open_clip: model is reproducible only as open_clip:ARCH/TAG (a pretrained tag of open_clip)"
        extra = sorted(set(args) - _REBUILDABLE_ARGS["open_clip"])
        if extra:
            return f"open_clip: models are re-run only with the argument 'seed', the file has {extra[0]!r}"
        import open_clip

        if (arch, tag) not in set(open_clip.list_pretrained()):
            return f"{arch}/{tag} is not a pretrained tag of open_clip {open_clip.__version__}"
        return None
    return "the model is code from outside odbench"


def why_not_rebuildable(spec: str, args: Mapping[str, Any], *, allow_download: bool = False) -> str | None:
    """None when the repository can build the model `spec` with `args` by itself (or, with
    `allow_download`, from public weights at a fixed revision: `public_weights`), else why not."""
    prefix, sep, rest = spec.partition(":")
    if allow_download and prefix in ("hf", "open_clip") and public_weights(spec, args) is None:
        return None
    if prefix == "hf":
        # odbench's own adapter; it is the weights that live outside the repository
        return "the model loads Hugging Face weights that are not in the repository"
    if not sep or prefix not in _REBUILDABLE_ARGS:
        return "the model is code from outside odbench"
    extra = sorted(set(args) - _REBUILDABLE_ARGS[prefix])
    if extra:
        return f"{prefix}: models are rebuilt only with the arguments " \
               f"{sorted(_REBUILDABLE_ARGS[prefix]) or 'none'}, the file has {extra[0]!r}"
    if prefix == "odbench" and rest not in REFERENCE_MODELS:
        return "only the packaged reference weights (odbench:baseline, odbench:mitigated) are rebuilt"
    if prefix == "open_clip" and ("/" in rest or rest.startswith(("local-dir:", "hf-hub:"))):
        return "the model loads pretrained weights that are not in the repository"
    return None


def ci_status(model: ModelInfo) -> str:
    """The leaderboard's `reproduced` column: 'yes' (CI re-runs it), 'skipped' or 'no'."""
    if why_not_rebuildable(model.spec, model.args) is not None:
        return "no"
    n = model.num_parameters
    return "yes" if n is not None and n <= CI_MAX_PARAMETERS else "skipped"


_IDENTITY = ("weights_hash", "num_parameters", "untrained", "name", "revision")


def rerun(doc: ResultDocument, benchmark: Benchmark, queries: QuerySets, *,
          allow_download: bool = False) -> ResultDocument:
    """Rebuild the model of a checked document, evaluate it again on `benchmark` (with its query
    sets) and return the new document; raise NotReproduced when the model's identity (weights
    hash, parameter count, untrained flag, name, hub commit) or the rankings hash differ. With
    `allow_download`, public pretrained weights (`public_weights`) are loaded too: from the
    local hub cache, or downloaded unless HF_HUB_OFFLINE is set."""
    from .evaluate import build_encoder, evaluate

    model, run = doc.model, doc.run
    why_not = why_not_rebuildable(model.spec, model.args, allow_download=allow_download)
    if why_not is not None:
        raise ValueError(f"not rebuildable: {why_not}")   # callers check first
    try:
        loaded = build_encoder(model.spec, dict(model.args), seed=run.seed)
    except ODBenchError as exc:
        raise NotReproduced(f"{model.spec} could not be rebuilt: {exc}") from None
    rebuilt = loaded.identity()
    for key in _IDENTITY:   # before evaluating: a wrong parameter count must not cost a run
        if rebuilt.get(key) != getattr(model, key):
            raise NotReproduced(f"the rebuilt {model.spec} has {key} {rebuilt[key]!r}, "
                                f"the file says {getattr(model, key)!r}")
    config = RunConfig(device="cpu", batch_size=run.batch_size, precision=run.precision,
                       num_workers=0, seed=run.seed, k=run.k)
    new = evaluate(loaded, benchmark, queries, config, dataset_source=doc.benchmark.source)
    if new.rankings_sha256 != doc.rankings_sha256:
        raise NotReproduced(f"re-running {model.spec} gives rankings sha256 "
                            f"{new.rankings_sha256[:12]}..., the file has {doc.rankings_sha256[:12]}...")
    return new
