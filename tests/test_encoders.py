"""The Encoder contract, the --model loader, the built-in adapters and the output checks.

These tests double as examples: every way of naming a model, and the message a user gets
for every mistake."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from PIL import Image

from odbench.encoders import (
    Encoder,
    EncoderError,
    MockEncoder,
    check_output,
    load_encoder,
    parse_model_args,
    protocol,
    state_dict_sha256,
)
from odbench.errors import ODBenchError

TYPED_ENCODER = '''
from pathlib import Path
from typing import Literal, Optional

import torch


class Typed:
    """Records its constructor arguments; encodes to constant vectors."""

    def __init__(self, dim: int = 4, scale: float = 1.0, flag: bool = False,
                 limit: Optional[int] = None, root: Path = Path("."), table: dict = None,
                 sizes: list[int] = None, mode: Literal["a", "b"] = "a", label="x", *, tag: str = ""):
        self.seen = dict(dim=dim, scale=scale, flag=flag, limit=limit, root=root, table=table,
                         sizes=sizes, mode=mode, label=label, tag=tag)
        self.dim = dim

    def encode_images(self, batch):
        return torch.ones(len(batch), self.dim)

    def encode_texts(self, texts):
        return torch.ones(len(texts), self.dim)


class Exploding(Typed):
    def __init__(self):
        raise RuntimeError("checkpoint is corrupt")


class NoTexts:
    def encode_images(self, batch):
        return torch.ones(len(batch), 4)


class NeedsPath:
    def __init__(self, checkpoint: str):
        self.checkpoint = checkpoint

    def encode_images(self, batch):
        return torch.ones(len(batch), 4)

    def encode_texts(self, texts):
        return torch.ones(len(texts), 4)


def make_nothing():
    return 42


ready = Typed(dim=3)
'''


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture()
def typed_file(tmp_path: Path) -> Path:
    return _write(tmp_path, "typed_encoder.py", TYPED_ENCODER)


def _error(spec: str, args: dict | None = None) -> str:
    with pytest.raises(EncoderError) as info:
        load_encoder(spec, args)
    message = str(info.value)
    assert "\n" not in message, message  # one clear line for the CLI
    return message


# ---- spec forms --------------------------------------------------------------------------------

def test_module_class_form():
    loaded = load_encoder("odbench.encoders.mock:MockEncoder", {"dim": "8"})
    assert isinstance(loaded.encoder, MockEncoder) and isinstance(loaded.encoder, Encoder)
    assert loaded.encoder.dim == 8
    assert loaded.target == "odbench.encoders.mock:MockEncoder"


def test_file_form_and_argument_typing(typed_file: Path):
    args = {"dim": "7", "scale": "0.5", "flag": "true", "limit": "none", "root": "~/data",
            "table": '{"a": 1}', "sizes": "[1, 2]", "mode": "b", "label": "kept", "tag": "t"}
    loaded = load_encoder(f"{typed_file}:Typed", args)
    assert loaded.encoder.seen == dict(dim=7, scale=0.5, flag=True, limit=None,
                                       root=Path("~/data").expanduser(), table={"a": 1},
                                       sizes=[1, 2], mode="b", label="kept", tag="t")
    assert loaded.args == args  # recorded as given
    assert load_encoder(f"{typed_file}:Typed", {"limit": "3", "flag": "False"}).encoder.seen["limit"] == 3


def test_module_in_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _write(tmp_path, "cwd_encoder_mod.py", TYPED_ENCODER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert load_encoder("cwd_encoder_mod:Typed").encoder.dim == 4


def test_module_level_instance_and_factory(typed_file: Path):
    assert load_encoder(f"{typed_file}:ready").encoder.dim == 3
    assert "takes no --model-arg" in _error(f"{typed_file}:ready", {"dim": "2"})


def test_future_annotations_are_resolved(tmp_path: Path):
    path = _write(tmp_path, "future_enc.py", "from __future__ import annotations\n" + TYPED_ENCODER)
    assert load_encoder(f"{path}:Typed", {"dim": "5", "flag": "yes"}).encoder.seen["flag"] is True


def test_builtin_mock_names():
    assert load_encoder("mock:random").encoder.preprocess is not None
    assert load_encoder("mock").encoder.preprocess is not None
    assert load_encoder("mock:pil").encoder.preprocess is None
    assert load_encoder("mock:random", {"dim": "16"}).encoder.dim == 16


def test_identity_of_a_plain_nn_module(tmp_path: Path):
    path = _write(tmp_path, "mod_enc.py", '''
        import torch

        class Lin(torch.nn.Module):
            def __init__(self):
                super().__init__()
                torch.manual_seed(0)
                self.lin = torch.nn.Linear(3, 2)

            def encode_images(self, batch):
                return self.lin(batch)

            def encode_texts(self, texts):
                return self.lin(torch.ones(len(texts), 3))
        ''')
    loaded = load_encoder(f"{path}:Lin")
    assert loaded.num_parameters == 8
    assert loaded.weights_hash == state_dict_sha256(loaded.encoder)
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.weights_hash)
    assert loaded.untrained is False and loaded.name == f"{path}:Lin"
    assert loaded.identity()["weights_hash"] == loaded.weights_hash


def test_state_dict_hash_sees_values_dtypes_and_names():
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 2)
    b = torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert state_dict_sha256(a) == state_dict_sha256(b)
    with torch.no_grad():
        b.bias[0] += 1
    assert state_dict_sha256(a) != state_dict_sha256(b)
    assert state_dict_sha256(a) != state_dict_sha256(a.to(torch.bfloat16))


def test_parse_model_args():
    assert parse_model_args(["dim=8", "path=a=b", "empty="]) == {"dim": "8", "path": "a=b", "empty": ""}
    with pytest.raises(EncoderError, match="key=value"):
        parse_model_args(["dim"])
    with pytest.raises(EncoderError, match="twice"):
        parse_model_args(["dim=1", "dim=2"])


def test_protocol_docstring_example_runs(tmp_path: Path):
    # The README/docstring example must stay copyable: extract it, load it, use it.
    doc = protocol.__doc__
    code = doc[doc.index("    import zlib"):doc.index("    # Smoke test")]
    path = _write(tmp_path, "my_encoder.py", textwrap.dedent(code))
    loaded = load_encoder(f"{path}:MyEncoder", {"dim": "128"})
    encoder = loaded.encoder
    image = encoder.preprocess(Image.new("RGB", (40, 30), "red"))
    assert encoder.encode_images(image[None]).shape == (1, 128)
    assert encoder.encode_texts(["a dog on a surfboard", ""]).shape == (2, 128)
    assert loaded.name == "my-encoder" and loaded.weights_hash is not None


# ---- one clear message per mistake -------------------------------------------------------------

def test_errors_are_odbench_errors():
    assert issubclass(EncoderError, ODBenchError)


def test_no_such_module_suggests_siblings():
    message = _error("odbench.encoders.mok:MockEncoder")
    assert "no module named 'odbench.encoders.mok'" in message
    assert "odbench.encoders.mock" in message


def test_no_such_top_level_module_suggests_builtin():
    assert "'mock'" in _error("mokc:random")


def test_missing_dependency_is_not_reported_as_missing_module(tmp_path: Path, monkeypatch):
    _write(tmp_path, "needs_dep_mod.py", "import surely_not_installed_pkg\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = _error("needs_dep_mod:X")
    assert "importing module 'needs_dep_mod' failed" in message and "surely_not_installed_pkg" in message


def test_no_such_class_suggests_attribute():
    message = _error("odbench.encoders.mock:MockEncodr")
    assert "has no attribute 'MockEncodr'" in message and "'MockEncoder'" in message


def test_missing_class_part_lists_encoder_classes(typed_file: Path):
    assert "Typed" in _error(f"{typed_file}:")


def test_file_not_found(tmp_path: Path):
    assert "model file not found" in _error(f"{tmp_path}/nope.py:Model")


def test_file_that_fails_to_import(tmp_path: Path):
    path = _write(tmp_path, "broken_syntax.py", "def oops(:\n")
    assert "SyntaxError" in _error(f"{path}:X")


def test_constructor_raised(typed_file: Path):
    message = _error(f"{typed_file}:Exploding")
    assert "Exploding" in message and "RuntimeError: checkpoint is corrupt" in message


def test_unknown_constructor_argument_lists_accepted(typed_file: Path):
    message = _error(f"{typed_file}:Typed", {"dimm": "3"})
    assert "no constructor argument 'dimm'" in message
    assert "accepted: dim, scale, flag, limit" in message and "Did you mean 'dim'" in message


@pytest.mark.parametrize("key,value,expected", [
    ("dim", "seven", "expects an int"),
    ("flag", "maybe", "expects a bool"),
    ("table", "{nope", "expects JSON"),
    ("mode", "c", "expects one of 'a', 'b'"),
    ("limit", "x", "int or none"),
])
def test_badly_typed_argument(typed_file: Path, key, value, expected):
    message = _error(f"{typed_file}:Typed", {key: value})
    assert f"--model-arg {key}=" in message and expected in message


def test_missing_required_argument(typed_file: Path):
    assert "--model-arg checkpoint=VALUE" in _error(f"{typed_file}:NeedsPath")


def test_unknown_builtin_name():
    message = _error("mokc")
    assert "not a known built-in name" in message and "mock" in message
    assert "mock:random" in _error("mock:randm")  # unknown variant, with a suggestion


def test_not_an_encoder(typed_file: Path):
    message = _error(f"{typed_file}:NoTexts")
    assert "not an Encoder" in message and "encode_texts()" in message
    message = _error(f"{typed_file}:make_nothing")
    assert "returned a int" in message and "not an Encoder" in message


def test_empty_and_malformed_specs():
    assert "expected 'package.module:Class'" in _error("")
    assert "expected 'package.module:Class'" in _error("odbench.encoders.mock:")
    assert "expected 'package.module:Class'" in _error(":Class")
    assert "names a file but no class: use my_encoder.py:ClassName" in _error("my_encoder.py")


# ---- mock encoder ------------------------------------------------------------------------------

def _images() -> list[Image.Image]:
    return [Image.new("RGB", (30, 20), color) for color in ("red", "blue", (10, 200, 30))]


def test_mock_is_deterministic_and_shaped():
    a, b = MockEncoder(dim=32), MockEncoder(dim=32)
    batch = torch.stack([a.preprocess(im) for im in _images()])
    texts = ["A dog and a frisbee.", "two cats", ""]
    assert torch.equal(a.encode_images(batch), b.encode_images(batch))
    assert torch.equal(a.encode_texts(texts), b.encode_texts(texts))
    assert a.encode_images(batch).shape == (3, 32) and a.encode_texts(texts).shape == (3, 32)
    assert not torch.equal(a.encode_texts(texts), MockEncoder(dim=32, seed=1).encode_texts(texts))
    # Bag of words: case and punctuation do not matter, word order neither.
    assert torch.equal(a.encode_texts(["a dog and a frisbee"]), a.encode_texts(["Frisbee, a dog a and"]))


def test_mock_pil_path_matches_tensor_path():
    with_pre, pil = MockEncoder(), MockEncoder(with_preprocess=False)
    batch = torch.stack([with_pre.preprocess(im) for im in _images()])
    assert torch.allclose(with_pre.encode_images(batch), pil.encode_images(_images()))


def test_mock_is_identical_across_processes():
    code = ("import hashlib; from odbench.encoders import MockEncoder; "
            "print(hashlib.sha256(MockEncoder().encode_texts(['a red bus']).numpy().tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = __import__("hashlib").sha256(MockEncoder().encode_texts(["a red bus"]).numpy().tobytes()).hexdigest()
    assert out.stdout.strip() == here


# ---- output checks -----------------------------------------------------------------------------

def _check_error(value, **kw) -> str:
    kw = {"expected_count": 2, "model_name": "m", "what": "image", **kw}
    with pytest.raises(EncoderError) as info:
        check_output(value, **kw)
    assert "model m: encode_" in str(info.value)
    return str(info.value)


def test_checks_accept_and_cast():
    out = check_output(torch.ones(2, 3, dtype=torch.float16, requires_grad=False),
                       expected_count=2, model_name="m", what="text", expected_dim=3)
    assert out.dtype == torch.float32 and out.shape == (2, 3)


def test_checks_catch_every_problem():
    assert "returned list" in _check_error([[1.0]])
    assert "shape (2,)" in _check_error(torch.ones(2))
    assert "3 embeddings for 2 inputs" in _check_error(torch.ones(3, 4))
    assert "dtype torch.int64" in _check_error(torch.ones(2, 4, dtype=torch.int64))
    bad = torch.ones(2, 4)
    bad[0, 1] = float("nan")
    bad[0, 2] = float("inf")
    assert "2 non-finite value(s)" in _check_error(bad) and "in 1 of 2" in _check_error(bad)
    message = _check_error(torch.ones(2, 4), what="text", expected_dim=8)
    assert "encode_texts" in message and "dimension 4" in message and "image embeddings have dimension 8" in message


# ---- open_clip ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    return load_encoder("open_clip:odbench-tiny")


def test_open_clip_random_init_encodes_offline(tiny):
    encoder = tiny.encoder
    assert tiny.untrained and "untrained" in tiny.name
    assert tiny.num_parameters > 0 and re.fullmatch(r"[0-9a-f]{64}", tiny.weights_hash)
    batch = torch.stack([encoder.preprocess(im) for im in _images()])
    assert batch.shape == (3, 3, 32, 32)
    images = check_output(encoder.encode_images(batch), expected_count=3, model_name=tiny.name, what="image")
    texts = check_output(encoder.encode_texts(["a dog", "a cat"]), expected_count=2,
                         model_name=tiny.name, what="text", expected_dim=images.shape[1])
    assert texts.shape == (2, 32)
    # Seeded init: the same untrained baseline every time.
    assert load_encoder("open_clip:odbench-tiny").weights_hash == tiny.weights_hash


def test_open_clip_checkpoint_file_and_local_dir(tiny, tmp_path: Path):
    import json

    from odbench.encoders.open_clip_configs import TINY_CONFIG

    torch.save(tiny.encoder.model.state_dict(), tmp_path / "tiny.pt")
    from_file = load_encoder(f"open_clip:odbench-tiny/{tmp_path}/tiny.pt", {"seed": "7"})
    assert not from_file.untrained and from_file.weights_hash == tiny.weights_hash
    texts = ["a dog on a bench"]
    assert torch.equal(from_file.encoder.encode_texts(texts), tiny.encoder.encode_texts(texts))

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIG}))
    torch.save(tiny.encoder.model.state_dict(), folder / "open_clip_pytorch_model.bin")
    for spec, args in [(f"open_clip:local-dir:{folder}", None),
                       ("open_clip:odbench-tiny", {"pretrained": f"local-dir:{folder}"})]:
        loaded = load_encoder(spec, args)
        assert not loaded.untrained and loaded.weights_hash == tiny.weights_hash


def test_open_clip_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    assert "Did you mean 'ViT-B-32'" in _error("open_clip:ViT-B-23")
    message = _error("open_clip:ViT-B-32/laion2b_s34b_b7")
    assert "neither a known tag nor an existing file" in message and "laion2b_s34b_b79k" in message
    assert "no checkpoint" in _error("open_clip:odbench-tiny", {"pretrained": f"local-dir:{tmp_path}"})
    assert "given both by the name" in _error("open_clip:odbench-tiny", {"arch": "RN50"})

    import open_clip.factory

    def offline(*args, **kwargs):
        raise RuntimeError("Failed to download: no network")

    monkeypatch.setattr(open_clip.factory, "download_pretrained", offline)
    message = _error("open_clip:RN50/openai")
    assert "could not be downloaded (offline?)" in message


def test_register_model_config():
    from odbench.encoders import register_model_config
    from odbench.encoders.open_clip_configs import TINY_CONFIG

    config = {**TINY_CONFIG, "embed_dim": 16}
    register_model_config("odbench-test-16", config)
    loaded = load_encoder("open_clip:odbench-test-16")
    assert loaded.encoder.encode_texts(["x"]).shape == (1, 16)
    register_model_config("odbench-test-16", {**config, "embed_dim": 8})     # a name's config can be replaced
    assert load_encoder("open_clip:odbench-test-16").encoder.encode_texts(["x"]).shape == (1, 8)
    with pytest.raises(ValueError, match="embed_dim, vision_cfg and text_cfg"):
        register_model_config("bad", {"embed_dim": 8})
