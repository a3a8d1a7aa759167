"""The inputs every inpainter takes: an RGB image and a bool mask of its size.

Its own module so that the inpainters (`inpainters`, `diffusion_inpainter`) share the check
without importing each other both ways.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def check_inputs(image: Image.Image, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image's pixels (uint8, [h, w, 3]) and the mask as a bool array, or ValueError."""
    if image.mode != "RGB":
        raise ValueError(f"inpainters take RGB images, got mode {image.mode!r}")
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"mask must be a bool array, got {mask.dtype}")
    if mask.shape != (image.height, image.width):
        raise ValueError(f"mask shape {mask.shape} does not match image size "
                         f"(h={image.height}, w={image.width})")
    return np.asarray(image, dtype=np.uint8), mask
