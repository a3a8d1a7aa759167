"""The dataset card's pictures: a grid of original and edited images with their captions.

`add_examples(folder)` writes `examples.png` into a built dataset folder and links it from the
card (section "Examples"). Neither the card nor files outside the configs' shards are part of
the content hash, so this changes no hash; the builder calls it on every test split, and
`python -m dataset_builders card-examples FOLDER` adds it to a folder built before.
"""
from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from odbench.data import load_config
from odbench.dataset_format import CAPTIONS, DECORRELATE, IMAGES, ORIGINAL
from odbench.files import write_atomic

from .hf_folder import add_card_section, no_progress_bars

FILE_NAME = "examples.png"
SECTION = "Examples"
THUMB = 176           # px, the longer side of each image in the grid
TEXT_WIDTH = 440      # px, the caption column
FONT_SIZE = 14


def example_rows(folder: str | os.PathLike, max_rows: int = 6) -> list[dict[str, Any]]:
    """One decorrelate edit per selected pair (the first by image id), with its source image,
    one original caption naming the removed object and that caption's edit."""
    images = load_config(folder, IMAGES).select_columns(["image_id", "src_id", "edit_kind", "removed", "pair"])
    captions = load_config(folder, CAPTIONS).select_columns(["caption_id", "text", "src_id", "edit_kind",
                                                              "removed", "mentions"])
    row_of = {image_id: i for i, image_id in enumerate(images["image_id"])}
    first_per_pair: dict[str, dict] = {}
    for row in sorted((r for r in images if r["edit_kind"] == DECORRELATE), key=lambda r: r["image_id"]):
        first_per_pair.setdefault("+".join(row["pair"]), row)
    texts = {c["caption_id"]: c for c in captions}
    rows = []
    for pair in sorted(first_per_pair)[:max_rows]:
        edit = first_per_pair[pair]
        source, removed = edit["src_id"], edit["removed"]
        edited = sorted((c for c in texts.values() if c["src_id"] == source and c["removed"] == removed
                         and c["edit_kind"] == DECORRELATE), key=lambda c: c["caption_id"])
        # an edited caption's id is its original's id + "-no-" + slug (docs/dataset-format.md)
        originals = [texts.get(c["caption_id"].split("-no-")[0]) for c in edited]
        pairs = [(o, e) for o, e in zip(originals, edited, strict=True) if o is not None and o["edit_kind"] == ORIGINAL]
        if source not in row_of or not pairs:
            continue
        original_caption, edited_caption = pairs[0]
        rows.append({"pair": pair, "removed": removed, "source_id": source, "edit_id": edit["image_id"],
                     "source_row": row_of[source], "edit_row": row_of[edit["image_id"]],
                     "original_caption": original_caption["text"], "edited_caption": edited_caption["text"]})
    return rows


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)    # Pillow's bundled TrueType font
    except (TypeError, OSError):                    # a Pillow without FreeType
        return ImageFont.load_default()


def _thumb(image: Image.Image) -> Image.Image:
    image = image.convert("RGB")
    if max(image.size) > THUMB:
        image.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    elif max(image.size) < THUMB:       # small pictograms scale up crisp
        factor = THUMB / max(image.size)
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.NEAREST)
    return image


def render_grid(folder: str | os.PathLike, rows: list[dict[str, Any]]) -> Image.Image:
    """Rows of [original | edited | captions]."""
    table = load_config(folder, IMAGES)
    font, bold = _font(FONT_SIZE), _font(FONT_SIZE + 1)
    pad, label_h, line_h = 10, 22, FONT_SIZE + 5
    row_h = THUMB + label_h + pad
    width = pad + 2 * (THUMB + pad) + TEXT_WIDTH + pad
    header_h = 30
    grid = Image.new("RGB", (width, header_h + row_h * len(rows) + pad), "white")
    draw = ImageDraw.Draw(grid)
    draw.text((pad, 8), "original  |  edited (one object of a co-occurring pair removed)  |  captions",
              fill="#222", font=bold)
    for i, row in enumerate(rows):
        y = header_h + i * row_h
        for j, (key, label) in enumerate((("source_row", "original"), ("edit_row", f"no {row['removed']}"))):
            x = pad + j * (THUMB + pad)
            grid.paste(_thumb(table[row[key]]["image"]), (x, y + label_h))
            draw.text((x, y + 3), label, fill="#444", font=font)
        x = pad + 2 * (THUMB + pad)
        lines = [(f"pair {row['pair']}, removed: {row['removed']}", bold, "#222")]
        for prefix, text, colour in (("original: ", row["original_caption"], "#444"),
                                     ("edited: ", row["edited_caption"], "#0b5d1e")):
            wrapped = textwrap.wrap(prefix + text, width=52) or [prefix]
            lines += [(line, font, colour) for line in wrapped]
        for k, (line, f, colour) in enumerate(lines):
            draw.text((x, y + label_h + k * line_h), line, fill=colour, font=f)
    return grid


def add_examples(folder: str | os.PathLike, max_rows: int = 6) -> Path | None:
    """Write FOLDER/examples.png and the card's "Examples" section; None if the dataset has no
    decorrelate edit to show. The content hash is untouched (only the card and a new file)."""
    folder = Path(folder)
    with no_progress_bars():
        rows = example_rows(folder, max_rows)
        grid = render_grid(folder, rows) if rows else None
    if grid is None:
        return None
    buffer = io.BytesIO()
    # a palette PNG: a few hundred KB at most for the card, not the megabytes of RGB
    grid.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG",
                                                                                         optimize=True)
    path = write_atomic(folder / FILE_NAME, buffer.getvalue(), overwrite=True)
    listing = "\n".join(f"- {r['pair']}: `{r['source_id']}` and `{r['edit_id']}`; \"{r['original_caption']}\" "
                        f"becomes \"{r['edited_caption']}\"" for r in rows)
    add_card_section(folder, SECTION, f"![Original and edited test images with their captions]({FILE_NAME})\n\n"
                     f"One decorrelate edit per selected pair: the original image, the image with one "
                     f"object of the pair removed, a caption of the original and its edit.\n\n{listing}")
    return path
