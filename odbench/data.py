"""Load an ODBench test dataset (local folder or hub repo), check it, and build a `Benchmark`.

Loading goes through `datasets.load_dataset`, exactly as users load the data themselves. The
manifest's content hash is recomputed over decoded pixels and values, so a result is always
tied to the data it was computed on.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from .benchmark import Benchmark, ImageCheck, Items, pair_key
from .cache import VerifiedDatasets
from .dataset_format import (
    CAPTIONS,
    EDIT_KINDS,
    EXHAUSTIVE,
    HASHED_CONFIGS,
    IMAGES,
    MANIFEST,
    ORIGINAL,
    PAIR_STATS,
    PAIRS,
    REQUIRED_COLUMNS,
    REQUIRED_MANIFEST_KEYS,
    SPLIT_CONFIGS,
    TEST,
    caption_style,
    check_columns,
    decode_manifest,
    split_manifest,
    verify_content_hashes,
)
from .errors import DamagedRow, DatasetError
from .hashing import canonical_json, row_digest, sha256_hex

EMBEDDED_DIR = Path(__file__).parent / "embedded"
DEFAULT_DATASET = "odbench-picto"


def embedded_path(name: str = DEFAULT_DATASET) -> Path:
    """The folder of a dataset shipped inside the package, wherever the package is installed:
    `load_dataset(str(embedded_path()), "images", split="test")` works from any directory."""
    folder = EMBEDDED_DIR / name
    if not (folder / "README.md").is_file():
        known = sorted(p.name for p in EMBEDDED_DIR.iterdir() if (p / "README.md").is_file())
        raise DatasetError(f"no embedded dataset {name!r}; the package ships {', '.join(known) or 'none'}")
    return folder


def resolve_dataset(dataset: str | os.PathLike | None) -> tuple[str, bool]:
    """-> (path or repo id, is_local). None or an embedded name means the shipped benchmark."""
    if dataset is None:
        dataset = DEFAULT_DATASET
    text = str(dataset)
    if (EMBEDDED_DIR / text).is_dir():
        return str(EMBEDDED_DIR / text), True
    if text.startswith("local-dir:"):
        text = text[len("local-dir:"):]
        if not Path(text).is_dir():
            raise DatasetError(f"dataset folder not found: {text}")
        return text, True
    if text.startswith("hf-hub:"):
        return text[len("hf-hub:"):], False
    if Path(text).exists():
        if not Path(text).is_dir():
            raise DatasetError(f"dataset must be a folder or a hub repo id, got a file: {text}")
        return text, True
    if text.count("/") == 1 and not text.startswith((".", "/")):
        return text, False
    raise DatasetError(f"dataset not found: {text!r} is neither a folder nor a hub repo id "
                       f"(org/name); the embedded one is {DEFAULT_DATASET!r}")


def local_cache_dir(folder: str | os.PathLike) -> str:
    """A `datasets` cache folder keyed by the files of a local dataset folder.

    `datasets` keys its cache of a local folder by the folder's name and config only, so a
    rebuilt folder (or another folder of the same name) would be served from the old cache.
    Keying by every file's relative path, size and mtime makes a changed folder a new cache.
    """
    import datasets

    root = Path(folder).resolve()
    stats = sorted((p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in root.rglob("*") if p.is_file())
    key = sha256_hex(canonical_json([str(root), stats]))[:16]
    return str(Path(datasets.config.HF_DATASETS_CACHE) / "odbench-local" / key)


def load_config(dataset: str | os.PathLike | None, config: str, *, revision: str | None = None,
                split: str | None = None):
    """One split of one config of a dataset as a `datasets.Dataset`, via `datasets.load_dataset`;
    without `split`, the config's only split (`train` of a training set), or `test` when it has
    several (SPEC 9's validation split)."""
    import datasets

    path, is_local = resolve_dataset(dataset)
    try:
        if is_local:
            dd = datasets.load_dataset(path, config, cache_dir=local_cache_dir(path))
        else:
            dd = datasets.load_dataset(path, config, revision=revision)
    except Exception as exc:  # datasets raises many types; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"cannot load config {config!r} of {path}: {first}") from exc
    if split is None:
        split = next(iter(dd)) if len(dd) == 1 else TEST
    if split not in dd:
        raise DatasetError(f"config {config!r} of {path} has no split {split!r} (it has {', '.join(dd)})")
    return dd[split]


def read_manifest(dataset: str | os.PathLike | None, *, revision: str | None = None) -> dict[str, Any]:
    """The dataset's manifest, structured values decoded (odbench.dataset_format)."""
    return decode_manifest(load_config(dataset, MANIFEST, revision=revision).to_list())


def _items(cols: dict[str, list], id_col: str, label_col: str, sources: dict[str, int],
           what: str) -> tuple[Items, np.ndarray]:
    """Items in gallery order, and the row order that sorts the columns into it."""
    order = np.argsort(np.asarray(cols["gallery_pos"], dtype=np.int64), kind="stable")
    if not np.array_equal(np.sort(cols["gallery_pos"]), np.arange(len(order))):
        raise DatasetError(f"{what}: gallery_pos is not a permutation of 0..{len(order) - 1}")
    ids = [cols[id_col][i] for i in order]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{what}: {id_col} values are not unique")
    kinds = np.array([cols["edit_kind"][i] for i in order], dtype=object)
    bad = set(kinds) - set(EDIT_KINDS)
    if bad:
        raise DatasetError(f"{what}: unknown edit_kind {sorted(bad)}")
    unknown_src = {cols["src_id"][i] for i in order} - set(sources)
    if unknown_src:
        raise DatasetError(f"{what}: src_id {sorted(unknown_src)[0]!r} is not an original image")
    pairs = cols.get("pair", [None] * len(order))
    return Items(
        ids=tuple(ids),
        src=np.array([sources[cols["src_id"][i]] for i in order], dtype=np.int64),
        kind=kinds,
        removed=tuple(cols["removed"][i] for i in order),
        pair=tuple(pair_key(pairs[i]) if pairs[i] else None for i in order),
        labels=tuple(frozenset(cols[label_col][i]) for i in order),
    ), order


def load_benchmark(dataset: str | os.PathLike | None = None, *, revision: str | None = None,
                   verify: bool = True, verified: VerifiedDatasets | None = None,
                   deferred: bool = False, split: str = TEST) -> Benchmark:
    """Load, check and (by default) hash-verify one split of a test dataset (`test`, or
    `validation` where the dataset has one: SPEC 9; its images and captions, with the pairs and
    lexicon of the dataset, verified against that split's content hashes). What SPEC section 3
    asks of its edits (a relevant caption for every edited image) is checked by `build_query_sets`.
    With `verified`, a local folder whose exact files were verified before is not hashed again.
    With `deferred`, the images' hash is left to the pass that encodes them (`image_check`;
    `odbench.evaluate` does it), so that every image is decoded once."""
    path, is_local = resolve_dataset(dataset)
    manifest = read_manifest(path, revision=revision)
    missing = set(REQUIRED_MANIFEST_KEYS) - set(manifest)
    if missing:
        raise DatasetError(f"manifest lacks {sorted(missing)}")
    hashes = split_manifest(manifest, split)      # an unknown split ends here, in one line
    if is_local and revision is not None and revision.removeprefix("v") != str(manifest["version"]):
        # A folder holds one version; ignoring the revision would label the result with a
        # version the user did not ask for.
        raise DatasetError(f"revision {revision!r} asked for, but {dataset or DEFAULT_DATASET} is a local "
                           f"folder holding version {manifest['version']} only; drop --revision or pass "
                           f"--revision v{manifest['version']}")
    tables = {}
    for config in HASHED_CONFIGS:
        if config == PAIR_STATS and PAIR_STATS not in (manifest.get("content_hashes") or {}):
            continue
        # Images and captions are the split's own; pairs, pair statistics and lexicon are shared.
        tables[config] = load_config(path, config, revision=revision, split=split if config in SPLIT_CONFIGS else TEST)
        if config in REQUIRED_COLUMNS:
            check_columns(config, tables[config].column_names)
    split_hash = str(hashes["dataset_hash"])
    memo = verified.key(path, split_hash) if verify and verified and is_local else None
    image_check = None
    if verify and not (memo and verified.known(memo)):
        remember = (lambda: verified.remember(memo)) if memo else None
        if deferred:
            verify_content_hashes({c: t for c, t in tables.items() if c != IMAGES}, hashes, split=split)
            want = (hashes.get("content_hashes") or {}).get(IMAGES)
            if want is None:
                raise DatasetError(f"manifest has no content hash for config {IMAGES!r}")
            image_check = ImageCheck(str(want), np.empty(0), remember)
        else:
            verify_content_hashes(tables, hashes, split=split)
            if remember:
                remember()

    images, captions = tables[IMAGES], tables[CAPTIONS]
    benchmark, image_order = build_benchmark(
        _columns(images, IMAGE_COLUMNS), _columns(captions, CAPTION_COLUMNS),
        list(zip(tables[PAIRS]["a"], tables[PAIRS]["b"], strict=True)), manifest,
        revision=None if is_local else revision)
    if image_check is not None:
        image_check = dataclasses.replace(image_check, stored_rows=image_order)
    return dataclasses.replace(benchmark, images_table=images.select(image_order.tolist()), image_check=image_check,
                               split=split, split_hash=split_hash, image_rows=image_order)


def locate_damage(dataset: str | os.PathLike | None, damaged: DamagedRow) -> DatasetError:
    """The one line for a row that cannot be decoded: the config, the shard file and the row in
    it (a local folder's shards, in the order `datasets` reads them), and what to do."""
    path, is_local = resolve_dataset(dataset)
    where = f"row {damaged.row} of config {damaged.config!r} of {path}"
    if is_local:
        import pyarrow.parquet as pq

        first = 0
        for shard in sorted((Path(path) / damaged.config).glob("*.parquet")):
            try:
                rows = pq.ParquetFile(shard).metadata.num_rows
            except Exception:   # a shard whose footer is damaged too: the row cannot be placed
                break
            if damaged.row < first + rows:
                where = f"row {damaged.row - first} of {shard} (row {damaged.row} of config {damaged.config!r})"
                break
            first += rows
    return DatasetError(f"{where} cannot be decoded ({damaged.cause}): the file is damaged; download the dataset "
                        f"again or rebuild it, then rerun")


def finish_image_check(check: ImageCheck, digests: list[bytes]) -> None:
    """Compare the images' content hash, from the row digests (`odbench.hashing.row_digest`) of
    gallery positions 0..n-1, with the manifest's; raise DatasetError when they differ."""
    stored = [b""] * len(digests)
    for position, row in enumerate(check.stored_rows.tolist()):
        stored[row] = digests[position]
    h = hashlib.sha256()
    for digest in stored:
        h.update(digest)
    got = h.hexdigest()
    if got != check.expected:
        raise DatasetError(f"config {IMAGES!r} does not match the manifest's content hash "
                           f"(got {got[:12]}, manifest says {check.expected[:12]}): the data was modified")
    if check.on_match is not None:
        check.on_match()


def verify_images(benchmark: Benchmark) -> None:
    """The deferred image check, when nothing else decodes the images (their embeddings came
    from the cache)."""
    if benchmark.image_check is not None:
        table, check = benchmark.images_table, benchmark.image_check
        digests = []
        for i in range(len(table)):
            try:
                digests.append(row_digest(table[i]))
            except Exception as exc:   # PIL raises many types for a damaged file
                raise DamagedRow(IMAGES, int(check.stored_rows[i]), f"{type(exc).__name__}: {exc}") from exc
        finish_image_check(check, digests)


# The columns read into memory (the pixels stay in the `datasets` table until they are encoded).
IMAGE_COLUMNS = ("image_id", "src_id", "edit_kind", "removed", "objects", "pair", "gallery_pos")
CAPTION_COLUMNS = ("caption_id", "text", "src_id", "edit_kind", "removed", "mentions", "pair", "gallery_pos")


def _columns(table, names: tuple[str, ...]) -> dict[str, list]:
    present = [n for n in names if n in table.column_names]
    return table.select_columns(present).to_dict()


def _check_exhaustive(images: Items, captions: Items) -> None:
    """An exhaustive dataset's captions name exactly the objects of their image (SPEC 1)."""
    objects = {int(images.src[i]): images.labels[i] for i in np.flatnonzero(images.is_original)}
    for items, what in ((images, "images"), (captions, "captions")):
        for i in range(len(items)):
            removed = items.removed[i]
            want = objects[int(items.src[i])] - ({removed} if removed else set())
            if items.labels[i] != want:
                raise DatasetError(f"{what}: the dataset declares caption_style 'exhaustive' but "
                                   f"{items.ids[i]!r} has {sorted(items.labels[i])}, not its source's "
                                   f"objects {sorted(want)}" + (f" minus {removed!r}" if removed else ""))


def build_benchmark(images: dict[str, list], captions: dict[str, list], pairs: list[tuple[str, str]],
                    manifest: dict[str, Any], *, revision: str | None = None) -> tuple[Benchmark, np.ndarray]:
    """A Benchmark from plain columns (as stored in the dataset); also returns the image row
    order that sorts the images into gallery order."""
    originals = [i for i, k in zip(images["image_id"], images["edit_kind"], strict=True) if k == ORIGINAL]
    if [s for s, k in zip(images["src_id"], images["edit_kind"], strict=True) if k == ORIGINAL] != originals:
        raise DatasetError("images: an original image's src_id must be its own image_id")
    sources = {s: i for i, s in enumerate(sorted(originals))}
    image_items, image_order = _items(images, "image_id", "objects", sources, "images")
    caption_items, caption_order = _items(captions, "caption_id", "mentions", sources, "captions")
    spec_version, style = caption_style(manifest)
    if style == EXHAUSTIVE:
        _check_exhaustive(image_items, caption_items)
    benchmark = Benchmark(
        name=str(manifest["name"]), version=str(manifest["version"]), revision=revision,
        dataset_hash=str(manifest["dataset_hash"]), sources=tuple(sorted(originals)),
        images=image_items, captions=caption_items,
        pairs=tuple(sorted(pair_key(p) for p in pairs)), manifest=manifest,
        caption_style=style, spec_version=spec_version, texts=tuple(captions["text"][i] for i in caption_order),
        split_hash=str(manifest["dataset_hash"]))
    return benchmark, image_order

