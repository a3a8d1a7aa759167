"""Publishing to the hub, tested up to the network boundary with a fake HfApi."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from datasets import Features, Value

from dataset_builders.hf_folder import DatasetCard, write_dataset_folder
from dataset_builders.publish import PublishError, hub_repo_id, main, publish_folder, read_manifest


@dataclass
class FakeHfApi:
    """Records calls; `tags` maps tag name -> commit of the one repo it knows."""
    exists: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def repo_exists(self, repo_id, *, repo_type=None):
        self.calls.append(("repo_exists", {"repo_id": repo_id, "repo_type": repo_type}))
        return self.exists

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kw}))
        self.exists = True

    def list_repo_refs(self, repo_id, *, repo_type=None):
        self.calls.append(("list_repo_refs", {"repo_id": repo_id, "repo_type": repo_type}))
        return SimpleNamespace(tags=[SimpleNamespace(name=t, ref=f"refs/tags/{t}", target_commit=c)
                                     for t, c in self.tags.items()], branches=[])

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw))
        return SimpleNamespace(oid="c0ffee")

    def create_tag(self, repo_id, **kw):
        self.calls.append(("create_tag", {"repo_id": repo_id, **kw}))
        if kw["tag"] in self.tags:
            raise RuntimeError("tag exists")
        self.tags[kw["tag"]] = kw["revision"]

    def names(self):
        return [name for name, _ in self.calls]


def build(out: Path, version: str = "1.0.0") -> Path:
    card = DatasetCard("odbench-tiny", version, "cc-by-4.0", "@misc{x}", "Tiny.")
    write_dataset_folder(out, {"captions": ([{"caption_id": "c1", "text": "A dog."}],
                                            Features({"caption_id": Value("string"), "text": Value("string")}))},
                         card, {"seed": 0})
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("pub") / "ds")


def test_publish_new_repo_uploads_then_tags_that_commit(folder):
    api = FakeHfApi()
    res = publish_folder(folder, "org/odbench-tiny", api=api)
    assert api.names() == ["repo_exists", "create_repo", "upload_folder", "create_tag"]
    create, upload, tag = (kw for _, kw in api.calls[1:])
    assert create == {"repo_id": "org/odbench-tiny", "repo_type": "dataset", "private": None, "exist_ok": True}
    assert upload["folder_path"] == str(folder) and upload["repo_type"] == "dataset"
    assert tag["tag"] == "v1.0.0" and tag["revision"] == "c0ffee" and tag["repo_type"] == "dataset"
    assert tag["exist_ok"] is False
    assert (res.tag, res.commit, res.dataset_hash) == ("v1.0.0", "c0ffee", read_manifest(folder)["dataset_hash"])


def test_new_version_on_existing_repo(folder):
    api = FakeHfApi(exists=True, tags={"v0.9.0": "abc"})
    publish_folder(folder, "org/odbench-tiny", api=api)
    assert api.names() == ["repo_exists", "list_repo_refs", "upload_folder", "create_tag"]
    assert api.tags == {"v0.9.0": "abc", "v1.0.0": "c0ffee"}


def test_refuses_to_move_an_existing_tag(folder):
    api = FakeHfApi(exists=True, tags={"v1.0.0": "abc123"})
    with pytest.raises(PublishError, match="already has tag v1.0.0 \\(commit abc123\\).*immutable"):
        publish_folder(folder, "org/odbench-tiny", api=api)
    assert "upload_folder" not in api.names() and "create_tag" not in api.names()
    assert api.tags == {"v1.0.0": "abc123"}


def test_refuses_bad_folders(tmp_path, folder, monkeypatch):
    with pytest.raises(PublishError, match="not a dataset folder"):
        publish_folder(tmp_path, "org/x", api=FakeHfApi())
    with pytest.raises(ValueError, match="not semver"):     # today's builder refuses it up front
        build(tmp_path / "refused", version="1.0")
    monkeypatch.setattr("dataset_builders.hf_folder.SEMVER", re.compile(".*"))   # as an older builder wrote it
    bad = build(tmp_path / "bad", version="1.0")
    monkeypatch.undo()
    with pytest.raises(PublishError, match="not semver"):
        publish_folder(bad, "org/x", api=FakeHfApi())
    tampered = build(tmp_path / "tampered")
    (tampered / "captions/test-00000-of-00001.parquet").write_bytes(
        (folder / "manifest/test-00000-of-00001.parquet").read_bytes())
    with pytest.raises(PublishError, match="does not verify"):
        publish_folder(tampered, "org/x", api=FakeHfApi())


def test_cli(folder, tmp_path, monkeypatch, capsys):
    assert main([str(folder), "--repo", "org/x", "--dry-run"]) == 0
    assert '"tag": "v1.0.0"' in capsys.readouterr().out

    api = FakeHfApi(exists=True, tags={"v1.0.0": "abc"})
    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda token=None: api)
    assert main([str(folder), "--repo", "org/x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("publish: error:") and "already has tag v1.0.0" in err and "Traceback" not in err

    api.tags.clear()
    assert main([str(folder), "--repo", "org/x", "--no-verify"]) == 0
    assert "published org/x@v1.0.0 (commit c0ffee" in capsys.readouterr().out
    assert main([str(tmp_path / "missing"), "--repo", "org/x"]) == 1


def test_org_names_the_repository(folder, capsys):
    # the embedded benchmark is ORG/odbench, the hub form of load_dataset("odbench", ...) at the repo root
    assert hub_repo_id("my-org", "odbench-picto") == "my-org/odbench"
    assert hub_repo_id("my-org", "odbench-coco") == "my-org/odbench-coco"
    with pytest.raises(PublishError, match="not a hub user or organisation"):
        hub_repo_id("a/b", "odbench-picto")
    assert main([str(folder), "--org", "my-org", "--dry-run", "--no-verify"]) == 0
    assert '"repo": "my-org/odbench-tiny"' in capsys.readouterr().out
