"""Write a dataset folder in the layout of docs/dataset-format.md.

    out_dir/README.md                             card; YAML declares configs, version, licence
    out_dir/<config>/<split>-00000-of-0000N.parquet      shards of at most ~5 MB

The manifest's `content_hashes` are taken over the rows as `datasets` decodes them from the
written parquet (`load_dataset(folder, config)`), so the hash is over exactly what users load
and loading every config is verified on the way. The folder is built beside `out_dir` and
renamed into place: a failed build never leaves a half-written dataset.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from PIL import Image as PILImage

from odbench.dataset_format import (
    COMPUTED_MANIFEST_KEYS,
    MANIFEST,
    dataset_splits,
    decode_manifest,
    definitions,
    split_manifest,
    verify_content_hashes,
)
from odbench.errors import DatasetError
from odbench.hashing import canonical_json, config_hash, dataset_hash

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SEMVER = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")     # as result.schema.json's benchmark.version


@dataclass(frozen=True)
class DatasetCard:
    name: str            # e.g. "odbench-picto"
    version: str         # semver "X.Y.Z"
    license: str         # hub licence id, e.g. "cc-by-4.0"
    citation: str        # BibTeX
    description: str     # markdown
    attribution: str = ""  # third-party data and its licences (COCO, OpenMoji, ...)
    pretty_name: str | None = None

    def __post_init__(self) -> None:
        # result.schema.json takes X.Y.Z only: any other version would be refused by every
        # evaluation at its very end, after the whole build
        if not SEMVER.fullmatch(self.version):
            raise ValueError(f"--version {self.version!r} is not semver X.Y.Z (e.g. 1.0.0): results on it "
                             f"could never be written")


@dataclass(frozen=True)
class FolderInfo:
    path: Path
    content_hashes: dict[str, str]
    dataset_hash: str
    num_rows: dict[str, int]


# Shards stay well under the 10 MB a file that repositories (and the hub's web UI) handle well.
MAX_SHARD_BYTES = 5_000_000


def shard_glob(config: str, split: str) -> str:
    """The data_files pattern of a config in the card; shards load in name order."""
    return f"{config}/{split}-*.parquet"


def shard_name(config: str, split: str, index: int, count: int) -> str:
    return f"{config}/{split}-{index:05d}-of-{count:05d}.parquet"


def _png_value(value: Any) -> Any:
    """An image cell as {"bytes": PNG, "path": None}: PNG is lossless, so pixels survive."""
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        with PILImage.open(value) as im:
            return _png_value(im.copy())
    if isinstance(value, Mapping):
        data = value.get("bytes")
        if data is None:
            return _png_value(value["path"])
        if data.startswith(_PNG_MAGIC):
            return {"bytes": data, "path": None}
        with PILImage.open(io.BytesIO(data)) as im:
            return _png_value(im.copy())
    if isinstance(value, PILImage.Image):
        return {"bytes": compact_png(value), "path": None}
    raise TypeError(f"cannot store {type(value).__name__} as an image")


# oxipng's color type, bit depth, palette and grayscale reductions would change the decoded
# mode (an RGB scene with grey pixels only would decode as "L"), and the content hash is over
# the decoded mode and pixels: only the deflate stream and filters are optimised.
_OXIPNG_OPTIONS = {"level": 2, "color_type_reduction": False, "bit_depth_reduction": False,
                   "palette_reduction": False, "grayscale_reduction": False}


def compact_png(image: PILImage.Image) -> bytes:
    """`image` as a losslessly optimised PNG (oxipng: about 13% smaller than Pillow's PNG on
    PictoWorld scenes, where Pillow's optimize=True saves 2%); the decoded pixels are checked."""
    import oxipng

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    data = oxipng.optimize_from_memory(buf.getvalue(), **_OXIPNG_OPTIONS)
    with PILImage.open(io.BytesIO(data)) as back:
        if back.mode != image.mode or back.size != image.size or back.tobytes() != image.tobytes():
            raise RuntimeError("oxipng changed the pixels of an image; refusing to store it")
    return data


def _rows(data: Any, features: Any) -> Iterator[dict[str, Any]]:
    """Rows of a list/iterable of dicts or of a `datasets.Dataset` (images left undecoded)."""
    from datasets import Dataset, Image
    if isinstance(data, Dataset):
        for col, feat in data.features.items():
            if isinstance(feat, Image):  # skip decode + re-encode when already PNG
                data = data.cast_column(col, Image(decode=False))
        yield from data
    else:
        yield from data


def _write_parquet(folder: Path, config: str, split: str, data: Any, features: Any) -> int:
    """Write one config as parquet shards of at most about MAX_SHARD_BYTES each, with the
    `datasets` features in their schema. Returns the number of rows."""
    max_shard_bytes = MAX_SHARD_BYTES
    from datasets import Image
    image_cols = [c for c, f in features.items() if isinstance(f, Image)]
    # Small row groups for image configs, as `datasets` does, so readers can stream them.
    batch_size = 100 if image_cols else 10_000
    schema = features.arrow_schema  # carries the `huggingface` features metadata
    expected = set(features)
    (folder / config).mkdir(parents=True, exist_ok=True)
    shards: list[Path] = []
    writer: pq.ParquetWriter | None = None
    shard_bytes = 0
    n = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer, shard_bytes
        cols = {c: [r[c] for r in batch] for c in features}
        for c in image_cols:
            cols[c] = [_png_value(v) for v in cols[c]]
        table = pa.Table.from_pydict(features.encode_batch(cols), schema=schema)
        if writer is not None and shard_bytes + table.nbytes > max_shard_bytes:
            writer.close()
            writer = None
        if writer is None:
            shards.append(folder / config / f".{split}-{len(shards):05d}.parquet")
            writer, shard_bytes = pq.ParquetWriter(shards[-1], schema), 0
        writer.write_table(table)
        shard_bytes += table.nbytes
        batch.clear()

    try:
        for row in _rows(data, features):
            if set(row) != expected:
                raise ValueError(f"config {config!r}, row {n}: missing columns "
                                 f"{sorted(expected - set(row))}, unexpected {sorted(set(row) - expected)}")
            batch.append(row)
            n += 1
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    finally:
        if writer is not None:
            writer.close()
    if n == 0:  # `load_dataset` fails on an empty split ("corresponds to no data")
        raise ValueError(f"config {config!r} has no rows; datasets cannot load an empty config")
    for i, tmp in enumerate(shards):  # the count is only known now
        tmp.rename(folder / shard_name(config, split, i, len(shards)))
    return n


@dataclass(frozen=True)
class SplitLayout:
    """Which splits a folder's configs have: every config has `main`; `extra` names, per other
    split, the configs that have shards of it."""
    main: str
    extra: Mapping[str, list[str]]

    def splits_of(self, config: str) -> list[str]:
        return [self.main, *(s for s, configs in self.extra.items() if config in configs)]


def _config_table(configs: list[str], num_rows: Mapping[str, int], hashes: Mapping[str, str]) -> str:
    return "\n".join(f"| `{c}` | {num_rows[c]} | `{hashes.get(c, '(this manifest)')[:16]}` |" for c in configs)


def _card_text(card: DatasetCard, configs: list[str], layout: SplitLayout, num_rows: Mapping[str, Mapping[str, int]],
               splits: Mapping[str, Mapping[str, Any]], dhash: str, defs: Mapping[str, str]) -> str:
    split = layout.main
    meta: dict[str, Any] = {
        "pretty_name": card.pretty_name or card.name,
        "license": card.license,
        "version": card.version,
        "citation": card.citation,
        "configs": [{"config_name": c, "data_files": [{"split": s, "path": shard_glob(c, s)}
                                                      for s in layout.splits_of(c)]}
                    for c in configs],
        "odbench": {"name": card.name, "version": card.version, **defs, "dataset_hash": dhash},
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    hashes = (splits.get(split) or {}).get("content_hashes", {})
    table = _config_table(configs, num_rows[split], hashes)
    first = configs[0]
    defs_note = "".join(f", {k.replace('_', ' ')} `{v}`" for k, v in defs.items())
    loads = f'ds = load_dataset("<repo or folder>", "{first}", split="{split}", revision="v{card.version}")'
    others = ""
    for other, other_configs in layout.extra.items():
        info = splits.get(other) or {}
        shared = [c for c in configs if c not in other_configs and c != MANIFEST]
        others += f"""
Split `{other}`{' (' + ', '.join(f'`{c}`' for c in other_configs) + ')'}: its own sources; the other configs
({', '.join(f'`{c}`' for c in shared)}) are shared with `{split}`.

| config | rows | content hash |
|---|---|---|
{_config_table(other_configs, num_rows.get(other, {}), info.get("content_hashes", {}))}

Split hash of `{other}`: `{info.get("split_hash", "(pending)")}` (the dataset hash is that of `{split}`).
"""
        loads += f'\nval = load_dataset("<repo or folder>", "{other_configs[0]}", split="{other}", ' \
                 f'revision="v{card.version}")'
    return f"""---
{front}---

# {card.pretty_name or card.name} v{card.version}

{card.description.strip()}

## Configs

| config | rows | content hash |
|---|---|---|
{table}

Dataset hash: `{dhash}` (over decoded pixels and values{defs_note}; see the `manifest` config).
{others}
```python
from datasets import load_dataset
{loads}
```

## Licence

{card.license}

{card.attribution.strip()}

## Citation

```bibtex
{card.citation.strip()}
```
"""


@contextlib.contextmanager
def no_progress_bars() -> Iterator[None]:
    """Silence `datasets`' "Generating split" bars for loads the builder does for itself."""
    import datasets
    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def _load(folder: Path, config: str, split: str, cache_dir: str) -> Any:
    """`load_dataset` as users call it (internal check)."""
    import datasets
    with no_progress_bars():
        return datasets.load_dataset(str(folder), config, split=split, cache_dir=cache_dir)


def write_dataset_folder(out_dir: str | os.PathLike, configs: Mapping[str, tuple[Iterable[Mapping[str, Any]] | Any, Any]],
                         card: DatasetCard, manifest: Mapping[str, Any], split: str = "test", *,
                         overwrite: bool = False,
                         extra_splits: Mapping[str, Mapping[str, tuple[Any, Any]]] | None = None) -> FolderInfo:
    """Write `configs` ({name: (rows or Dataset, Features)}) plus the `manifest` config.

    `manifest` holds the builder's fields (builder_version, seed, source, ...); values that are
    not strings are stored as canonical JSON. `name`, `version`, `content_hashes` and
    `dataset_hash` are filled in here. Raises FileExistsError if `out_dir` is a non-empty
    folder and `overwrite` is false.

    `extra_splits` ({split: {config: (rows, Features)}}, e.g. a validation split's images and
    captions) adds shards of other splits to some configs. The dataset hash stays that of
    `split` alone (SPEC 9); the manifest's `splits` gives each split its content hashes (the
    configs it lacks are shared with `split`) and its split hash.
    """
    from datasets import Features, Value
    out = Path(out_dir)
    if MANIFEST in configs:
        raise ValueError("the manifest config is written by write_dataset_folder, not passed in")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass overwrite=True to replace it")
    for key in COMPUTED_MANIFEST_KEYS:
        if key in manifest:
            raise ValueError(f"manifest[{key!r}] is computed here, do not pass it")
    for key in ("name", "version"):
        if key in manifest and str(manifest[key]) != getattr(card, key):
            raise ValueError(f"manifest {key} {manifest[key]!r} differs from the card's {getattr(card, key)!r}")

    defs = definitions(manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    # mkdtemp makes the folder private (0700); the dataset gets the mode any new folder would get.
    os.chmod(tmp, 0o777 & ~umask())
    cache = tempfile.mkdtemp(prefix="odbench-hf-cache-")  # keep datasets' cache out of ~/.cache
    try:
        num_rows = {name: _write_parquet(tmp, name, split, data, feats)
                    for name, (data, feats) in configs.items()}
        extra = {s: {name: _write_parquet(tmp, name, s, data, feats) for name, (data, feats) in cfgs.items()}
                 for s, cfgs in (extra_splits or {}).items()}
        names = [*configs, MANIFEST]
        layout = SplitLayout(split, {s: list(rows) for s, rows in extra.items()})
        # The card must exist before load_dataset can resolve configs by name.
        (tmp / "README.md").write_text(_card_text(card, names, layout, {split: {**num_rows, MANIFEST: 1}, **extra},
                                                  {}, "(pending)", defs), encoding="utf-8")
        hashes = _hashes(tmp, split, num_rows, cache)
        dhash = dataset_hash(hashes, defs)
        splits = {split: {"content_hashes": hashes, "split_hash": dhash}}
        for s, rows in extra.items():
            own = {**hashes, **_hashes(tmp, s, rows, cache)}
            splits[s] = {"content_hashes": own, "split_hash": dataset_hash(own, defs)}

        row = {"name": card.name, "version": card.version}
        row.update({k: v if isinstance(v, str) else canonical_json(v) for k, v in manifest.items()})
        row.update(content_hashes=canonical_json(hashes), dataset_hash=dhash)
        if extra:
            row["splits"] = canonical_json(splits)
        feats = Features({k: Value("string") for k in row})
        num_rows[MANIFEST] = _write_parquet(tmp, MANIFEST, split, [row], feats)
        if _load(tmp, MANIFEST, split, cache)[0]["dataset_hash"] != dhash:
            raise RuntimeError("manifest did not round-trip")
        (tmp / "README.md").write_text(_card_text(card, names, layout, {split: num_rows, **extra}, splits,
                                                  dhash, defs), encoding="utf-8")
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return FolderInfo(out, hashes, dhash, num_rows)


def _hashes(folder: Path, split: str, num_rows: Mapping[str, int], cache: str) -> dict[str, str]:
    """Content hash of each config of one split, over the rows as `load_dataset` decodes them."""
    hashes = {}
    for name, n in num_rows.items():
        if name == MANIFEST:
            continue
        ds = _load(folder, name, split, cache)
        if len(ds) != n:
            raise RuntimeError(f"config {name!r}, split {split!r}: wrote {n} rows, loaded {len(ds)}")
        hashes[name] = config_hash(ds)
    return hashes


def umask() -> int:
    """The process umask (only readable by setting it; set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace(tmp: Path, out: Path) -> None:
    """Rename `tmp` to `out`; an existing `out` is moved aside first and restored on failure."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old) if old.is_dir() else old.unlink()


def add_card_section(folder: str | os.PathLike, title: str, body: str) -> None:
    """Put a `## title` section into a folder's card, before its licence (replacing a section
    of the same title). The card is not part of the content hash, so this changes no hash."""
    path = Path(folder) / "README.md"
    text = path.read_text(encoding="utf-8")
    heading = f"## {title}\n"
    if heading in text:   # drop the old section, up to the next heading
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + (text[end + 1:] if end != -1 else "")
    anchor = text.index("## Licence\n")
    path.write_text(text[:anchor] + heading + "\n" + body.strip() + "\n\n" + text[anchor:], encoding="utf-8")


def read_card_metadata(folder: str | os.PathLike) -> dict[str, Any]:
    """The YAML front matter of a folder's README.md."""
    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{folder}/README.md has no YAML front matter")
    return yaml.safe_load(text[4:text.index("\n---", 4)]) or {}


def verify_dataset_folder(folder: str | os.PathLike) -> dict[str, Any]:
    """Load every config of every split with `load_dataset` and check the manifest hashes;
    returns the manifest (decoded: odbench.dataset_format). Raises ValueError naming what does
    not match.
    """
    folder = Path(folder)
    meta = read_card_metadata(folder)
    configs = [c["config_name"] for c in meta.get("configs", [])]
    if MANIFEST not in configs:
        raise ValueError(f"{folder}: the card declares no manifest config")
    split = meta["configs"][0]["data_files"][0]["split"]
    cache = tempfile.mkdtemp(prefix="odbench-hf-cache-")
    try:
        manifest = decode_manifest(_load(folder, MANIFEST, split, cache).to_list())
        expected = manifest["content_hashes"]
        if set(expected) != set(configs) - {MANIFEST}:
            raise ValueError(f"{folder}: manifest hashes {sorted(expected)} but the card declares "
                             f"{sorted(set(configs) - {MANIFEST})}")
        verify_content_hashes({name: _load(folder, name, split, cache) for name in expected}, manifest)
        for other in dataset_splits(manifest)[1:]:
            # The configs with shards of that split are loaded; the others are test's, verified above.
            has = {c["config_name"] for c in meta["configs"] if any(f["split"] == other for f in c["data_files"])}
            verify_content_hashes({name: _load(folder, name, other, cache) for name in sorted(has)},
                                  split_manifest(manifest, other), split=other)
    except DatasetError as exc:
        raise ValueError(f"{folder}: {exc}") from None
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return manifest
