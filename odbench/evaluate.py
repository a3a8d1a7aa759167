"""Score an encoder on a benchmark: embeddings -> top-K rankings -> metrics -> result document.

The encoder code knows nothing about metrics and the metric code nothing about models; this
module is the only place where both meet.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import random
import time
from importlib import metadata
from typing import Any

import numpy as np
import torch

from . import __version__, distributed
from .benchmark import Benchmark
from .cache import EmbeddingCache
from .data import finish_image_check, verify_images
from .dataset_format import IMAGES, TEST
from .encoders import LoadedEncoder, check_output, load_encoder
from .errors import DamagedRow
from .hashing import row_digest
from .intervals import DEFAULT_DRAWS, DEFAULT_SEED, compute_intervals
from .metrics import query_scores, report_of
from .progress import progress
from .queries import DIRECTIONS, QuerySets
from .rankings import rankings_hash, to_ids
from .results import BenchmarkInfo, ModelInfo, ResultDocument, RunInfo
from .retrieval import normalize, tied_lists, top_k
from .run_config import RunConfig


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_encoder(spec: str, args: dict[str, Any] | None = None, *, seed: int = 0) -> LoadedEncoder:
    """Seed every generator, then build the model: whatever a constructor draws at random
    (an untrained tower, a projection) depends on the run's seed and nothing else."""
    seed_everything(seed)
    return load_encoder(spec, args)


def _autocast(config: RunConfig):
    if config.precision == "fp32":
        return contextlib.nullcontext()
    device_type = "cuda" if config.device.startswith("cuda") else "cpu"
    dtype = torch.float16 if device_type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device_type, dtype=dtype)


class _ImageRows(torch.utils.data.Dataset):
    """Decodes (and preprocesses, in DataLoader workers) the images of a benchmark; with
    `digests`, also the row digest of the content hash, from the same decoded row. A row that
    cannot be decoded comes back as a `_Damaged`, raised in the main process: an exception
    raised in a worker would reach the user wrapped in its traceback."""

    def __init__(self, table, preprocess, rows: range, digests: bool = False,
                 stored: np.ndarray | None = None) -> None:
        self.table, self.preprocess, self.rows, self.digests = table, preprocess, rows, digests
        self.stored = stored

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        position = self.rows[int(i)]
        try:
            row = self.table[position]
            image = row["image"].convert("RGB")
        except Exception as exc:   # PIL raises many types for a damaged file
            stored = int(self.stored[position]) if self.stored is not None else position
            return _Damaged(stored, f"{type(exc).__name__}: {exc}"), b""
        return (self.preprocess(image) if self.preprocess is not None else image,
                row_digest(row) if self.digests else b"")


@dataclasses.dataclass(frozen=True)
class _Damaged:
    row: int          # the stored row of the images config
    cause: str


def _collate(items: list, stack: bool) -> tuple[Any, list[bytes]]:
    images = [image for image, _ in items]
    damaged = next((image for image in images if isinstance(image, _Damaged)), None)
    if damaged is not None:
        return damaged, []
    return torch.utils.data.default_collate(images) if stack else images, [digest for _, digest in items]


def _to_device(batch: Any, device: str) -> Any:
    return batch.to(device, non_blocking=True) if isinstance(batch, torch.Tensor) else batch


@torch.inference_mode()
def embed_images(loaded: LoadedEncoder, benchmark: Benchmark, config: RunConfig,
                 rows: range | None = None, digests: list[bytes] | None = None) -> torch.Tensor:
    """Image embeddings (of the gallery positions `rows`, all by default). With `digests`, the
    rows' content-hash digests are appended to it, computed from the rows decoded to encode."""
    rows = range(len(benchmark.images)) if rows is None else rows
    if not rows:
        return torch.zeros(0, 0)
    encoder = loaded.encoder
    preprocess = getattr(encoder, "preprocess", None)
    loader = torch.utils.data.DataLoader(
        _ImageRows(benchmark.images_table, preprocess, rows, digests is not None, benchmark.image_rows),
        batch_size=config.batch_size, num_workers=config.num_workers, shuffle=False,
        collate_fn=functools.partial(_collate, stack=preprocess is not None), pin_memory=config.device.startswith("cuda"))
    out = []
    for batch, batch_digests in progress(loader, desc="images", total=len(loader), unit="batch"):
        if isinstance(batch, _Damaged):
            raise DamagedRow(IMAGES, batch.row, batch.cause)
        n = len(batch)
        if digests is not None:
            digests.extend(batch_digests)
        with _autocast(config):
            emb = encoder.encode_images(_to_device(batch, config.device))
        out.append(normalize(check_output(emb, expected_count=n, model_name=loaded.name, what="image").cpu()))
    return torch.cat(out)


