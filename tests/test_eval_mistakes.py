"""`odbench-eval` as a careless user runs it: each mistake is one line on stderr, exit 2, no
traceback, no result file, and (for everything checkable up front) no work done first.

The encoder below leaves a marker file when it is built, so a test can tell that the mistake
was caught before the model was even constructed.
"""
from __future__ import annotations

import os
import socket
import textwrap
import time

import pytest

from console import assert_one_line_error, run_console

ENCODER = '''
from pathlib import Path
import torch

class Marked:
    """Writes built.marker when constructed, then encodes colours and letter counts."""
    def __init__(self, marker: str):
        Path(marker).write_text("built")
    def encode_images(self, images):
        return torch.stack([torch.tensor(list(im.resize((2, 2)).tobytes()), dtype=torch.float32)[:3]
                            for im in images])
    def encode_texts(self, texts):
        return torch.tensor([[t.count("a") + 1.0, t.count("o") + 1.0, len(t)] for t in texts])

class Sized(Marked):
    def __init__(self, marker: str = "unused", dim: int = 3):
        self.layer = torch.nn.Linear(3, dim)

class Flat(Marked):
    """A projection to dimension `dim`: 0 makes a zero-size layer, and empty embeddings."""
    def __init__(self, marker: str = "unused", dim: int = 3):
        self.layer = torch.nn.Linear(3, dim)
    def encode_images(self, images):
        return self.layer(super().encode_images(images))
    def encode_texts(self, texts):
        return self.layer(super().encode_texts(texts))

class Quits(Marked):
    def encode_images(self, images):
        raise SystemExit(0)
'''


@pytest.fixture()
def model(tmp_path):
    path = tmp_path / "marked.py"
    path.write_text(textwrap.dedent(ENCODER))
    marker = tmp_path / "built.marker"
    return path, marker


def eval_cli(model, dataset, output, *extra, cls="Marked", **kwargs):
    path, marker = model
    return run_console("odbench-eval", "--model", f"{path}:{cls}", "--model-arg", f"marker={marker}",
                       "--dataset", dataset, "--output", output, *extra, **kwargs)


@pytest.mark.parametrize("options, message", [
    (["--device", "CPU"], "error: --device 'CPU' is not a device ODBench runs on: use cpu, cuda, cuda:N or mps "
                          "(did you mean 'cpu'?)"),
    (["--device", "tpu"], "error: --device 'tpu' is not a device ODBench runs on"),
    (["--device", "meta"], "error: --device 'meta' is not a device ODBench runs on"),
    (["--num-workers", "-1"], "error: --num-workers must be 0 (load images in the main process) to 256"),
    (["--k", "100000"], "error: --k must be between 10 (ODmAP@10 is the headline metric) and 100"),
    (["--draws", "50"], "error: --draws must be an integer of at least 100 (SPEC 9 uses 1000), got 50"),
    (["--draw-seed", "-1"], "error: --draw-seed must be an integer from 0 to 2**63 - 1, got -1"),
    (["--seed", "99999999999999999999999"], "error: --seed must be between 0 and 9223372036854775807 (2**63 - 1)"),
    (["--batch-size", "99999999999999999999"], "error: --batch-size must be between 1 and 65536"),
    (["--num-workers", "100000"], "error: --num-workers must be 0 (load images in the main process) to 256"),
])
def test_option_typos(model, dataset, tmp_path, options, message):
    out = tmp_path / "r.json"
    assert_one_line_error(eval_cli(model, dataset, out, *options), message)
    assert not out.exists() and not model[1].exists()


def test_output_under_a_file_is_refused_before_the_model_is_built(model, dataset, tmp_path):
    (tmp_path / "afile.txt").write_text("a file")
    out = tmp_path / "afile.txt" / "o.json"
    assert_one_line_error(eval_cli(model, dataset, out), f"error: --output {out}: {tmp_path / 'afile.txt'} "
                                                          f"is a file, not a folder")
    assert not model[1].exists()


def test_output_that_is_a_folder_is_refused_even_with_overwrite(model, dataset, tmp_path):
    folder = tmp_path / "somedir"
    folder.mkdir()
    assert_one_line_error(eval_cli(model, dataset, folder, "--overwrite"),
                          f"error: --output {folder} is a folder; name a file in it, e.g. {folder / 'result.json'}")
    assert list(folder.iterdir()) == [] and not model[1].exists()


def test_empty_output(model, dataset, tmp_path):
    assert_one_line_error(eval_cli(model, dataset, "", cwd=tmp_path),
                          "error: --output is empty: name a file, e.g. --output results/my-model.json")
    assert not model[1].exists()


