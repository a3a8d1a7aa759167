#!/usr/bin/env python
"""A diagnostic (not a benchmark metric) for the reference study: how often a model is trapped.

For every text-to-image query (an original caption c of source x naming an object r) and every
edit x⁻ʳ of x that removed r, it checks whether x⁻ʳ is ranked above x in the submitted top-K
(pairs where neither is in the top K are skipped). A model that relies on co-occurrence should
rank the decorrelate edit above the original more often than a control edit; one that cannot
tell them apart does so about half the time. Computed from result documents' rankings only.

    python scripts/trap_diagnostic.py RESULT.json [...] [--dataset FOLDER]
"""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path


def trap_rates(doc: dict, dataset: Path) -> dict[str, dict[str, float]]:
    import pandas as pd
    import pyarrow.parquet as pq

    im = pd.concat([pq.read_table(f, columns=["image_id", "src_id", "edit_kind", "removed"]).to_pandas()
                    for f in sorted(glob.glob(str(dataset / "images" / "*.parquet")))])
    cap = pd.concat([pq.read_table(f, columns=["caption_id", "src_id", "mentions"]).to_pandas()
                     for f in sorted(glob.glob(str(dataset / "captions" / "*.parquet")))]).set_index("caption_id")
    orig = im[im.edit_kind == "original"].set_index("src_id").image_id.to_dict()
    by_src: dict[str, list] = {}
    for r in im[im.edit_kind != "original"].itertuples():
        by_src.setdefault(r.src_id, []).append((r.image_id, r.edit_kind, r.removed))
    counts = {"decorrelate": [0, 0, 0], "control": [0, 0, 0]}
    for q, ranked in doc["rankings"]["t2i"].items():
        c = cap.loc[q]
        x = orig[c.src_id]
        pos = {g: i for i, g in enumerate(ranked)}
        for edit, kind, removed in by_src.get(c.src_id, []):
            if removed not in set(c.mentions) or (x not in pos and edit not in pos):
                continue
            n = counts[kind]
            n[0] += 1
            n[1] += pos.get(edit, 99) < pos.get(x, 99)
            n[2] += x in pos
    return {k: {"edit_above_original": v[1] / max(1, v[0]), "original_in_topk": v[2] / max(1, v[0]), "n": v[0]}
            for k, v in counts.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+")
    p.add_argument("--dataset", default=str(Path(__file__).resolve().parents[1] / "odbench/embedded/odbench-picto"))
    args = p.parse_args(argv)
    for path in args.results:
        rates = trap_rates(json.loads(Path(path).read_text()), Path(args.dataset))
        print(Path(path).stem, " ".join(f"{k}: edit>orig {v['edit_above_original']:.3f} "
                                       f"orig-in-top10 {v['original_in_topk']:.3f} (n={v['n']})"
                                       for k, v in rates.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
