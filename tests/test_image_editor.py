"""Image edits (SPEC section 3) and inpainters, on synthetic masks."""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from dataset_builders import inpainters
from dataset_builders.image_editor import (
    CONTROL,
    DECORRELATE,
    Eligibility,
    apply_candidate,
    check_edit,
    default_dilation,
    dilate,
    edit_candidates,
    edit_image,
    removal_mask,
)
from dataset_builders.inpainters import (
    ExactRemover,
    Inpainter,
    OpenCVInpainter,
    available_inpainters,
    editor_string,
    get_inpainter,
    register_inpainter,
)
from dataset_builders.source import Instance, SourceImage


def inst(cat: str, mask: np.ndarray, iscrowd: bool = False) -> Instance:
    return Instance(cat, iscrowd, float(mask.sum()), (0, 0, 1, 1), None,
                    decode=lambda i, h, w: mask)


def box(h: int, w: int, rows: slice, cols: slice) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[rows, cols] = True
    return m


def image_of(instances, h=10, w=10, path=None, id="i1") -> SourceImage:
    return SourceImage(id, 1, path, w, h, tuple(instances), ())


class Recorder:
    """An inpainter that fills with black and records its calls."""
    name, version = "recorder", "0"

    def __init__(self):
        self.calls = []

    def inpaint(self, image, mask, *, source_image=None, removed=None):
        self.calls.append(removed)
        out = np.asarray(image).copy()
        out[mask] = 0
        return Image.fromarray(out)


GREY = Image.new("RGB", (10, 10), (128, 128, 128))


# ---- eligibility ---------------------------------------------------------------------------

def test_mask_area_limit_is_inclusive():
    at_limit = image_of([inst("dog", box(10, 10, slice(0, 3), slice(None)))])      # 30 px = 30%
    over = image_of([inst("dog", box(10, 10, slice(0, 3), slice(None)) | box(10, 10, 3, 0))])
    rec = Recorder()
    ok = edit_image(at_limit, "dog", inpainter=rec, dilation=0, pixels=GREY)
    assert ok.eligible and ok.mask_area == pytest.approx(0.30) and ok.image is not None
    bad = edit_image(over, "dog", inpainter=rec, dilation=0, pixels=GREY)
    assert bad.reason == "mask_too_large" and bad.image is None
    assert rec.calls == ["dog"]  # ineligible edits are never inpainted


def test_kept_object_hidden_share():
    kept = box(10, 10, 0, slice(None))  # 10 px
    for overlap, eligible in [(2, True), (3, False)]:
        img = image_of([inst("frisbee", kept), inst("dog", box(10, 10, slice(0, 2), slice(0, overlap)))])
        e = edit_image(img, "dog", "frisbee", inpainter=Recorder(), dilation=0, pixels=GREY)
        assert e.kept_hidden == pytest.approx(overlap / 10)
        assert e.eligible is eligible and e.reason == ("" if eligible else "hides_kept")
        assert (e.kind, e.kept, e.pair) == (DECORRELATE, ("frisbee",), ("dog", "frisbee"))


def test_an_edit_that_erases_a_third_object_is_rejected():
    # SPEC v2: removing the cow must not erase the elephant behind it, although the elephant is
    # in no pair with the cow; the labels would still list it.
    elephant = box(10, 10, slice(0, 4), slice(0, 5))                      # 20 px
    cow = box(10, 10, slice(0, 4), slice(0, 3))                           # covers 12 of them
    img = image_of([inst("elephant", elephant & ~cow), inst("cow", cow),
                    inst("person", box(10, 10, 9, slice(None)))])
    img_hidden = image_of([inst("elephant", elephant), inst("cow", cow),
                           inst("person", box(10, 10, 9, slice(None)))])
    # Masks are of visible parts, so only what the dilated cow mask reaches of the elephant counts.
    assert edit_image(img, "cow", "person", inpainter=Recorder(), dilation=0, pixels=GREY).eligible
    e = edit_image(img_hidden, "cow", "person", inpainter=Recorder(), dilation=0, pixels=GREY)
    assert e.reason == "hides_other" and e.image is None
    assert e.other_hidden == pytest.approx(12 / 20) and e.kept_hidden == 0.0
    control = edit_image(img_hidden, "cow", inpainter=Recorder(), dilation=0, pixels=GREY)
    assert control.kind == CONTROL and control.reason == "hides_other"


