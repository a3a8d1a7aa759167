"""Encode once: odbench-eval keeps embeddings and verified datasets between runs (odbench.cache)."""
from __future__ import annotations

import json
import shutil
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from odbench import data, evaluate
from odbench.cache import EmbeddingCache, VerifiedDatasets
from odbench.cli.eval import main as odbench_eval

MODEL = ["--model", "open_clip:odbench-tiny", "--seed", "3"]


def run_eval(dataset, output, *extra):
    return odbench_eval([*MODEL, "--dataset", str(dataset), "--output", str(output), *extra])


def rankings_hash(path) -> str:
    return json.loads(path.read_text())["rankings_sha256"]


def test_a_second_run_reads_the_embeddings_and_says_so(dataset, tmp_path, capsys, monkeypatch):
    assert run_eval(dataset, tmp_path / "a.json") == 0
    assert "embeddings computed and cached" in capsys.readouterr().out

    def never(*args, **kwargs):
        raise AssertionError("the model ran although its embeddings were cached")

    monkeypatch.setattr("odbench.evaluate.embed_images", never)
    assert run_eval(dataset, tmp_path / "b.json") == 0
    assert "embeddings read from the cache" in capsys.readouterr().out
    assert rankings_hash(tmp_path / "a.json") == rankings_hash(tmp_path / "b.json")


def test_no_cache_computes_again(dataset, tmp_path, capsys, own_cache_dir):
    assert run_eval(dataset, tmp_path / "a.json") == 0
    assert run_eval(dataset, tmp_path / "b.json", "--no-cache") == 0
    out = capsys.readouterr().out
    assert "embeddings read" not in out and out.count("embeddings computed") == 1


def test_another_model_or_setting_is_another_entry(dataset, tmp_path, capsys, own_cache_dir):
    assert run_eval(dataset, tmp_path / "a.json") == 0
    # another seed draws other weights (another weights hash); another precision may change bits
    assert odbench_eval(["--model", "open_clip:odbench-tiny", "--seed", "4", "--dataset", str(dataset),
                         "--output", str(tmp_path / "b.json")]) == 0
    assert run_eval(dataset, tmp_path / "c.json", "--precision", "amp") == 0
    assert "embeddings read" not in capsys.readouterr().out
    assert len(list((own_cache_dir / "embeddings").glob("*.pt"))) == 3


def test_a_damaged_entry_is_recomputed_and_replaced(dataset, tmp_path, capsys, own_cache_dir):
    assert run_eval(dataset, tmp_path / "a.json") == 0
    (entry,) = (own_cache_dir / "embeddings").glob("*.pt")
    entry.write_bytes(entry.read_bytes()[:100])     # as a disk fault would leave it
    assert run_eval(dataset, tmp_path / "b.json") == 0
    assert "replacing an unreadable cache entry" in capsys.readouterr().out
    assert rankings_hash(tmp_path / "a.json") == rankings_hash(tmp_path / "b.json")
    assert run_eval(dataset, tmp_path / "c.json") == 0
    assert "embeddings read from the cache" in capsys.readouterr().out


def test_a_killed_writer_leaves_nothing_that_is_read(tmp_path):
    cache = EmbeddingCache(tmp_path)
    key = {"model": "m"}
    entry = cache.path(key)
    entry.parent.mkdir(parents=True)
    (entry.parent / f".{entry.name}.abc123.tmp").write_bytes(b"half a fi")   # a run killed mid-write
    assert cache.load(key) is None
    cache.store(key, torch.ones(2, 3), torch.zeros(4, 3))
    images, texts = cache.load(key)
    assert images.shape == (2, 3) and texts.shape == (4, 3)


def test_concurrent_writers_never_show_half_an_entry(tmp_path):
    key = {"model": "m"}
    images, texts = torch.randn(300, 64), torch.randn(500, 64)
    seen, stop = [], threading.Event()

    def write():
        for _ in range(15):
            EmbeddingCache(tmp_path).store(key, images, texts)

    def read():
        while not stop.is_set():
            found = EmbeddingCache(tmp_path).load(key)
            seen.append(found is None or (torch.equal(found[0], images) and torch.equal(found[1], texts)))

    writers = [threading.Thread(target=write) for _ in range(2)]
    reader = threading.Thread(target=read)
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert all(seen) and EmbeddingCache(tmp_path).load(key) is not None
    assert not list((tmp_path / "embeddings").glob(".*.tmp"))


