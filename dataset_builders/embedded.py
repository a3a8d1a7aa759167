"""The recipe of the embedded benchmark `odbench-picto`, shipped in `odbench/embedded/`.

Everything that determines its content is in this file, so the shipped data can always be
rebuilt from the code (tests/test_embedded.py compares content hashes).
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odbench.data import EMBEDDED_DIR
from odbench.dataset_format import VALIDATION
from odbench.hashing import canonical_json, sha256_hex

from .caption_editor import RuleEditor
from .coco_format import read_coco
from .hf_folder import DatasetCard, FolderInfo
from .inpainters import ExactRemover, Inpainter, editor_string
from .pair_stats import PairSelection
from .pictoworld import EXACT_REMOVER, GENERATOR_VERSION, exact_renderer, generate
from .source import Source
from .test_split import TestSplitConfig, build_test_split

CITATION = """@misc{odbench,
  title  = {ODBench: an object-decorrelation benchmark for image-text retrieval},
  author = {{ODBench contributors}},
  year   = {2026},
  note   = {Following Kim, Koepke, Schmid and Akata, Exposing and Mitigating Spurious
            Correlations for Cross-Modal Retrieval, CVPR Workshops 2023}
}"""
OPENMOJI_ATTRIBUTION = ("Object pictograms are from OpenMoji (https://openmoji.org), the open-source "
                        "emoji and icon project, licensed under CC BY-SA 4.0; the images of this "
                        "dataset are adaptations and are shared under the same licence.")


@dataclass(frozen=True)
class PictoRecipe:
    """Generator and builder settings of one PictoWorld-based benchmark version."""
    name: str = "odbench-picto"
    version: str = "2.1.0"
    seed: int = 0
    n_images: dict[str, int] = field(default_factory=lambda: {"train": 2000, "test": 550})
    correlation: dict[str, float] = field(default_factory=lambda: {"train": 0.9, "test": 0.8})
    # More pair scenes in the test split than in training (where it is 0.08, which sets the
    # planted statistics): decorrelate edits need both members in one scene.
    pair_rate: dict[str, float] = field(default_factory=lambda: {"train": 0.08, "test": 0.12})
    # SPEC v2: test captions name every object, so relevance is decided by the object set.
    caption_style: dict[str, str] = field(default_factory=lambda: {"train": "partial", "test": "exhaustive"})
    # One control per decorrelate edit, same source first (SPEC 3): matched, and the dataset
    # spends its size on decorrelate edits.
    controls_per_decorrelate: float = 1.0
    image_size: int = 128
    # PictoWorld's scene priors make every object of a scene type co-occur with NPMI 0.2-0.45
    # (kitchen things, street things), so the COCO thresholds scaled down would select ~100
    # weak pairs with a handful of test edits each. The benchmark is built around the six
    # planted pairs (NPMI ~0.9, ~250 training co-occurrences of 2000 images); these thresholds
    # select exactly those. They are recorded in the manifest like any other parameter.
    selection: PairSelection = PairSelection(min_support=50, min_npmi=0.5, min_conditional=0.5)
    # The caption editor's version is part of every edited caption row ("rule-based/1.0.0"), so
    # the recipe pins the one its data was built with.
    caption_editor_version: str = "1.0.0"
    # SPEC 9's validation split: the test recipe (correlation, pair rate, caption style of
    # "test") on a world of its own generator seed. 5 is used by no other PictoWorld world of
    # the project (0: this benchmark's train and test, 1 and 2: the reference study's training
    # worlds, 3 and 4: the tests' small worlds); its ids start at 1,000,001, far above any id of
    # the seed-0 world. 0 scenes: no validation split.
    validation_seed: int = 5
    validation_images: int = 150
    validation_first_id: int = 1_000_001
    # Earlier versions whose test split is this version's (same dataset hash): their results
    # are results on this data (the leaderboard serves them from this folder).
    same_test_split_as: tuple[str, ...] = ("2.0.0",)

    def card(self) -> DatasetCard:
        return DatasetCard(
            name=self.name, version=self.version, license="cc-by-sa-4.0", citation=CITATION,
            attribution=OPENMOJI_ATTRIBUTION, pretty_name="ODBench PictoWorld test set",
            description=(
                "The embedded ODBench test set: PictoWorld scenes (OpenMoji pictograms on procedural "
                "backgrounds) with exact instance masks and generated captions that name every object "
                "in the scene (caption style `exhaustive`, SPEC v2). Objects of pairs that co-occur "
                "strongly in the PictoWorld training split are removed from test images "
                "(`decorrelate` edits), other objects are removed as controls (one per decorrelate "
                "edit, from the same scene where possible), and captions are edited to match. A "
                "caption is relevant to exactly the images whose objects it names. See the ODBench "
                "SPEC for relevance and the ODmAP@k metric."))


PUBLISHED = PictoRecipe()          # odbench-picto as shipped (2.1.0)
PUBLISHED_INPAINTER = "telea"      # its manifest: opencv-telea/5.0.0


def recipe_differences(recipe: PictoRecipe, inpainter: str | Inpainter = PUBLISHED_INPAINTER) -> list[str]:
    """How a build differs from the published recipe (name and version aside), in words."""
    out = [f"{f.name} {getattr(recipe, f.name)!r} (published: {getattr(PUBLISHED, f.name)!r})"
           for f in dataclasses.fields(PictoRecipe)
           if f.name not in ("name", "version") and getattr(recipe, f.name) != getattr(PUBLISHED, f.name)]
    if inpainter != PUBLISHED_INPAINTER:
        shown = inpainter if isinstance(inpainter, str) else editor_string(inpainter)
        out.append(f"inpainter {shown!r} (published: {PUBLISHED_INPAINTER!r})")
    return out


def identified(recipe: PictoRecipe, inpainter: str | Inpainter) -> tuple[PictoRecipe, dict[str, Any] | str]:
    """The recipe under a name of its own when it differs from the published one but carries its
    name and version (a seed-7 build is not odbench-picto 2.1.0), and the provenance the
    manifest records: "published", or what it is a variant of and how it differs."""
    differences = recipe_differences(recipe, inpainter)
    if not differences:
        return recipe, "published"
    if (recipe.name, recipe.version) == (PUBLISHED.name, PUBLISHED.version):
        digest = sha256_hex(canonical_json(differences))[:8]
        recipe = dataclasses.replace(recipe, name=f"{PUBLISHED.name}-variant-{digest}")
    return recipe, {"variant_of": f"{PUBLISHED.name} {PUBLISHED.version}", "differences": differences}


def generate_source(recipe: PictoRecipe, workdir: str | os.PathLike) -> tuple[Source, Source, Path]:
    """PictoWorld train and test splits in COCO format under `workdir`, read back as Sources."""
    root = Path(workdir) / "pictoworld"
    generate(root, seed=recipe.seed, n_images=recipe.n_images, image_size=recipe.image_size,
             correlation=recipe.correlation, pair_rate=recipe.pair_rate, caption_style=recipe.caption_style)
    return read_pictoworld(root, "train"), read_pictoworld(root, "test"), root


def generate_validation(recipe: PictoRecipe, workdir: str | os.PathLike) -> tuple[Source, Path]:
    """The validation world: `recipe`'s test settings, its own seed and ids (SPEC 9)."""
    root = Path(workdir) / "pictoworld-validation"
    generate(root, seed=recipe.validation_seed, n_images={VALIDATION: recipe.validation_images},
             image_size=recipe.image_size, first_id=recipe.validation_first_id,
             correlation={VALIDATION: recipe.correlation["test"]}, pair_rate={VALIDATION: recipe.pair_rate["test"]},
             caption_style={VALIDATION: recipe.caption_style["test"]})
    return read_pictoworld(root, VALIDATION), root