def test_check_edit_needs_no_pixels():
    img = image_of([inst("dog", box(10, 10, 0, slice(0, 5))), inst("frisbee", box(10, 10, 5, 5))])
    img = dataclasses.replace(img, path=Path("/nonexistent.png"))
    plan = check_edit(img, "dog", "frisbee", dilation=0)
    assert plan.eligible and plan.image is None and plan.mask_area == pytest.approx(0.05)


def test_dilation_counts_towards_hidden_area():
    # Adjacent, not overlapping: only the dilated mask reaches into the kept object.
    img = image_of([inst("dog", box(10, 10, slice(0, 5), slice(None))),
                    inst("frisbee", box(10, 10, slice(5, 7), slice(None)))])
    assert edit_image(img, "dog", "frisbee", inpainter=Recorder(), dilation=0, pixels=GREY,
                      eligibility=Eligibility(max_mask_fraction=1)).eligible
    e = edit_image(img, "dog", "frisbee", inpainter=Recorder(), dilation=1, pixels=GREY,
                   eligibility=Eligibility(max_mask_fraction=1))
    assert e.kept_hidden == pytest.approx(0.5) and e.reason == "hides_kept"


def test_crowd_and_invisible_kept_object():
    crowd = image_of([inst("person", box(10, 10, 0, 0)), inst("person", box(10, 10, 5, 5), iscrowd=True),
                      inst("car", box(10, 10, 9, 9))])
    assert edit_image(crowd, "person", inpainter=Recorder(), pixels=GREY, dilation=0).reason == "crowd"
    assert edit_image(crowd, "person", inpainter=Recorder(), pixels=GREY, dilation=0,
                      eligibility=Eligibility(allow_crowd=True)).eligible
    ghost = image_of([inst("dog", box(10, 10, 0, 0)), inst("car", np.zeros((10, 10), bool))])
    e = edit_image(ghost, "dog", "car", inpainter=Recorder(), pixels=GREY, dilation=0)
    assert e.kept_hidden == 1.0 and e.reason == "hides_kept"


def test_several_reasons_are_all_reported():
    img = image_of([inst("dog", np.ones((10, 10), bool), iscrowd=True), inst("cat", box(10, 10, 0, 0))])
    assert edit_image(img, "dog", "cat", inpainter=Recorder(), pixels=GREY).reason == \
        "crowd,mask_too_large,hides_kept"


def test_bad_arguments():
    img = image_of([inst("dog", box(10, 10, 0, 0))])
    with pytest.raises(ValueError, match="not present"):
        edit_image(img, "cat", pixels=GREY)
    with pytest.raises(ValueError, match="kept object"):
        edit_image(img, "dog", "dog", pixels=GREY)


def test_default_dilation_scales_with_size():
    assert default_dilation(100, 100) == 3
    assert default_dilation(480, 640) == 6
    assert default_dilation(1000, 200) == 10
    single = box(21, 21, 10, 10)
    d = dilate(single, 3)
    assert d[10, 7] and d[10, 13] and d[7, 10] and d[13, 10] and not d[13, 13]  # a disc
    img = image_of([inst("dog", box(100, 100, slice(40, 60), slice(40, 60)))], h=100, w=100)
    mask, radius = removal_mask(img, "dog")
    assert radius == 3 and mask.sum() > 400 and mask[37, 50] and not mask[36, 50]


# ---- candidates ------------------------------------------------------------------------------

@dataclass
class P:
    a: str
    b: str
    npmi: float


def test_candidates_attribution_and_controls():
    objs = ["car", "cup", "dog", "frisbee", "person"]
    img = image_of([inst(c, box(10, 10, k, k)) for k, c in enumerate(objs)], id="i7")
    selected = [P("dog", "frisbee", 0.5), P("frisbee", "person", 0.5), P("dog", "person", 0.3),
                P("car", "horse", 0.9)]  # horse is absent: car forms no pair in this image
    got = [(c.kind, c.removed, c.kept, c.pair) for c in edit_candidates(img, selected)]
    assert got == [
        (DECORRELATE, "dog", ("frisbee",), ("dog", "frisbee")),         # highest NPMI
        (DECORRELATE, "frisbee", ("dog",), ("dog", "frisbee")),         # tie -> alphabetical
        (DECORRELATE, "person", ("frisbee",), ("frisbee", "person")),
        (CONTROL, "car", (), None),
        (CONTROL, "cup", (), None),
    ]


