import sys
from pathlib import Path

import pytest

# Test helper modules (tiny_dataset.py) are imported by name.
sys.path.insert(0, str(Path(__file__).parent))

from tiny_dataset import NAME, write_tiny_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch) -> Path:
    """Every test starts with an empty odbench cache of its own (never the user's ~/.cache)."""
    monkeypatch.setenv("ODBENCH_CACHE_DIR", str(tmp_path / "odbench-cache"))
    return tmp_path / "odbench-cache"


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """The hand-worked tiny benchmark as a dataset folder in the SPEC layout."""
    out = tmp_path_factory.mktemp("datasets") / NAME
    write_tiny_dataset(out)
    return out


@pytest.fixture(scope="session")
def loaded_tiny(dataset):
    """The tiny dataset loaded as a Benchmark (hash-verified once per session)."""
    from odbench.data import load_benchmark

    return load_benchmark(dataset)


@pytest.fixture(scope="session")
def pictoworld(tmp_path_factory) -> Path:
    """A 48-scene PictoWorld training split at 64 px (the training tests' original pairs)."""
    from dataset_builders.pictoworld import generate

    root = tmp_path_factory.mktemp("pw") / "pictoworld"
    generate(root, seed=0, n_images={"train": 48}, correlation={"train": 0.9}, image_size=64, num_workers=1)
    return root


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory, pictoworld) -> Path:
    """A tiny HF dataset folder with image and caption columns (the synthetic set's shape)."""
    import datasets

    from odbench_train.data import coco_pairs

    src = coco_pairs(pictoworld)
    folder = tmp_path_factory.mktemp("syn") / "synthetic"
    (folder / "train").mkdir(parents=True)
    ds = datasets.Dataset.from_dict({"image": [src.load(i) for i in range(16)],
                                     "caption": [src.captions[i][0] + " with a frisbee nearby." for i in range(16)],
                                     "kind": ["paste"] * 4 + ["remove"] * 12},
                                    features=datasets.Features({"image": datasets.Image(),
                                                                "caption": datasets.Value("string"),
                                                                "kind": datasets.Value("string")}))
    ds.to_parquet(str(folder / "train" / "train-00000-of-00001.parquet"))
    return folder
