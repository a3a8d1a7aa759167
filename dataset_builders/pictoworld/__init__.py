"""PictoWorld: seeded COCO-format scenes of OpenMoji pictograms on procedural backgrounds.

    from dataset_builders.pictoworld import generate, exact_remove
    generate("data/pictoworld", seed=0, n_images={"train": 2000, "test": 300})

Modules: `glyphs` (category -> OpenMoji glyph), `backgrounds` (scene types, their object
priors and drawings), `scene` (sampling, rendering, masks), `captions` (the grammar),
`generate` (COCO files, exact remover).  Design: the README's "The datasets" section and docs/decisions.md.
"""
from .generate import (
    DEFAULT_CORRELATION,
    DEFAULT_PAIRS,
    EXACT_REMOVER,
    GENERATOR_VERSION,
    exact_remove,
    exact_renderer,
    generate,
)
from .scene import render_scene, sample_scene

__all__ = ["DEFAULT_CORRELATION", "DEFAULT_PAIRS", "EXACT_REMOVER", "GENERATOR_VERSION", "exact_remove",
           "exact_renderer", "generate", "render_scene", "sample_scene"]
