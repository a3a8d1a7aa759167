#!/usr/bin/env python
"""Follow-up to the reference study: does a harder TRAINING world make the baseline use co-occurrence?

The test benchmark (embedded odbench-picto v1.0.0), its definitions and the metrics are untouched;
only the training side changes:

- a 32 px variant of the reference CLIP, ``odbench-ref32``: the ``odbench-ref`` config with
  ``image_size`` 32 and ``patch_size`` 4 (the same 8 x 8 = 64 patch tokens and the same parameter
  count up to the positional embedding, so only the input resolution differs; open_clip's
  preprocess resizes every image, training and test, to 32 px);
- training data with pair co-occurrence 0.99 (made with dataset_builders.pictoworld.generate).

It only wraps the documented CLIs so that they know ``odbench-ref32``:

    # odbench train-reference / odbench finetune, train-reference training odbench-ref32 when --arch32
    python scripts/followup_harder_world.py [--arch32] cli train-reference --pictoworld ... --output ...
    python scripts/followup_harder_world.py [--arch32] cli finetune --model open_clip:odbench-ref32//PATH ...
    # odbench-eval (the 32 px models are open_clip:odbench-ref32//abs/path/model.safetensors)
    python scripts/followup_harder_world.py [--arch32] eval --model SPEC --output OUT.json
    # image-to-text trap rate (a diagnostic, not a benchmark metric), from result files only
    python scripts/followup_harder_world.py i2t-trap RESULT.json [...]

i2t-trap: for every edited image query y = x minus r (decorrelate or control), among its top-K
captions, the trap captions are x's original captions that name r and the relevant ones are the
captions of x whose mentions are all present in y (SPEC section 4). It reports how often the
best trap caption is ranked above the best relevant one (queries where neither is in the top K
are skipped), per edit kind. The mirror image of scripts/trap_diagnostic.py (text to image).
"""
from __future__ import annotations

import copy
import sys

ARCH32 = "odbench-ref32"


def register_arch32() -> None:
    import odbench.reference as ref
    from odbench.encoders import register_model_config

    config = copy.deepcopy(ref.REFERENCE_CONFIG)
    config["vision_cfg"].update(image_size=32, patch_size=4)
    register_model_config(ARCH32, config)


def i2t_trap(doc: dict, benchmark) -> dict[str, dict[str, float]]:
    images, captions = benchmark.images, benchmark.captions
    counts: dict[str, list[int]] = {"decorrelate": [0, 0], "control": [0, 0]}
    for q, ranked in doc["rankings"]["i2t"].items():
        y = images.index[q]
        kind = str(images.kind[y])
        if kind not in counts:
            continue
        objects = images.labels[y]
        best_trap = best_rel = 99
        for i, c in enumerate(ranked):
            j = captions.index[c]
            if captions.src[j] != images.src[y]:
                continue
            mentions = captions.labels[j]
            if captions.kind[j] == "original" and images.removed[y] in mentions:
                best_trap = min(best_trap, i)
            elif mentions <= objects:
                best_rel = min(best_rel, i)
        if best_trap == best_rel == 99:
            continue
        counts[kind][0] += 1
        counts[kind][1] += best_trap < best_rel
    return {k: {"trap_above_relevant": v[1] / max(1, v[0]), "n": v[0]} for k, v in counts.items()}


def main(argv: list[str]) -> int:
    arch32 = "--arch32" in argv[:1]
    if arch32:
        argv = argv[1:]
        register_arch32()
    if argv and argv[0] == "i2t-trap":
        import json
        from pathlib import Path

        from odbench.data import load_benchmark

        benchmark = load_benchmark()   # the embedded odbench-picto
        for path in argv[1:]:
            rates = i2t_trap(json.loads(Path(path).read_text()), benchmark)
            print(Path(path).stem, " ".join(f"{k}: trap>relevant {v['trap_above_relevant']:.3f} (n={v['n']})"
                                           for k, v in rates.items()))
        return 0
    if not argv or argv[0] not in ("cli", "eval"):
        print(__doc__)
        return 2
    if argv[0] == "cli":
        from odbench.cli.main import build_parser

        args = build_parser(argv[1:]).parse_args(argv[1:])
        if arch32 and args.command == "train-reference":
            return args.func(args, arch=ARCH32)
        return args.func(args)
    from odbench.cli.eval import main as eval_main

    return eval_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
