"""Compare two versions of the rule-based caption editor on real and generated captions.

    python scripts/caption_editor_versions.py --coco ../shared/coco-mini/annotations/captions_val2017.json
    python scripts/caption_editor_versions.py --pictoworld 20000      # generates PictoWorld, seed 0

Every (caption, category it mentions) is one attempt, as `edit_all` counts them. Prints, per
version, successes / attempts, and every attempt whose result differs between the versions.
Asserts nothing: it is how the figures in docs/decisions.md and the tests' comments were taken.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from dataset_builders.caption_editor import RuleEditor, edit_all
from odbench.lexicon import Lexicon


def pictoworld_captions(n_train: int, seed: int) -> list[str]:
    from dataset_builders.pictoworld import generate
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "pictoworld", seed=seed, n_images={"train": n_train, "test": 300},
                        image_size=64, correlation={"train": 0.9, "test": 0.5})
        return [a["caption"] for split in ("train", "test")
                for a in json.loads((root / "annotations" / f"captions_{split}.json").read_text())["annotations"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coco", help="a COCO captions file")
    parser.add_argument("--pictoworld", type=int, help="PictoWorld training images to generate (plus 300 test)")
    parser.add_argument("--seed", type=int, default=0, help="PictoWorld generator seed")
    parser.add_argument("--old", default="1.0.0")
    parser.add_argument("--new", default=RuleEditor().version)
    args = parser.parse_args()
    if args.coco:
        captions = [a["caption"] for a in json.loads(Path(args.coco).read_text())["annotations"]]
    elif args.pictoworld:
        captions = pictoworld_captions(args.pictoworld, args.seed)
    else:
        parser.error("give --coco FILE or --pictoworld N")
    lexicon = Lexicon.coco()
    old = edit_all(RuleEditor(args.old), captions, lexicon)
    new = edit_all(RuleEditor(args.new), captions, lexicon)
    print(f"{len(captions)} captions, {old.attempts} attempts")
    for version, report in ((args.old, old), (args.new, new)):
        print(f"rule-based/{version}: {report.successes}/{report.attempts} = {report.success_rate:.1%}")
    differing = [(a, b) for a, b in zip(old.edits, new.edits, strict=True) if a != b]
    print(f"attempts with a different result: {len(differing)}")
    for (text, category, before), (_, _, after) in differing:
        print(f"- {category}: {text.strip()!r}\n    {args.old}: {before!r}\n    {args.new}: {after!r}")


if __name__ == "__main__":
    main()
