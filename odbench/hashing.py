"""Content hashes of datasets and rankings, and the byte-level identity of a folder.

Dataset and ranking hashes are over decoded pixels and row values, never over file bytes, so
that two builds of the same dataset version compare equal even when parquet or PNG encoders
differ. `folder_sha256` is over file bytes on purpose: it names exactly these files (a weights
folder, a dataset folder already verified).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form every ODBench hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def image_fingerprint(image: Image.Image) -> dict[str, Any]:
    """Mode, size and the SHA-256 of the decoded pixels of one image."""
    pixels = np.ascontiguousarray(np.asarray(image))
    return {"mode": image.mode, "size": list(image.size), "sha256": sha256_hex(pixels.tobytes())}


def _plain(value: Any) -> Any:
    if isinstance(value, Image.Image):
        return image_fingerprint(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:  # NaN is not valid JSON
        return "NaN"
    return value


def row_digest(row: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(_plain(row)).encode("utf-8")).digest()


def config_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over the digests of the rows, in stored order."""
    h = hashlib.sha256()
    for row in rows:
        h.update(row_digest(row))
    return h.hexdigest()


def dataset_hash(content_hashes: Mapping[str, str], definitions: Mapping[str, str] | None = None) -> str:
    """SHA-256 over the configs' content hashes and, where the dataset declares them, its
    definitions (spec version, caption style: `odbench.dataset_format.definitions`). Without
    definitions: the SPEC v1 formula."""
    if not definitions:
        return sha256_hex(canonical_json(dict(content_hashes)))
    return sha256_hex(canonical_json({"content_hashes": dict(content_hashes), **definitions}))


def folder_sha256(folder: str | os.PathLike) -> str:
    """SHA-256 over every file of a folder (relative path and content, sorted; hidden files
    skipped): a folder's identity when sizes and times could stay the same across an edit."""
    root = Path(folder)
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
