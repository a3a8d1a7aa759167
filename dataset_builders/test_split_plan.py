"""The test split (test_split.py) as plan, shard edits and merge (build_plan.py).

The plan holds every row of `images` and `captions` in gallery order, with the pixels of
edited images as references into the shards' parts: pair statistics, eligibility, caption
edits, control selection and the gallery shuffle are global and need no pixels, so they are
computed once, by the same functions as `build_test_split`. The merged folder has the same
dataset hash as `build_test_split` on the same inputs (tests/test_sharded_build.py). A
validation split (`build_test_split(validation=...)`, the embedded recipe's) is built by
`build_test_split` only.
"""
from __future__ import annotations

import dataclasses
import random
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from odbench.dataset_format import (
    CAPTIONS,
    CONTROL,
    DECORRELATE,
    IMAGES,
    LEXICON,
    ORIGINAL,
    PAIR_STATS,
    PAIRS,
    TEST,
    features,
)
from odbench.lexicon import Lexicon

from . import test_split
from .build_plan import Plan, PlanWriter, check_shards, image_from_json, image_to_json, resolve_images
from .card_examples import add_examples
from .hf_folder import DatasetCard, FolderInfo, write_dataset_folder
from .image_editor import edit_image
from .inpainters import editor_string, get_inpainter
from .pair_stats import NoPairSelected, compute_pair_stats, selected_pairs
from .provenance import check_disjoint
from .source import Source
from .test_split import (
    TestSplitConfig,
    _check,
    _gallery_positions,
    _map,
    _report,
    select_controls,
)

KIND = "test-split"
ROW_CONFIGS = [IMAGES, CAPTIONS]


def plan_test_split(writer: PlanWriter, train: Source, test: Source, config: TestSplitConfig, card: DatasetCard,
                    *, lexicon: Lexicon | None = None, source_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the plan of `build_test_split(train, test, ...)`; returns the plan's meta."""
    check_disjoint(train, test)
    lexicon = lexicon or Lexicon.coco()
    stats = compute_pair_stats(train, config.selection)
    selected = selected_pairs(stats)
    if not selected:
        raise NoPairSelected(train.name, config.selection, stats)
    editor = editor_string(get_inpainter(config.inpainter))
    plans = _map(partial(test_split._plan_source, selected=selected, config=config, lexicon=lexicon),
                 test.images, config, "planning edits")
    test_split.refuse_without_decorrelate(plans, selected, test)
    choice = select_controls(plans, config.controls_per_decorrelate)

    images, captions, rejected = [], [], Counter()
    for plan in plans:
        rejected.update(plan.rejected)
        img = plan.image
        keep = [p for p in plan.plans if p.edit.kind == DECORRELATE or (img.id, p.edit.removed) in choice.chosen]
        with Image.open(img.path) as im:     # the header only: is the original stored as is?
            convert = im.mode != "RGB"
        unit = None
        if keep or convert:
            unit = writer.unit({"src": image_to_json(img), "original": convert,
                                "edits": [[p.edit.removed, p.edit.kept[0] if p.edit.kept else None, p.edit.kind,
                                           p.edit.pair] for p in keep]})
        images.append({"image_id": img.id, "image": {"part": img.id, "unit": unit} if convert else str(img.path),
                       "src_id": img.id, "edit_kind": ORIGINAL, "removed": None, "objects": sorted(img.objects),
                       "kept": [], "pair": None, "mask_area": 0.0, "editor": ""})
        for c in img.captions:
            captions.append({"caption_id": c.id, "text": c.text, "src_id": img.id, "edit_kind": ORIGINAL,
                             "removed": None, "mentions": sorted(lexicon.mentions(c.text)), "pair": None,
                             "editor": ""})
        for p in keep:
            e = p.edit
            images.append({"image_id": e.image_id, "image": {"part": e.image_id, "unit": unit}, "src_id": img.id,
                           "edit_kind": e.kind, "removed": e.removed, "objects": list(e.objects),
                           "kept": list(e.kept), "pair": list(e.pair) if e.pair else None,
                           "mask_area": e.mask_area, "editor": editor})
            captions.extend(p.captions)

    rng = random.Random(config.seed)         # the one shuffle of build_test_split, same draws
    for rows in (images, captions):
        for row, pos in zip(rows, _gallery_positions(len(rows), rng), strict=True):
            row["gallery_pos"] = pos
        rows.sort(key=lambda r: r["gallery_pos"])
    for config_name, rows in ((IMAGES, images), (CAPTIONS, captions)):
        for row in rows:
            writer.row(config_name, row)

    report = _report(images, captions, rejected, test)
    report["eligible_controls"] = sum(p.edit.kind == CONTROL for sp in plans for p in sp.plans)
    report["decorrelate_with_same_source_control"] = choice.same_source
    report["controls_from_other_sources"] = choice.other_source
    manifest = test_split.test_manifest(train, test, config, lexicon, report, source_info, editor)
    return {"manifest": manifest, "card": dataclasses.asdict(card), "check": config.check,
            PAIRS: [s.as_row(with_selection=False) for s in selected], PAIR_STATS: [s.as_row() for s in stats],
            LEXICON: lexicon.rows()}


def render_test_unit(unit: dict[str, Any], config: TestSplitConfig) -> dict[str, Image.Image]:
    """The pixels of one source's chosen edits (and its RGB original where it is not RGB)."""
    image = image_from_json(unit["src"])
    inpainter = get_inpainter(config.inpainter)
    pixels = image.load()
    out = {image.id: pixels} if unit["original"] else {}
    for removed, kept, kind, pair in unit["edits"]:
        edit = edit_image(image, removed, kept, kind=kind, pair=tuple(pair) if pair else None, inpainter=inpainter,
                          eligibility=config.eligibility, dilation=config.dilation, pixels=pixels)
        out[edit.image_id] = edit.image
    return out


def merge_test_split(work: Path, plan: Plan, out: Path, *, overwrite: bool = False, check: bool | None = None,
                     extra_shards: list[Path] = ()) -> tuple[FolderInfo, dict[str, Any]]:
    """Write the dataset folder from the plan and the finished shards' parts."""
    chunks = check_shards(work, plan, list(extra_shards))
    meta = plan.meta()
    configs = {
        IMAGES: (resolve_images(plan.iter_rows(IMAGES), chunks, plan), features(IMAGES)),
        CAPTIONS: (plan.iter_rows(CAPTIONS), features(CAPTIONS)),
        PAIRS: (meta[PAIRS], features(PAIRS)),
        PAIR_STATS: (meta[PAIR_STATS], features(PAIR_STATS)),
        LEXICON: (meta[LEXICON], features(LEXICON)),
    }
    info = write_dataset_folder(out, configs, DatasetCard(**meta["card"]), meta["manifest"], split="test",
                                overwrite=overwrite)
    report = dict(meta["manifest"]["counts"])
    if meta["check"] if check is None else check:
        report["check_benchmark"] = _check(info.path, [TEST])
    examples = add_examples(info.path)
    report["card_examples"] = examples.name if examples else None
    return info, report
