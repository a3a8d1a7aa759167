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