def test_a_verified_folder_is_not_hashed_again_until_a_file_changes(dataset, tmp_path, monkeypatch):
    calls = []
    real = data.verify_content_hashes
    monkeypatch.setattr(data, "verify_content_hashes", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    memo = VerifiedDatasets(tmp_path)
    data.load_benchmark(dataset, verified=memo)
    data.load_benchmark(dataset, verified=memo)
    assert len(calls) == 1
    data.load_benchmark(dataset)            # without the memo: always verified
    assert len(calls) == 2

    import shutil
    copy = tmp_path / "copy" / dataset.name
    shutil.copytree(dataset, copy)
    data.load_benchmark(copy, verified=memo)   # same bytes under another path: known
    assert len(calls) == 2
    readme = next(p for p in copy.rglob("*.md"))
    readme.write_text(readme.read_text() + "\nedited\n")
    data.load_benchmark(copy, verified=memo)
    assert len(calls) == 3


def modified_images(dataset, tmp_path):
    """A copy whose images config differs from its manifest in one value (a mask area)."""
    copy = tmp_path / "modified" / dataset.name
    shutil.copytree(dataset, copy)
    shard = next((copy / "images").glob("*.parquet"))
    table = pq.read_table(shard)
    areas = table.column("mask_area").to_pylist()
    areas[0] = (areas[0] or 0.0) + 0.5
    pq.write_table(table.set_column(table.schema.get_field_index("mask_area"), "mask_area",
                                    pa.array(areas, pa.float64())), shard)
    return copy


def test_a_first_run_decodes_each_image_once_and_checks_its_hash_then(dataset, tmp_path, monkeypatch):
    hashed, decoded = [], []
    verify, getitem = data.verify_content_hashes, evaluate._ImageRows.__getitem__
    monkeypatch.setattr(data, "verify_content_hashes", lambda tables, m, **kw: hashed.extend(tables) or verify(tables, m, **kw))
    monkeypatch.setattr(evaluate._ImageRows, "__getitem__", lambda self, i: decoded.append(i) or getitem(self, i))
    assert run_eval(dataset, tmp_path / "a.json") == 0
    assert "images" not in hashed and "captions" in hashed        # the images: while encoding
    assert sorted(decoded) == list(range(len(data.load_benchmark(dataset, verify=False).images)))


def test_modified_images_fail_the_check_made_while_encoding(dataset, tmp_path, capsys):
    copy = modified_images(dataset, tmp_path)
    assert run_eval(copy, tmp_path / "a.json") == 2
    assert "'images' does not match the manifest's content hash" in capsys.readouterr().err
    assert not (tmp_path / "a.json").exists()


def test_modified_images_fail_even_when_their_embeddings_are_cached(dataset, tmp_path, capsys):
    # the copy has the original's manifest, hence its dataset hash and its cache entry
    assert run_eval(dataset, tmp_path / "a.json") == 0
    assert run_eval(modified_images(dataset, tmp_path), tmp_path / "b.json") == 2
    assert "'images' does not match the manifest's content hash" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


HELPED = '''
import torch
from helper import features

class Helped(torch.nn.Module):
    """Its features come from a helper file beside it."""
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.eye(3), requires_grad=False)
    def encode_images(self, images):
        return torch.tensor([features(str(im.resize((2, 2)).tobytes()[:3])) for im in images]) @ self.weight
    def encode_texts(self, texts):
        return torch.tensor([features(t) for t in texts]) @ self.weight
'''


def test_an_edited_helper_file_is_a_new_cache_key(dataset, tmp_path):
    from console import run_console

    (tmp_path / "helped.py").write_text(HELPED)
    helper = tmp_path / "helper.py"
    helper.write_text("def features(t):\n    return [t.count('a') + 1.0, t.count('o') + 1.0, len(t) + 0.0]\n")

    def once(name: str):
        proc = run_console("odbench-eval", "--model", f"{tmp_path / 'helped.py'}:Helped", "--dataset", dataset,
                           "--output", tmp_path / name, env={"ODBENCH_CACHE_DIR": str(tmp_path / "cache")})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "embeddings computed and cached" in once("a.json")
    assert "embeddings read from the cache" in once("b.json")
    helper.write_text("def features(t):\n    return [len(t) + 0.0, t.count('e') + 1.0, 1.0]\n")
    assert "embeddings computed and cached" in once("c.json")
    assert rankings_hash(tmp_path / "a.json") != rankings_hash(tmp_path / "c.json")


def test_a_cache_that_cannot_be_written_is_a_warning_and_the_run_goes_on(dataset, tmp_path, capsys, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("ODBENCH_CACHE_DIR", str(tmp_path / "a-file" / "cache"))
    assert run_eval(dataset, tmp_path / "a.json") == 0
    captured = capsys.readouterr()
    assert "embeddings computed (not cached: the cache folder cannot be written)" in captured.out
    assert [line for line in captured.err.splitlines() if line.startswith("warning:")] == [
        f"warning: the embedding cache {tmp_path / 'a-file' / 'cache'} cannot be written (Not a directory): "
        f"this run goes on uncached; set $ODBENCH_CACHE_DIR to a writable folder to cache"]
    assert json.loads((tmp_path / "a.json").read_text())["rankings_sha256"]
