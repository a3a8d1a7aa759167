"""What odbench-eval keeps between runs: embeddings, and datasets whose content hash was verified.

Both are keyed by everything that determines them, so a stale entry is never found rather than
detected: embeddings by the model's identity and code, the dataset hash, the run settings and
the library versions (`embedding_key`); a verified dataset by the bytes of its files and the
decoder versions. Entries are written through a temporary file and a rename: a reader never
sees half a file, two concurrent runs each write a whole entry (the last rename wins, both are
the same), and a killed run leaves only a temporary file that nothing reads. An entry that
cannot be read is a miss. `odbench-eval --no-cache` uses none of it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .files import replace_atomically
from .hashing import canonical_json, folder_sha256, sha256_hex

CACHE_ENV = "ODBENCH_CACHE_DIR"


def default_cache_dir() -> Path:
    """$ODBENCH_CACHE_DIR, else $XDG_CACHE_HOME/odbench, else ~/.cache/odbench."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "odbench"


class EmbeddingCache:
    """Image and caption embeddings of one (model, dataset, settings), under `root/embeddings`.
    `status` says what the last `load` or `store` did, for the CLI to report."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.status = ""
        self.warning: str | None = None    # set when the cache could not be written
        self.stored: Path | None = None     # the entry the last store wrote
        self._damaged = False

    def path(self, key: Mapping[str, Any]) -> Path:
        return self.root / "embeddings" / f"{sha256_hex(canonical_json(key))}.pt"

    def load(self, key: Mapping[str, Any]):
        """(image embeddings, caption embeddings), or None when there is no readable entry."""
        import torch

        path = self.path(key)
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            if entry["key"] != canonical_json(key):    # a hash collision or a hand-made file
                raise ValueError("key mismatch")
            images, texts = entry["images"], entry["texts"]
        except (FileNotFoundError, NotADirectoryError):
            self.status = "embeddings computed (none cached)"
            return None
        except Exception:   # damaged or foreign: recompute, and the store below replaces it
            self._damaged = True
            self.status = f"embeddings computed (the cache entry {path.name} was unreadable)"
            return None
        self.status = f"embeddings read from the cache ({path}); --no-cache recomputes them"
        return images, texts

    def store(self, key: Mapping[str, Any], images, texts) -> None:
        import torch

        entry = {"key": canonical_json(key), "images": images.contiguous(), "texts": texts.contiguous()}
        path = self.path(key)
        try:
            replace_atomically(path, lambda f: torch.save(entry, f))
        except OSError as exc:   # a read-only or full cache costs the next run time, not this run
            self.warning = (f"the embedding cache {self.root} cannot be written ({exc.strerror or type(exc).__name__}): "
                            f"this run goes on uncached; set ${CACHE_ENV} to a writable folder to cache")
            self.status = "embeddings computed (not cached: the cache folder cannot be written)"
            return
        self.stored = path
        replaced = ", replacing an unreadable cache entry" if self._damaged else ""
        self.status = f"embeddings computed and cached ({path}{replaced})"


class VerifiedDatasets:
    """Local dataset folders whose content hashes were recomputed and matched, under
    `root/verified`: verifying decodes every image, which a second run of the same files skips.
    Keyed by the files and by the versions of the code that decodes them."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root) / "verified"

    def key(self, folder: str | os.PathLike, dataset_hash: str) -> str:
        import datasets
        import PIL

        return sha256_hex(canonical_json([folder_sha256(folder), dataset_hash, datasets.__version__, PIL.__version__]))

    def known(self, key: str) -> bool:
        return (self.root / key).is_file()

    def remember(self, key: str) -> None:
        try:
            replace_atomically(self.root / key, lambda f: f.write(b"verified"))
        except OSError:   # only saves the next run a pass; EmbeddingCache warns about the folder
            pass
