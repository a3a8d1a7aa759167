"""The learned inpainter (`--inpainter diffusers`), on a tiny randomly initialised stand-in for
a Stable Diffusion inpainting pipeline that the test saves to a folder: no download, CPU only.
The stand-in paints noise, not background; what is tested is the loading, the contract of an
inpainter (size, pixels outside the mask untouched, repeatable), and the wiring through the
builder CLI into the manifest and the `editor` column."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("diffusers", reason="no diffusers (pip install -e '.[test]' or '.[inpaint]')")
pytest.importorskip("transformers", reason="no transformers (pip install -e '.[test]' or '.[inpaint]')")

from dataset_builders.__main__ import main as build  # noqa: E402
from dataset_builders.inpainters import Inpainter, get_inpainter  # noqa: E402
from odbench.data import load_config, read_manifest  # noqa: E402

from coco_trees import needs_coco_mini, write_tree  # noqa: E402
from tiny_inpainting_model import save_tiny_inpainting_pipeline  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # The stand-in's layers are so small that thread hand-offs cost more than the arithmetic
    # (one of its convolutions, measured on 2 busy cores: 0.5 ms on one thread, 15-36 ms on two).
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return save_tiny_inpainting_pipeline(tmp_path_factory.mktemp("tiny-sd-inpaint"))


def _scene() -> tuple[Image.Image, np.ndarray]:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), "RGB")
    mask = np.zeros((60, 80), dtype=bool)
    mask[20:40, 30:55] = True
    return image, mask


def test_fills_only_the_mask_and_repeats(tiny_weights):
    inpainter = get_inpainter("diffusers", weights=tiny_weights, steps=2)
    assert isinstance(inpainter, Inpainter) and inpainter.name == "diffusers"
    image, mask = _scene()
    out = inpainter.inpaint(image, mask, removed="dog")
    before, after = np.asarray(image), np.asarray(out)
    assert out.size == image.size and out.mode == "RGB"
    assert np.array_equal(after[~mask], before[~mask])            # the rest of the photo is untouched
    assert not np.array_equal(after[mask], before[mask])          # the hole was painted
    assert np.array_equal(np.asarray(inpainter.inpaint(image, mask, removed="dog")), after)  # seeded per edit


def test_version_names_the_weights_and_settings(tiny_weights, tmp_path):
    a = get_inpainter("diffusers", weights=tiny_weights)
    assert a.version == get_inpainter("diffusers", weights=tiny_weights).version
    assert a.version != get_inpainter("diffusers", weights=tiny_weights, steps=5).version
    other = tmp_path / "other"
    other.mkdir()
    for f in tiny_weights.rglob("*"):          # the same model with one changed byte of config
        if f.is_file():
            target = other / f.relative_to(tiny_weights)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes() + (b" " if f.name == "model_index.json" else b""))
    assert a.version.split("+w")[1][:12] != get_inpainter("diffusers", weights=other).version.split("+w")[1][:12]


def test_refuses_a_folder_without_a_pipeline(tmp_path):
    with pytest.raises(ValueError, match="no model_index.json"):
        get_inpainter("diffusers", weights=tmp_path)


@needs_coco_mini
def test_builder_cli_records_the_learned_inpainter(tiny_weights, tmp_path, monkeypatch):
    root = write_tree(tmp_path / "coco", "2017")
    monkeypatch.chdir(root)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert build(["test-split", "--version", "0.0.1", "--out", "build/learned", "--min-support", "2",
                      "--workers", "1", "--inpainter", "diffusers", "--inpainter-weights", str(tiny_weights),
                      "--inpainter-steps", "1",
                      "--train-instances", "annotations/instances_train2017.json",
                      "--train-captions", "annotations/captions_train2017.json", "--train-images", "images/train2017",
                      "--instances", "annotations/instances_val2017.json",
                      "--captions", "annotations/captions_val2017.json", "--images", "images/val2017"]) == 0
    assert json.loads(stdout.getvalue())["images"]["decorrelate"] > 0
    inpainter = read_manifest(root / "build" / "learned")["inpainter"]
    assert inpainter.startswith("diffusers/")
    editors = {r["editor"] for r in load_config(root / "build" / "learned", "images").select_columns(["edit_kind", "editor"])
               if r["edit_kind"] != "original"}
    assert editors == {inpainter}