@torch.inference_mode()
def embed_texts(loaded: LoadedEncoder, benchmark: Benchmark, config: RunConfig, *,
                image_dim: int | None = None, rows: range | None = None) -> torch.Tensor:
    """Caption embeddings (of the gallery positions `rows`, all by default); with `image_dim`,
    each batch must live in the images' space."""
    texts = list(benchmark.texts) if rows is None else list(benchmark.texts[rows.start:rows.stop])
    if not texts:
        return torch.zeros(0, 0)
    out = []
    starts = range(0, len(texts), config.batch_size)
    for start in progress(starts, desc="captions", total=len(starts), unit="batch"):
        batch = texts[start:start + config.batch_size]
        with _autocast(config):
            emb = loaded.encoder.encode_texts(batch)
        out.append(normalize(check_output(emb, expected_count=len(batch), model_name=loaded.name, what="text",
                                          expected_dim=image_dim).cpu()))
    return torch.cat(out)


def _embeddings(name: str, image_emb: torch.Tensor, text_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return (image_emb, text_emb) if name.endswith("i2t") else (text_emb, image_emb)


def rank_positions(queries: QuerySets, image_emb: torch.Tensor, text_emb: torch.Tensor,
                   config: RunConfig) -> dict[str, np.ndarray]:
    """Top-K gallery positions (into each direction's gallery) for every query of the four
    directions. Under torchrun each process ranks whole query chunks of its own, and all get
    every ranking."""
    ranked_by_direction = {}
    for name in DIRECTIONS:
        d = queries.direction(name)
        q_emb, g_emb = _embeddings(name, image_emb, text_emb)
        mine = distributed.share(len(d.query_pos), config.chunk_size)
        ranked = top_k(q_emb[torch.as_tensor(d.query_pos[mine.start:mine.stop])],
                       g_emb[torch.as_tensor(d.gallery_pos)],
                       config.k, device=config.device, chunk_size=config.chunk_size)
        ranked_by_direction[name] = distributed.gather_rows(torch.from_numpy(ranked)).numpy()
    return ranked_by_direction


def rank_all(queries: QuerySets, image_emb: torch.Tensor, text_emb: torch.Tensor,
             config: RunConfig) -> dict[str, dict[str, list[str]]]:
    """Top-K gallery ids for every query of the four directions (SPEC section 7)."""
    positions = rank_positions(queries, image_emb, text_emb, config)
    return {name: to_ids(queries.direction(name), ranked) for name, ranked in positions.items()}


def count_tied(queries: QuerySets, image_emb: torch.Tensor, text_emb: torch.Tensor,
               positions: dict[str, np.ndarray]) -> int:
    """How many queries' ranked lists are one tie (`retrieval.tied_lists`), over the four directions."""
    tied = 0
    for name, ranked in positions.items():
        d = queries.direction(name)
        q_emb, g_emb = _embeddings(name, image_emb, text_emb)
        tied += int(tied_lists(q_emb[torch.as_tensor(d.query_pos)], g_emb[torch.as_tensor(d.gallery_pos)],
                               ranked).sum())
    return tied


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def embedding_key(loaded: LoadedEncoder, benchmark: Benchmark, config: RunConfig) -> dict[str, Any] | None:
    """Everything that determines a run's embeddings, or None when the model has no weights
    hash (its embeddings could change with nothing we can see, so they are never cached)."""
    if loaded.weights_hash is None:
        return None
    return {"model": loaded.identity(), "target": loaded.target, "code": loaded.code_hash,
            # the split's hash: a validation split has the dataset hash of its test split (SPEC 9)
            "dataset_hash": benchmark.split_hash or benchmark.dataset_hash, "images": len(benchmark.images),
            "texts": len(benchmark.texts), "precision": config.precision,
            "device": config.device.partition(":")[0], "batch_size": config.batch_size, "seed": config.seed,
            "odbench": __version__, "torch": torch.__version__, "open_clip": _version("open_clip_torch")}


def embed_all(loaded: LoadedEncoder, benchmark: Benchmark, config: RunConfig,
              cache: EmbeddingCache | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and caption embeddings, from `cache` when it holds this run's (then the model
    never runs); computed ones are stored there."""
    key = embedding_key(loaded, benchmark, config) if cache is not None else None
    if cache is not None and key is None:
        cache.status = "embeddings computed (not cached: the model has no weights hash)"
    # under torchrun, rank 0 reads the cache and every rank takes what it found
    found = distributed.broadcast(cache.load(key) if key is not None and distributed.is_main() else None)
    if found is not None:
        verify_images(benchmark)     # deferred by the loader: the images were not decoded yet
        return found
    encoder = loaded.encoder
    if hasattr(encoder, "to"):
        encoder.to(config.device)
    if hasattr(encoder, "eval"):
        encoder.eval()
    # under torchrun each process encodes whole batches of its own, and all get every embedding
    digests: list[bytes] | None = [] if benchmark.image_check is not None else None
    image_emb = distributed.gather_rows(embed_images(
        loaded, benchmark, config, rows=distributed.share(len(benchmark.images), config.batch_size),
        digests=digests))
    if digests is not None:   # the content hash, from the rows just decoded to encode them
        finish_image_check(benchmark.image_check, distributed.gather_objects(digests))
    text_emb = distributed.gather_rows(embed_texts(
        loaded, benchmark, config, image_dim=image_emb.shape[1],
        rows=distributed.share(len(benchmark.texts), config.batch_size)))
    if key is not None and distributed.is_main():
        cache.store(key, image_emb, text_emb)
    return image_emb, text_emb


def evaluate(loaded: LoadedEncoder, benchmark: Benchmark, queries: QuerySets, config: RunConfig, *,
             dataset_source: str, cache: EmbeddingCache | None = None, draws: int = DEFAULT_DRAWS,
             draw_seed: int = DEFAULT_SEED) -> ResultDocument:
    """Run the whole evaluation and return a validated result document; `queries` are the
    benchmark's query sets (`odbench.queries.build_query_sets`). With `cache`, embeddings of
    an unchanged model on unchanged data are read rather than computed (`cache.status` says).
    Every metric gets SPEC 9's interval from `draws` draws of `draw_seed`."""
    seed_everything(config.seed)
    started = time.perf_counter()
    image_emb, text_emb = embed_all(loaded, benchmark, config, cache)
    positions = rank_positions(queries, image_emb, text_emb, config)
    rankings = {name: to_ids(queries.direction(name), ranked) for name, ranked in positions.items()}
    scores = query_scores(benchmark, queries, rankings, list_length=config.k)
    report = report_of(scores)
    intervals = compute_intervals(benchmark, queries, rankings, draws=draws, seed=draw_seed, scores=scores,
                                  point=report.metrics)
    doc = ResultDocument(
        benchmark=BenchmarkInfo(name=benchmark.name, version=benchmark.version, revision=benchmark.revision,
                                spec_version=benchmark.spec_version, caption_style=benchmark.caption_style,
                                dataset_hash=benchmark.dataset_hash, source=dataset_source,
                                split=None if benchmark.split == TEST else benchmark.split),
        model=ModelInfo(**loaded.identity()),
        run=RunInfo(odbench_version=__version__, torch_version=torch.__version__, device=config.device,
                    precision=config.precision, batch_size=config.batch_size, num_workers=config.num_workers,
                    seed=config.seed, k=config.k,
                    date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    wall_time_s=round(time.perf_counter() - started, 3),
                    tied_queries=count_tied(queries, image_emb, text_emb, positions) or None),   # absent: none
        metrics=report.metrics, per_pair=report.per_pair, per_category=report.per_category,
        query_counts=report.query_counts, rankings=rankings, rankings_sha256=rankings_hash(rankings),
        intervals=intervals.as_dict())
    doc.validate()
    return doc
