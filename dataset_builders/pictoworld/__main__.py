"""CLI: python -m dataset_builders.pictoworld --out DIR --seed 0 --train 2000 --test 300"""
from __future__ import annotations

import argparse
import sys
import time

from odbench.dataset_format import EXHAUSTIVE, PARTIAL

from .generate import DEFAULT_PAIR_RATE, DEFAULT_PAIRS, generate


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(","):
        parts = [p.strip() for p in item.split("+")]
        if len(parts) != 2 or not all(parts):
            raise argparse.ArgumentTypeError(f"bad pair {item!r}: use a+b, e.g. dog+frisbee")
        out.append((parts[0], parts[1]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dataset_builders.pictoworld", description=__doc__,
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (must not exist unless --overwrite)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=2000, help="number of training images")
    ap.add_argument("--val", type=int, default=0, help="number of validation images")
    ap.add_argument("--test", type=int, default=300, help="number of test images")
    ap.add_argument("--train-correlation", type=float, default=0.9)
    ap.add_argument("--val-correlation", type=float, default=0.5)
    ap.add_argument("--test-correlation", type=float, default=0.5)
    for split, style in (("train", PARTIAL), ("val", PARTIAL), ("test", EXHAUSTIVE)):
        ap.add_argument(f"--{split}-caption-style", choices=(PARTIAL, EXHAUSTIVE), default=style,
                        help=f"captions of the {split} split: name some objects (partial) or all (exhaustive)")
    ap.add_argument("--test-pair-rate", type=float, default=DEFAULT_PAIR_RATE,
                    help="probability that a pair member is in a test scene on its own account")
    ap.add_argument("--pairs", type=_pairs, default=list(DEFAULT_PAIRS),
                    help="correlated pairs, e.g. dog+frisbee,cat+couch")
    ap.add_argument("--size", type=int, default=128, help="image side in pixels")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    counts = {"train": a.train, "val": a.val, "test": a.test}
    negative = [s for s, c in counts.items() if c < 0]
    if negative or not any(counts.values()):
        what = f"--{negative[0]} is negative" if negative else "every split has 0 images"
        print(f"pictoworld: error: {what}: give --train, --val or --test a positive count", file=sys.stderr)
        return 2
    n = {s: c for s, c in counts.items() if c > 0}
    corr = {"train": a.train_correlation, "val": a.val_correlation, "test": a.test_correlation}
    t0 = time.time()
    try:
        out = generate(a.out, seed=a.seed, n_images=n, image_size=a.size, correlation={s: corr[s] for s in n},
                       pairs=a.pairs, pair_rate={"test": a.test_pair_rate},
                       caption_style={s: getattr(a, f"{s}_caption_style") for s in n},
                       num_workers=a.workers, overwrite=a.overwrite)
    except (ValueError, FileExistsError, OSError) as e:
        print(f"pictoworld: error: {e}", file=sys.stderr)
        return 2
    total = sum(n.values())
    print(f"wrote {total} images to {out} in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
