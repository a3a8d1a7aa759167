"""The dataset format (docs/dataset-format.md) in code: what builders write and the loader reads.

Config names, their columns and types, edit kinds, caption styles, the manifest's keys, how a
manifest row is decoded and how the content hashes are checked live here once; both
`dataset_builders` (which writes datasets) and `odbench.data` (which loads them) import this
module, so the two sides cannot drift apart.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import DamagedRow, DatasetError
from .hashing import config_hash, dataset_hash
from .progress import progress

SPEC_VERSION = "2"

# Configs. A test dataset has the first five plus the manifest; the synthetic training set has
# `train` plus the manifest.
IMAGES, CAPTIONS, PAIRS, PAIR_STATS, LEXICON, MANIFEST, TRAIN = (
    "images", "captions", "pairs", "pair_stats", "lexicon", "manifest", "train")
HASHED_CONFIGS = (IMAGES, CAPTIONS, PAIRS, PAIR_STATS, LEXICON)   # pair_stats is optional

# Splits of a test dataset (SPEC 9). Every config has `test`; a dataset may add `validation`
# shards to the configs of SPLIT_CONFIGS, and shares the others (pairs, lexicon, ...) with test.
TEST, VALIDATION = "test", "validation"
SPLITS = (TEST, VALIDATION)
SPLIT_CONFIGS = (IMAGES, CAPTIONS)

# Values of the `edit_kind` column.
ORIGINAL, DECORRELATE, CONTROL = "original", "decorrelate", "control"
EDIT_KINDS = (ORIGINAL, DECORRELATE, CONTROL)

# Caption styles of SPEC section 1; they decide relevance and the text-to-image queries.
EXHAUSTIVE, PARTIAL = "exhaustive", "partial"
CAPTION_STYLES = (EXHAUSTIVE, PARTIAL)

# Column types, spelled independently of `datasets` (which this module does not import).
STRING, INT64, FLOAT64, BOOL, IMAGE, STRINGS = "string", "int64", "float64", "bool", "image", "list<string>"
_PAIR_COLUMNS = {
    "a": STRING, "b": STRING, "supercategory_a": STRING, "supercategory_b": STRING,
    "n_a": INT64, "n_b": INT64, "n_ab": INT64, "n_images": INT64,
    "p_b_given_a": FLOAT64, "p_a_given_b": FLOAT64, "npmi": FLOAT64,
}
COLUMNS: dict[str, dict[str, str]] = {
    IMAGES: {"image_id": STRING, "image": IMAGE, "src_id": STRING, "edit_kind": STRING, "removed": STRING,
             "objects": STRINGS, "kept": STRINGS, "pair": STRINGS, "mask_area": FLOAT64, "editor": STRING,
             "gallery_pos": INT64},
    CAPTIONS: {"caption_id": STRING, "text": STRING, "src_id": STRING, "edit_kind": STRING, "removed": STRING,
               "mentions": STRINGS, "pair": STRINGS, "editor": STRING, "gallery_pos": INT64},
    PAIRS: _PAIR_COLUMNS,
    PAIR_STATS: {**_PAIR_COLUMNS, "selected": BOOL, "reason": STRING},
    LEXICON: {"phrase": STRING, "category": STRING},
    # The synthetic training set: one row per synthesised image-caption pair.
    TRAIN: {"id": STRING, "image": IMAGE, "caption": STRING, "src_id": STRING, "kind": STRING,
            "category": STRING, "pair": STRINGS, "mentions": STRINGS, "editor": STRING},
}
# The columns the loader reads; a dataset may carry more (older builds carry fewer of the rest).
REQUIRED_COLUMNS: dict[str, frozenset[str]] = {
    IMAGES: frozenset({"image_id", "image", "src_id", "edit_kind", "removed", "objects", "pair", "mask_area",
                       "gallery_pos"}),
    CAPTIONS: frozenset({"caption_id", "text", "src_id", "edit_kind", "removed", "mentions", "gallery_pos"}),
    PAIRS: frozenset({"a", "b", "npmi", "n_ab"}),
    LEXICON: frozenset({"phrase", "category"}),
}

# The manifest: one row, every value a string (JSON where structured).
REQUIRED_MANIFEST_KEYS = ("name", "version", "content_hashes", "dataset_hash")
# Filled in by the folder writer; `splits` ({split: {content_hashes, split_hash}}) only when the
# dataset has more splits than test.
COMPUTED_MANIFEST_KEYS = ("content_hashes", "dataset_hash", "splits")
# Fields that decide relevance (SPEC 4), so the dataset hash covers them: a dataset whose
# caption style was edited after the build is a different benchmark.
DEFINITION_KEYS = ("spec_version", "caption_style")


def features(config: str):
    """`datasets.Features` of a config (datasets is imported here, on use: it is heavy)."""
    from datasets import Features, Image, Sequence, Value

    def feature(kind: str):
        if kind == IMAGE:
            return Image()
        return Sequence(Value(STRING)) if kind == STRINGS else Value(kind)

    return Features({name: feature(kind) for name, kind in COLUMNS[config].items()})


def check_columns(config: str, column_names: Sequence[str]) -> None:
    missing = REQUIRED_COLUMNS[config] - set(column_names)
    if missing:
        raise DatasetError(f"config {config!r} lacks columns {sorted(missing)}")


def decode_manifest(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The manifest config's single row, structured values decoded from their JSON."""
    if len(rows) != 1:
        raise DatasetError(f"the manifest must have one row, has {len(rows)}")
    out = {}
    for key, value in rows[0].items():
        try:
            out[key] = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
        except json.JSONDecodeError:
            out[key] = value
    return out


