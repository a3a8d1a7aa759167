"""Score an encoder on a benchmark: embeddings -> top-K rankings -> metrics -> result document.

The encoder code knows nothing about metrics and the metric code nothing about models; this
module is the only place where both meet.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from typing import Any

import numpy as np
import torch

from . import __version__
from .benchmark import Benchmark
from .encoders import LoadedEncoder, check_output, load_encoder
from .metrics import compute_metrics
from .progress import progress
from .queries import DIRECTIONS, QuerySets
from .rankings import rankings_hash, to_ids
from .results import BenchmarkInfo, ModelInfo, ResultDocument, RunInfo
from .retrieval import normalize, top_k
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
    """Decodes (and preprocesses, in DataLoader workers) the images of a benchmark."""

    def __init__(self, table, preprocess) -> None:
        self.table, self.preprocess = table, preprocess

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int):
        image = self.table[int(i)]["image"].convert("RGB")
        return self.preprocess(image) if self.preprocess is not None else image


def _to_device(batch: Any, device: str) -> Any:
    return batch.to(device, non_blocking=True) if isinstance(batch, torch.Tensor) else batch


@torch.inference_mode()
def embed_images(loaded: LoadedEncoder, benchmark: Benchmark, config: RunConfig) -> torch.Tensor:
    encoder = loaded.encoder
    preprocess = getattr(encoder, "preprocess", None)
    loader = torch.utils.data.DataLoader(
        _ImageRows(benchmark.images_table, preprocess), batch_size=config.batch_size,
        num_workers=config.num_workers, shuffle=False,
        collate_fn=None if preprocess is not None else list,
        pin_memory=config.device.startswith("cuda"))
    out = []
    for batch in progress(loader, desc="images", total=len(loader), unit="batch"):
        n = len(batch)
        with _autocast(config):
            emb = encoder.encode_images(_to_device(batch, config.device))
        out.append(check_output(emb, expected_count=n, model_name=loaded.name, what="image").cpu())
    return normalize(torch.cat(out))


@torch.inference_mode()
def embed_texts(loaded: LoadedEncoder, benchmark: Benchmark, config: RunConfig, *,
                image_dim: int | None = None) -> torch.Tensor:
    """Caption embeddings; with `image_dim`, each batch must live in the images' space."""
    texts = list(benchmark.texts)
    out = []
    starts = range(0, len(texts), config.batch_size)
    for start in progress(starts, desc="captions", total=len(starts), unit="batch"):
        batch = texts[start:start + config.batch_size]
        with _autocast(config):
            emb = loaded.encoder.encode_texts(batch)
        out.append(check_output(emb, expected_count=len(batch), model_name=loaded.name, what="text",
                                expected_dim=image_dim).cpu())
    return normalize(torch.cat(out))


def rank_all(queries: QuerySets, image_emb: torch.Tensor, text_emb: torch.Tensor,
             config: RunConfig) -> dict[str, dict[str, list[str]]]:
    """Top-K gallery ids for every query of the four directions (SPEC section 7)."""
    rankings = {}
    for name in DIRECTIONS:
        d = queries.direction(name)
        q_emb, g_emb = (image_emb, text_emb) if name.endswith("i2t") else (text_emb, image_emb)
        ranked = top_k(q_emb[torch.as_tensor(d.query_pos)], g_emb[torch.as_tensor(d.gallery_pos)],
                       config.k, device=config.device, chunk_size=config.chunk_size)
        rankings[name] = to_ids(d, ranked)
    return rankings


def evaluate(loaded: LoadedEncoder, benchmark: Benchmark, queries: QuerySets, config: RunConfig, *,
             dataset_source: str) -> ResultDocument:
    """Run the whole evaluation and return a validated result document; `queries` are the
    benchmark's query sets (`odbench.queries.build_query_sets`)."""
    seed_everything(config.seed)
    started = time.perf_counter()
    encoder = loaded.encoder
    if hasattr(encoder, "to"):
        encoder.to(config.device)
    if hasattr(encoder, "eval"):
        encoder.eval()
    image_emb = embed_images(loaded, benchmark, config)
    text_emb = embed_texts(loaded, benchmark, config, image_dim=image_emb.shape[1])
    rankings = rank_all(queries, image_emb, text_emb, config)
    report = compute_metrics(benchmark, queries, rankings, list_length=config.k)
    doc = ResultDocument(
        benchmark=BenchmarkInfo(name=benchmark.name, version=benchmark.version, revision=benchmark.revision,
                                spec_version=benchmark.spec_version, caption_style=benchmark.caption_style,
                                dataset_hash=benchmark.dataset_hash, source=dataset_source),
        model=ModelInfo(**loaded.identity()),
        run=RunInfo(odbench_version=__version__, torch_version=torch.__version__, device=config.device,
                    precision=config.precision, batch_size=config.batch_size, num_workers=config.num_workers,
                    seed=config.seed, k=config.k,
                    date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    wall_time_s=round(time.perf_counter() - started, 3)),
        metrics=report.metrics, per_pair=report.per_pair, per_category=report.per_category,
        query_counts=report.query_counts, rankings=rankings, rankings_sha256=rankings_hash(rankings))
    doc.validate()
    return doc