@pytest.mark.parametrize("which", ["folder", "embedded"])
def test_a_revision_a_folder_does_not_hold_is_refused(model, dataset, tmp_path, which):
    out = tmp_path / "r.json"
    source, version = (str(dataset), "0.0.1") if which == "folder" else ("odbench-picto", "2.1.0")
    err = assert_one_line_error(eval_cli(model, source, out, "--revision", "v9.9.9"),
                                f"error: revision 'v9.9.9' asked for, but {source} is a local folder "
                                f"holding version {version} only")
    assert f"--revision v{version}" in err and not out.exists()


def test_the_folder_s_own_version_is_accepted_as_revision(model, dataset, tmp_path):
    out = tmp_path / "r.json"
    proc = eval_cli(model, dataset, out, "--revision", "v0.0.1")
    assert proc.returncode == 0, proc.stderr


def test_a_model_that_exits_is_an_error_not_a_success(model, dataset, tmp_path):
    out = tmp_path / "r.json"
    assert_one_line_error(eval_cli(model, dataset, out, cls="Quits"),
                          "called exit(0) while it was built or run; no result was written")
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_result_file_honours_the_umask(model, dataset, tmp_path):
    out = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        proc = eval_cli(model, dataset, out)
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_mode & 0o777 == 0o644


def _closed_local_port() -> int:
    with socket.socket() as s:          # bound, then closed: a connection to it is refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("env, message", [
    ({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"),
    ({"HF_HUB_OFFLINE": "", "HF_ENDPOINT": f"http://127.0.0.1:{_closed_local_port()}"}, "did not answer"),
])
def test_weights_that_are_not_cached_fail_fast_when_offline(dataset, tmp_path, env, message):
    started = time.monotonic()
    proc = run_console("odbench-eval", "--model", "open_clip:ViT-B-32/laion2b_s34b_b79k", "--dataset", dataset,
                       "--output", tmp_path / "r.json", env={"HF_HOME": str(tmp_path / "hf"), **env})
    took = time.monotonic() - started
    assert_one_line_error(proc, "the pretrained weights are not in the local cache and could not be "
                                "downloaded (offline?)", message)
    assert "Retrying" not in proc.stderr
    # huggingface_hub's own retries took about 50 s here; one refused connection takes none
    assert took < 30, took


def test_an_output_folder_that_refuses_files_is_caught_before_the_model_is_built(model, dataset):
    # root may write anywhere by the permission bits, but nothing can create a file in /proc
    assert_one_line_error(eval_cli(model, dataset, "/proc/r.json"),
                          "error: --output /proc/r.json: cannot write into /proc (No such file or directory)")
    assert not model[1].exists()


def test_a_huge_integer_model_arg_is_one_short_line(model, dataset, tmp_path):
    path, _ = model
    proc = run_console("odbench-eval", "--model", f"{path}:Sized", "--model-arg", "dim=99999999999999999999",
                       "--dataset", dataset, "--output", tmp_path / "r.json")
    err = assert_one_line_error(proc, "error: --model-arg dim='99999999999999999999': Sized expects an int "
                                      "between -2**63 and 2**63 - 1")
    assert len(err) < 200


def test_a_write_that_fails_at_the_end_says_the_embeddings_are_cached(dataset, tmp_path, capsys, monkeypatch):
    import errno

    from odbench import cache, files  # noqa: F401  (cache: bound to the real writer before the patch)
    from odbench.cli.eval import main as odbench_eval

    def full_disk(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "replace_atomically", full_disk)      # the result's write only
    out = tmp_path / "r.json"
    argv = ["--model", "open_clip:odbench-tiny", "--dataset", str(dataset), "--output", str(out)]
    assert odbench_eval(argv) == 2
    err = capsys.readouterr().err
    (entry,) = (tmp_path / "odbench-cache" / "embeddings").glob("*.pt")
    assert err == (f"error: cannot write {out} (No space left on device); the embeddings are cached ({entry}): "
                   f"rerun the same command with --output naming a folder with space and they are read back, "
                   f"not recomputed\n")
    monkeypatch.undo()
    monkeypatch.setenv("ODBENCH_CACHE_DIR", str(tmp_path / "odbench-cache"))
    assert odbench_eval([*argv[:-1], str(tmp_path / "elsewhere.json")]) == 0
    assert "embeddings read from the cache" in capsys.readouterr().out


def test_a_zero_size_layer_is_our_one_line_without_torch_s_warning(model, dataset, tmp_path):
    path, _ = model
    proc = run_console("odbench-eval", "--model", f"{path}:Flat", "--model-arg", "dim=0",
                       "--dataset", dataset, "--output", tmp_path / "r.json")
    assert_one_line_error(proc, "encode_images returned embeddings of dimension 0")