def definitions(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The manifest's definition fields that are present (none in datasets of SPEC v1)."""
    return {k: str(manifest[k]) for k in DEFINITION_KEYS if manifest.get(k) is not None}


def caption_style(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """(spec version, caption style) a dataset declares. Datasets built before SPEC v2 declare
    neither and are scored as `partial`, which is version 1's relevance."""
    style = str(manifest.get("caption_style") or PARTIAL)
    if style not in CAPTION_STYLES:
        raise DatasetError(f"manifest caption_style {style!r} is not one of {list(CAPTION_STYLES)}")
    return str(manifest.get("spec_version") or "1"), style


def check_split_name(split: str) -> None:
    """A split name ODBench knows (whether a given dataset has it is `split_manifest`'s check)."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}: a test dataset's splits are {' and '.join(SPLITS)}")


def dataset_splits(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The splits a dataset has: test, and those its manifest's `splits` adds (SPEC 9)."""
    return (TEST, *(s for s in (manifest.get("splits") or {}) if s != TEST))


def split_manifest(manifest: Mapping[str, Any], split: str) -> dict[str, Any]:
    """The manifest as `verify_content_hashes` reads it for one split: that split's content
    hashes, and its split hash in place of the dataset hash (for test, the manifest itself)."""
    known = dataset_splits(manifest)
    if split not in known:
        raise DatasetError(f"unknown split {split!r}: {manifest.get('name', 'the dataset')}"
                           f"@{manifest.get('version', '?')} has {', '.join(known)}")
    if split == TEST:
        return dict(manifest)
    entry = manifest["splits"][split]
    if not isinstance(entry, Mapping) or not {"content_hashes", "split_hash"} <= set(entry):
        raise DatasetError(f"manifest splits[{split!r}] lacks content_hashes or split_hash")
    return {**manifest, "content_hashes": entry["content_hashes"], "dataset_hash": entry["split_hash"]}


def _decoded(table: Sequence[Mapping[str, Any]], config: str) -> Iterator[Mapping[str, Any]]:
    """The rows of `table`; one that cannot be decoded (a damaged image) is a DamagedRow naming it."""
    rows = iter(table)
    row = 0
    while True:
        try:
            item = next(rows)
        except StopIteration:
            return
        except Exception as exc:   # PIL and pyarrow raise many types; the user needs the row
            raise DamagedRow(config, row, f"{type(exc).__name__}: {exc}") from exc
        yield item
        row += 1


def verify_content_hashes(tables: Mapping[str, Sequence[Mapping[str, Any]]], manifest: Mapping[str, Any], *,
                          split: str = TEST) -> str:
    """Recompute the content hash of every config in `tables` (as `datasets` decodes its rows)
    and the dataset hash; raise DatasetError on any mismatch, else return the dataset hash.
    For another split than test, `manifest` is its `split_manifest` view and `split` names it."""
    expected = manifest.get("content_hashes") or {}
    for config, table in tables.items():
        want = expected.get(config)
        if want is None:
            raise DatasetError(f"manifest has no content hash for config {config!r}")
        got = config_hash(progress(_decoded(table, config), desc=f"hashing {config}", total=len(table)))
        if got != want:
            raise DatasetError(f"config {config!r} does not match the manifest's content hash "
                               f"(got {got[:12]}, manifest says {want[:12]}): the data was modified")
    got_total = dataset_hash(expected, definitions(manifest))
    if got_total != manifest.get("dataset_hash"):
        what = "dataset_hash" if split == TEST else f"split_hash of {split!r}"
        raise DatasetError(f"manifest {what} does not match its content_hashes, spec_version and caption_style")
    return got_total
