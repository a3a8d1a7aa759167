#!/usr/bin/env python
"""A diagnostic (not a benchmark metric) for the reference study: how often a model is trapped.

For every edit x⁻ʳ of a source x, it compares, in the submitted rankings, the item that tells
the truth with the trap of the same source:

- text to image: a query caption naming the objects of x⁻ʳ (the edited caption c⁻ʳ in an
  exhaustive dataset; in a partial one an original caption c naming r, where x is the truth
  and x⁻ʳ the trap): is the trap ranked above the truth?
- image to text: the query x⁻ʳ; truth = its source's edited captions c⁻ʳ, trap = its source's
  original captions (which name r): is the best trap caption ranked above the best truth?

Pairs where neither item is in the top K are skipped. A model that relies on co-occurrence
falls into the trap more often for `decorrelate` edits than for `control` edits. Computed from
result documents' rankings and the dataset only.

    python scripts/trap_diagnostic.py RESULT.json [...] [--dataset FOLDER]
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from odbench.benchmark import Benchmark
from odbench.data import load_benchmark
from odbench.dataset_format import EXHAUSTIVE

MISSING = 10**9


def _rank(ranked: list[str], ids) -> int:
    """Best position of any of `ids` in the list (MISSING when none is there)."""
    pos = {g: i for i, g in enumerate(ranked)}
    return min((pos[i] for i in ids if i in pos), default=MISSING)


def trap_rates(doc: dict, benchmark: Benchmark) -> dict[str, dict[str, dict[str, float]]]:
    images, captions = benchmark.images, benchmark.captions
    original_image = {int(images.src[i]): images.ids[i] for i in np.flatnonzero(images.is_original)}
    original_captions: dict[int, list[str]] = defaultdict(list)
    edited_captions: dict[tuple[int, str], list[str]] = defaultdict(list)
    for i in range(len(captions)):
        key = int(captions.src[i])
        if captions.kind[i] == "original":
            original_captions[key].append(captions.ids[i])
        else:
            edited_captions[(key, captions.removed[i])].append(captions.ids[i])
    counts = {d: {k: [0, 0] for k in ("decorrelate", "control")} for d in ("t2i", "i2t")}

    def count(direction: str, kind: str, trap: int, truth: int) -> None:
        if trap == MISSING and truth == MISSING:
            return
        counts[direction][kind][0] += 1
        counts[direction][kind][1] += trap < truth

    for p in np.flatnonzero(~images.is_original):
        src, kind, removed, edit = int(images.src[p]), str(images.kind[p]), images.removed[p], images.ids[p]
        x = original_image[src]
        if benchmark.caption_style == EXHAUSTIVE:
            for c in edited_captions[(src, removed)]:
                ranked = doc["rankings"]["t2i"].get(c)
                if ranked is not None:
                    count("t2i", kind, _rank(ranked, [x]), _rank(ranked, [edit]))
        else:
            for c in original_captions[src]:
                ranked = doc["rankings"]["t2i"].get(c)
                if ranked is not None and removed in captions.labels[captions.index[c]]:
                    count("t2i", kind, _rank(ranked, [edit]), _rank(ranked, [x]))
        ranked = doc["rankings"]["i2t"][edit]
        traps = [c for c in original_captions[src] if removed in captions.labels[captions.index[c]]]
        truths = edited_captions[(src, removed)]
        if traps and truths:
            count("i2t", kind, _rank(ranked, traps), _rank(ranked, truths))
    return {d: {k: {"trap_above_truth": v[1] / max(1, v[0]), "n": v[0]} for k, v in per.items()}
            for d, per in counts.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+")
    p.add_argument("--dataset", default=None, help="dataset folder (default: the embedded odbench-picto)")
    args = p.parse_args(argv)
    benchmark = load_benchmark(args.dataset)
    for path in args.results:
        rates = trap_rates(json.loads(Path(path).read_text()), benchmark)
        print(Path(path).stem, "  ".join(
            f"{d} {k}: trap>truth {v['trap_above_truth']:.3f} (n={v['n']})"
            for d, per in rates.items() for k, v in per.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
