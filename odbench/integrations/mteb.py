"""ODBench as an MTEB task: `mteb.evaluate(model, tasks=[ODBenchTask()])` scores any MTEB model
(from `mteb.get_model(NAME)`) with ODBench's own metric code.

    import mteb
    from odbench.integrations.mteb import ODBenchTask

    model = mteb.get_model("openai/clip-vit-base-patch32")
    result = mteb.evaluate(model, tasks=[ODBenchTask()], cache=None)
    scores = result.task_results[0].scores["test"][0]      # odmap@10, odmap_i2t@10, cmap@10, gap@10, hr@5, ...

The task loads the dataset as `odbench-eval` does (the embedded odbench-picto by default; any
folder or hub id with `ODBenchTask(dataset=...)`, hash-verified), has the model encode every
image and caption through its own `encode` (in gallery order, `encode_kwargs["batch_size"]` at a
time, no prompts), and then ranks and scores exactly as `odbench-eval` does
(`odbench.evaluate.rank_all`, `odbench.metrics.compute_metrics`): the scores are every metric of
SPEC section 5 (null ones left out), main score `odmap@10`. The same model with the same batch
size gets the same numbers through `odbench-eval --model mteb:NAME` (tests/test_mteb.py).

Needs mteb (`pip install 'odbench[mteb]'`); importing this module without it is one ImportError
that says so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from mteb.abstasks import AbsTask
    from mteb.abstasks.task_metadata import TaskMetadata
except ImportError:
    raise ImportError("odbench.integrations.mteb needs mteb, which is not installed: "
                      "pip install 'odbench[mteb]'") from None

from ..data import DEFAULT_DATASET, load_benchmark, read_manifest
from ..encoders.mteb_adapter import encode_with
from ..evaluate import rank_all
from ..metrics import compute_metrics
from ..queries import build_query_sets
from ..retrieval import normalize
from ..run_config import RunConfig

# The paper ODBench follows (its own definitions are in docs/spec.md).
_CITATION = """@inproceedings{kim2023exposing,
  title     = {Exposing and Mitigating Spurious Correlations for Cross-Modal Retrieval},
  author    = {Kim, Jae Myung and Koepke, A. Sophia and Schmid, Cordelia and Akata, Zeynep},
  booktitle = {CVPR Workshops},
  year      = {2023}
}"""


def _metadata(dataset: str | None) -> TaskMetadata:
    manifest = read_manifest(dataset)
    name = str(manifest["name"])
    return TaskMetadata(
        name="ODBench" + "".join(part.capitalize() for part in name.removeprefix("odbench").split("-") if part),
        description=("Object-decorrelation retrieval (ODBench): images from which one object of a frequently "
                     "co-occurring pair was removed, and captions edited to match; does the model still rank "
                     "the true descriptions above sentences naming the removed object? Scored by ODmAP@10 "
                     "(image to text and text to image), control mAP, the decorrelation gap and the "
                     "hallucination rate."),
        dataset={"path": dataset or DEFAULT_DATASET, "revision": f"v{manifest['version']}"},
        type="Any2AnyRetrieval", modalities=["image", "text"], eval_splits=["test"], eval_langs=["eng-Latn"],
        main_score="odmap@10", license="cc-by-sa-4.0" if name == DEFAULT_DATASET else None,
        annotations_creators="derived", sample_creation="created", bibtex_citation=_CITATION)


class ODBenchTask(AbsTask):
    """One ODBench test dataset as an MTEB task (both directions, every metric, one run)."""

    metadata = _metadata(None)

    def __init__(self, dataset: str | Path | None = None, **kwargs: Any) -> None:
        if dataset is not None:   # the instance describes its own dataset
            self.metadata = _metadata(str(dataset))
        super().__init__(**kwargs)
        self._source = None if dataset is None else str(dataset)
        self._benchmark = self._queries = None

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """ODBench's loader, not a bare `load_dataset`: the content hash is verified and the
        query sets (relevance) are built once."""
        if self.data_loaded:
            return
        self._benchmark = load_benchmark(self._source)
        self._queries = build_query_sets(self._benchmark)
        self.dataset = {"default": {"test": self._benchmark.images_table}}
        self.data_loaded = True

    def _evaluate_subset(self, model: Any, data_split: Any, *, hf_split: str, hf_subset: str,
                         encode_kwargs: dict[str, Any], **kwargs: Any) -> dict[str, float]:
        benchmark, queries = self._benchmark, self._queries
        batch_size = int(encode_kwargs.get("batch_size", 32))
        images = [row["image"].convert("RGB") for row in benchmark.images_table]   # gallery order
        image_emb = normalize(encode_with(model, "image", images, batch_size=batch_size, metadata=self.metadata))
        text_emb = normalize(encode_with(model, "text", list(benchmark.texts), batch_size=batch_size,
                                         metadata=self.metadata))
        config = RunConfig(batch_size=batch_size)
        rankings = rank_all(queries, image_emb, text_emb, config)
        report = compute_metrics(benchmark, queries, rankings, list_length=config.k)
        return {name: float(value) for name, value in report.metrics.items() if value is not None}

    def _calculate_descriptive_statistics_from_split(self, split: str, *, hf_subset: str | None = None,
                                                     compute_overall: bool = False,
                                                     num_proc: int | None = None) -> dict[str, int]:
        self.load_data()
        return {"num_images": len(self._benchmark.images), "num_captions": len(self._benchmark.captions),
                "num_pairs": len(self._benchmark.pairs)}
