"""The reference models' synthetic (decorrelated) training set, from a PictoWorld training folder.

A thin wrapper over ``dataset_builders.train_set`` for the reference experiments: pairs are
selected on the whole training split with the embedded benchmark's thresholds
(``PictoRecipe().selection``), and the `remove` / `paste` rows are made from the first
``n_source_images`` training images (the builder inpaints every eligible edit, so this bounds
its cost; every row is still a training image, never a test one).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from .embedded import CITATION, PictoRecipe, read_pictoworld
from .hf_folder import DatasetCard
from .pair_stats import compute_pair_stats, selected_pairs
from .train_set import TrainSetConfig, build_train_set


def build_synthetic(pictoworld: str | os.PathLike, out: str | os.PathLike, *, n_source_images: int = 3000,
                    seed: int = 0, paste_per_pair: int = 200, num_workers: int = 2) -> dict[str, Any]:
    """Build the set into `out`; returns its folder, dataset hash, the selected pairs and the report."""
    train = read_pictoworld(pictoworld, "train")
    selected = selected_pairs(compute_pair_stats(train, PictoRecipe().selection))
    subset = dataclasses.replace(train, images=train.images[:n_source_images])
    config = TrainSetConfig(name="odbench-picto-train", version="1.0.0", seed=seed,
                            paste_per_pair=paste_per_pair, num_workers=num_workers)
    card = DatasetCard(name="odbench-picto-train", version="1.0.0", license="cc-by-sa-4.0", citation=CITATION,
                       description="Synthetic decorrelated training pairs (remove / paste rows) made from "
                                   "a PictoWorld training split, for ODBench's reference experiments.")
    info, report = build_train_set(subset, selected, out, config, card)
    return {"folder": str(info.path), "dataset_hash": info.dataset_hash,
            "pairs": [[s.a, s.b] for s in selected], **report}
