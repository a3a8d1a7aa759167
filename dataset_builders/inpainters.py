"""Inpainters: fill the pixels of a removed object (SPEC section 3).

Any object with `name`, `version` and `inpaint(...)` is an inpainter (structural typing), so a
learned model (LaMa, a diffusion inpainter) or PictoWorld's exact remover, which re-renders the
scene without the object, plug in without subclassing anything here. The editor string stored
in the dataset is `f"{name}/{version}"`, e.g. `opencv-telea/4.10.0`.

Built in: OpenCV Telea (the default) and Navier-Stokes. OpenCV is imported lazily so that the
module can be imported (and the registry listed) without it. Registered too, for users with the
weights and the optional extra `odbench[inpaint]`: `diffusers`, any diffusers inpainting
pipeline from a local folder (`dataset_builders.diffusion_inpainter`; it needs `weights=`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from odbench.registry import Registry

from .inpaint_inputs import check_inputs

DEFAULT_INPAINTER = "telea"
DEFAULT_RADIUS = 3


@runtime_checkable
class Inpainter(Protocol):
    name: str
    version: str

    def inpaint(self, image: Image.Image, mask: np.ndarray, *, source_image: Any = None,
                removed: str | None = None) -> Image.Image:
        """Return an RGB image of the same size with the `True` pixels of `mask` filled in.

        `source_image` (a `SourceImage`) and `removed` (the category) are for inpainters that
        need the scene, such as an exact re-renderer; pixel-based inpainters ignore them.
        """
        ...


def editor_string(inpainter: Inpainter) -> str:
    """The value of the `editor` column for images made by `inpainter`."""
    return f"{inpainter.name}/{inpainter.version}"


class OpenCVInpainter:
    """`cv2.inpaint` with a fixed method and radius (pixels of neighbourhood considered)."""

    _methods = {"telea": "INPAINT_TELEA", "ns": "INPAINT_NS"}

    def __init__(self, method: str = "telea", radius: int = DEFAULT_RADIUS):
        if method not in self._methods:
            raise ValueError(f"unknown OpenCV inpainting method {method!r}; use one of "
                             f"{sorted(self._methods)}")
        if radius < 1:
            raise ValueError("radius must be >= 1")
        self.method, self.radius = method, int(radius)
        self.name = f"opencv-{method}"

    @property
    def version(self) -> str:
        import cv2
        # The radius changes the output, so a non-default one is part of the version.
        suffix = "" if self.radius == DEFAULT_RADIUS else f"+r{self.radius}"
        return f"{cv2.__version__}{suffix}"

    def inpaint(self, image: Image.Image, mask: np.ndarray, *, source_image: Any = None,
                removed: str | None = None) -> Image.Image:
        import cv2
        pixels, mask = check_inputs(image, mask)
        if not mask.any():
            return image.copy()
        # Telea and NS treat channels independently, so RGB order needs no BGR conversion.
        filled = cv2.inpaint(np.ascontiguousarray(pixels), mask.astype(np.uint8) * 255,
                             float(self.radius), getattr(cv2, self._methods[self.method]))
        # Guarantee that no pixel outside the mask changes, whatever the backend does.
        out = np.where(mask[..., None], filled, pixels).astype(np.uint8)
        return Image.fromarray(out, mode="RGB")

    def __repr__(self) -> str:
        return f"OpenCVInpainter(method={self.method!r}, radius={self.radius})"


class ExactRemover:
    """Wraps a scene re-renderer `render(source_image, removed) -> PIL image` (PictoWorld).

    The re-rendered scene is exact everywhere; only the pixels in `mask` are taken from it, so
    the edit has the same footprint as an inpainted one.
    """

    def __init__(self, render: Callable[[Any, str], Image.Image], *, name: str = "exact",
                 version: str = "1"):
        self.render, self.name, self.version = render, name, version

    def inpaint(self, image: Image.Image, mask: np.ndarray, *, source_image: Any = None,
                removed: str | None = None) -> Image.Image:
        pixels, mask = check_inputs(image, mask)
        if source_image is None or removed is None:
            raise ValueError(f"{self.name} needs source_image and removed to re-render the scene")
        clean = self.render(source_image, removed).convert("RGB")
        if clean.size != image.size:
            raise ValueError(f"{self.name} rendered size {clean.size}, expected {image.size}")
        out = np.where(mask[..., None], np.asarray(clean, dtype=np.uint8), pixels)
        return Image.fromarray(out.astype(np.uint8), mode="RGB")


def _diffusers(**kwargs: Any) -> Inpainter:
    if "weights" not in kwargs:
        raise ValueError("the diffusers inpainter needs weights=<a local diffusers pipeline folder>")
    from .diffusion_inpainter import DiffusersInpainter  # its heavy packages load only when used
    return DiffusersInpainter(**kwargs)


# name -> factory(**kwargs) -> Inpainter
INPAINTERS: Registry[Callable[..., Inpainter]] = Registry("inpainter")
# Learned inpainters: their factory takes `weights`, a local folder (never a download).
NEEDS_WEIGHTS = frozenset({"diffusers"})


def register_inpainter(name: str, factory: Callable[..., Inpainter], *, replace: bool = False) -> None:
    """Make `get_inpainter(name, **kwargs)` call `factory(**kwargs)` (e.g. a learned model)."""
    INPAINTERS.register(name, factory, replace=replace)


register_inpainter("telea", lambda **kw: OpenCVInpainter("telea", **kw))
register_inpainter("ns", lambda **kw: OpenCVInpainter("ns", **kw))
register_inpainter("navier-stokes", lambda **kw: OpenCVInpainter("ns", **kw))
register_inpainter("diffusers", _diffusers)


def available_inpainters() -> list[str]:
    return sorted(INPAINTERS)


def get_inpainter(spec: str | Inpainter = DEFAULT_INPAINTER, **kwargs: Any) -> Inpainter:
    """An inpainter by registered name (`"telea"`, `"ns"`, ...), or `spec` itself if it is one."""
    if not isinstance(spec, str):
        if not isinstance(spec, Inpainter):
            raise TypeError(f"{spec!r} is not an inpainter (needs name, version and inpaint())")
        return spec
    factory = INPAINTERS.get(spec)
    if factory is None:
        close = INPAINTERS.close_matches(spec, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown inpainter {spec!r}{hint} "
                         f"(available: {', '.join(available_inpainters())})")
    return factory(**kwargs)