def read_pictoworld(root: str | os.PathLike, split: str) -> Source:
    root = Path(root)
    return read_coco(root / "annotations" / f"instances_{split}.json",
                     root / "annotations" / f"captions_{split}.json", root / "images" / split,
                     split_name=split, name=f"pictoworld/{split}")


def exact_inpainter(root: str | os.PathLike, split: str) -> Inpainter:
    """Re-draws the scene without the object: no inpainting artefacts at all."""
    name, version = EXACT_REMOVER.split("/")
    return ExactRemover(exact_renderer(root, split), name=name, version=version)


def build_picto(out_dir: str | os.PathLike, recipe: PictoRecipe = PictoRecipe(), *,
                inpainter: str | Inpainter = "telea", num_workers: int = 2, overwrite: bool = False,
                workdir: str | os.PathLike | None = None) -> tuple[FolderInfo, dict[str, Any]]:
    """Generate PictoWorld and build the test dataset from it, with its validation split when
    the recipe has validation scenes; `inpainter="exact"` re-draws scenes.
    A recipe other than the published one is renamed unless it has a name of its own (`identified`)."""
    recipe, provenance = identified(recipe, inpainter)
    with tempfile.TemporaryDirectory(prefix="odbench-picto-") as tmp:
        train, test, root = generate_source(recipe, workdir or tmp)
        validation, validation_root = (generate_validation(recipe, workdir or tmp) if recipe.validation_images
                                       else (None, None))
        config = TestSplitConfig(name=recipe.name, version=recipe.version, seed=recipe.seed,
                                 selection=recipe.selection, caption_style=recipe.caption_style["test"],
                                 controls_per_decorrelate=recipe.controls_per_decorrelate,
                                 caption_editor=RuleEditor(recipe.caption_editor_version),
                                 inpainter=_remover(inpainter, root, "test"), num_workers=num_workers,
                                 same_test_split_as=recipe.same_test_split_as)
        info = {"generator": "pictoworld", "generator_version": GENERATOR_VERSION,
                "n_images": recipe.n_images, "correlation": recipe.correlation,
                "pair_rate": recipe.pair_rate, "caption_style": recipe.caption_style,
                "image_size": recipe.image_size, "generator_seed": recipe.seed, "recipe": provenance}
        validation_info, validation_remover = None, None
        if validation is not None:
            validation_info = {"generator": "pictoworld", "generator_version": GENERATOR_VERSION,
                               "generator_seed": recipe.validation_seed, "first_id": recipe.validation_first_id,
                               "n_images": recipe.validation_images, "recipe_of": "test",
                               "correlation": recipe.correlation["test"], "pair_rate": recipe.pair_rate["test"],
                               "caption_style": recipe.caption_style["test"], "image_size": recipe.image_size}
            # The exact remover re-draws scenes from its own split's scene file.
            validation_remover = _remover(inpainter, validation_root, VALIDATION)
        return build_test_split(train, test, out_dir, config, recipe.card(), overwrite=overwrite,
                                source_info=info, validation=validation, validation_info=validation_info,
                                validation_inpainter=validation_remover)


def _remover(inpainter: str | Inpainter, root: Path, split: str) -> str | Inpainter:
    return exact_inpainter(root, split) if inpainter == "exact" else inpainter


def embedded_path(recipe: PictoRecipe = PictoRecipe()) -> Path:
    return EMBEDDED_DIR / recipe.name
