"""The synthetic training set (train_set.py) as plan, shard edits and merge (build_plan.py).

Which removals are eligible, which caption each row gets, the `max_remove` draw and every
paste's donor, target, size and position need masks only: the plan holds every row, and the
shards make the pixels. The merged folder has the same dataset hash as `build_train_set`.
"""
from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from odbench.dataset_format import TRAIN, features
from odbench.lexicon import Lexicon

from .build_plan import Plan, PlanWriter, check_shards, image_from_json, image_to_json, resolve_images
from .hf_folder import DatasetCard, FolderInfo, write_dataset_folder
from .image_editor import EditCandidate
from .inpainters import editor_string, get_inpainter
from .pair_stats import PairStat
from .source import Source
from .test_split import _map
from .train_set import (
    PastePlan,
    TrainSetConfig,
    manifest_and_report,
    paste_plans,
    remove_candidates,
    remove_plans,
    render_paste,
    render_removals,
    sample_removals,
)

KIND = "train-set"
ROW_CONFIGS = [TRAIN]


def plan_train_set(writer: PlanWriter, train: Source, selected: list[PairStat], config: TrainSetConfig,
                   card: DatasetCard, *, lexicon: Lexicon | None = None) -> dict[str, Any]:
    """Write the plan of `build_train_set(train, selected, ...)`; returns the plan's meta."""
    lexicon = lexicon or Lexicon.coco()
    editor = editor_string(get_inpainter(config.inpainter))
    candidates = remove_candidates(train, selected)
    per_image = _map(partial(remove_plans, selected=selected, config=config, lexicon=lexicon, editor=editor),
                     candidates, config, "planning removals")
    remove = sample_removals([row for plans in per_image for _, row in plans], config)
    kept = {row["id"] for row in remove}
    unit_of = {}
    for image, plans in zip(candidates, per_image, strict=True):
        chosen = [(cand, row) for cand, row in plans if row["id"] in kept]
        if chosen:
            u = writer.unit({"src": image_to_json(image), "names": [row["id"] for _, row in chosen],
                             "remove": [[c.removed, c.kind, list(c.kept), c.pair] for c, _ in chosen]})
            unit_of.update((row["id"], u) for _, row in chosen)
    rows = [{**row, "image": {"part": row["id"], "unit": unit_of[row["id"]]}} for row in remove]
    for plan, row in paste_plans(train, selected, config, lexicon):
        u = writer.unit({"name": row["id"], "paste": {
            "target": image_to_json(plan.target), "donor": image_to_json(plan.donor), "category": plan.category,
            "size": plan.size, "spot": plan.spot}})
        rows.append({**row, "image": {"part": row["id"], "unit": u}})
    for row in rows:
        writer.row(TRAIN, row)
    manifest, _ = manifest_and_report(train, selected, rows, config, editor)
    return {"manifest": manifest, "card": dataclasses.asdict(card)}


def render_train_unit(unit: dict[str, Any], config: TrainSetConfig) -> dict[str, Image.Image]:
    if "paste" in unit:
        p = unit["paste"]
        plan = PastePlan(image_from_json(p["target"]), image_from_json(p["donor"]), p["category"],
                         tuple(p["size"]) if p["size"] else None, tuple(p["spot"]))
        return {unit["name"]: render_paste(plan)}
    image = image_from_json(unit["src"])
    cands = [EditCandidate(image.id, removed, kind, tuple(kept), tuple(pair) if pair else None)
             for removed, kind, kept, pair in unit["remove"]]
    pixels = render_removals(image, cands, config, get_inpainter(config.inpainter))
    return dict(zip(unit["names"], pixels, strict=True))


def merge_train_set(work: Path, plan: Plan, out: Path, *, overwrite: bool = False,
                    extra_shards: list[Path] = ()) -> tuple[FolderInfo, dict[str, Any]]:
    chunks = check_shards(work, plan, list(extra_shards))
    meta = plan.meta()
    rows = resolve_images(plan.iter_rows(TRAIN), chunks, plan)
    info = write_dataset_folder(out, {TRAIN: (rows, features(TRAIN))}, DatasetCard(**meta["card"]),
                                meta["manifest"], split="train", overwrite=overwrite)
    return info, dict(meta["manifest"]["counts"])
