"""ODBench: object-decorrelation benchmark for image-text retrieval."""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"


def embedded_path(name: str = "odbench-picto") -> Path:
    """The folder of the dataset shipped in the package (a `pathlib.Path`), for
    `datasets.load_dataset(str(odbench.embedded_path()), "images", split="test")` from anywhere
    (from the repository root, `load_dataset("odbench", "images", split="test")` loads the same).
    The published copy of the same data loads as
    `load_dataset("ORG/odbench", "images", split="test", revision="v2.1.0")`."""
    from .data import embedded_path as _embedded_path  # imported on use: `import odbench` stays light

    return _embedded_path(name)