def test_apply_candidate_and_ids(tmp_path):
    path = tmp_path / "x.png"
    GREY.save(path)
    img = image_of([inst("sports ball", box(10, 10, 0, 0)), inst("person", box(10, 10, 5, slice(0, 5)))],
                   path=path)
    cand = edit_candidates(img, [P("person", "sports ball", 0.4)])[1]
    e = apply_candidate(img, cand, inpainter=Recorder())  # loads the pixels from `path`
    assert e.image_id == cand.image_id == "i1-no-sports_ball"
    assert e.objects == ("person",) and e.editor == "recorder/0" and e.dilation_px == 3
    assert np.asarray(e.image)[0, 0].tolist() == [0, 0, 0]


# ---- inpainters ------------------------------------------------------------------------------

def scene() -> tuple[Image.Image, np.ndarray]:
    """A smooth background with a red square 'object' in the middle."""
    yy, xx = np.mgrid[0:80, 0:80]
    bg = np.stack([xx * 2, yy * 2, np.full_like(xx, 100)], axis=-1).astype(np.uint8)
    pix = bg.copy()
    pix[30:50, 30:50] = (255, 0, 0)
    return Image.fromarray(pix), dilate(box(80, 80, slice(30, 50), slice(30, 50)), 2)


@pytest.mark.parametrize("name", ["telea", "ns"])
def test_opencv_inpainting_changes_masked_pixels_only(name):
    image, mask = scene()
    out = get_inpainter(name).inpaint(image, mask)
    before, after = np.asarray(image).astype(int), np.asarray(out).astype(int)
    assert out.mode == "RGB" and out.size == image.size
    assert np.array_equal(before[~mask], after[~mask])            # nothing outside the mask moves
    assert (before[mask] != after[mask]).any(axis=-1).mean() > 0.9
    # The red object is gone: the fill looks like the background around it.
    assert after[40, 40, 0] < 200 and abs(after[40, 40, 2] - 100) < 30


def test_inpainter_names_versions_and_registry(monkeypatch):
    monkeypatch.setattr(inpainters, "INPAINTERS", copy.deepcopy(inpainters.INPAINTERS))  # undo registrations
    telea = get_inpainter()
    assert isinstance(telea, Inpainter) and telea.name == "opencv-telea"
    assert editor_string(telea) == f"opencv-telea/{cv2.__version__}"
    assert get_inpainter("navier-stokes", radius=5).version == f"{cv2.__version__}+r5"
    assert {"telea", "ns"} <= set(available_inpainters())
    with pytest.raises(ValueError, match="did you mean 'telea'"):
        get_inpainter("telae")
    rec = Recorder()
    assert get_inpainter(rec) is rec  # any object with the protocol is accepted as is
    with pytest.raises(TypeError):
        get_inpainter(object())  # type: ignore[arg-type]
    register_inpainter("test-recorder", Recorder)
    assert isinstance(get_inpainter("test-recorder"), Recorder)
    with pytest.raises(ValueError, match="already registered"):
        register_inpainter("test-recorder", Recorder)
    with pytest.raises(ValueError, match="mask shape"):
        OpenCVInpainter().inpaint(GREY, np.zeros((3, 3), bool))


def test_exact_remover_takes_the_rerendered_scene_inside_the_mask():
    image, mask = scene()
    clean = Image.new("RGB", image.size, (1, 2, 3))
    calls = []
    exact = ExactRemover(lambda src, removed: calls.append(removed) or clean, version="pw-1")
    img = image_of([inst("dog", box(80, 80, slice(30, 50), slice(30, 50)))], h=80, w=80)
    e = edit_image(img, "dog", inpainter=exact, pixels=image, dilation=2)
    out = np.asarray(e.image)
    assert calls == ["dog"] and e.editor == "exact/pw-1"
    assert (out[mask] == (1, 2, 3)).all() and np.array_equal(out[~mask], np.asarray(image)[~mask])
    with pytest.raises(ValueError, match="needs source_image"):
        exact.inpaint(image, mask)
