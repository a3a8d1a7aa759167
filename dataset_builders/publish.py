"""Publish a built dataset folder to the Hugging Face hub and tag it `vX.Y.Z`.

A dataset version is immutable (SPEC section 6): the tag is created once, at the commit this
upload made, and an existing tag is never moved or recreated. The version comes from the
folder's manifest, so the tag always names what was built.

    python -m dataset_builders.publish odbench/embedded/odbench-picto --org my-org   # -> my-org/odbench
    python -m dataset_builders.publish out/odbench-coco --repo my-org/odbench-coco

With `--org ORG` the repository is named for the dataset: the embedded benchmark goes to
`ORG/odbench`, so `load_dataset("ORG/odbench", ...)` is the hub form of the repository-root
`load_dataset("odbench", ...)` (same configs, same rows); any other dataset to `ORG/<name>`.

Everything talks to the hub through an `api` object with HfApi's methods, so tests pass a fake
that records calls.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataset_builders.hf_folder import verify_dataset_folder
from odbench import data
from odbench.errors import DatasetError

REPO_TYPE = "dataset"
# The hub repository name of the embedded benchmark: the same name as the package folder that
# loads it from the repository root (odbench/README.md).
HUB_NAME = "odbench"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


class PublishError(Exception):
    """A problem the user can fix (bad folder, tag exists, ...)."""


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    tag: str
    commit: str
    dataset_hash: str


def hub_repo_id(org: str, dataset_name: str) -> str:
    """The repository `--org ORG` publishes a dataset to: ORG/odbench for the embedded
    benchmark, ORG/<dataset name> for any other."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", org or ""):
        raise PublishError(f"--org {org!r} is not a hub user or organisation name")
    return f"{org}/{HUB_NAME if dataset_name == data.DEFAULT_DATASET else dataset_name}"


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a built folder, read as the loader reads it (no hashing)."""
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise PublishError(f"{folder} is not a dataset folder (no README.md)")
    try:
        return data.read_manifest(folder)
    except DatasetError as exc:
        raise PublishError(f"{folder}: {exc}") from None


def publish_folder(folder: str | os.PathLike, repo_id: str, *, api: Any = None,
                   token: str | None = None, private: bool | None = None,
                   verify: bool = True) -> PublishResult:
    """Upload `folder` to dataset repo `repo_id` and tag the commit `v<manifest version>`.

    Refuses (PublishError) before uploading anything if the tag already exists. With `verify`,
    every config is loaded and checked against the manifest hashes first.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    version = manifest.get("version", "")
    if not _SEMVER.match(version):
        raise PublishError(f"manifest version {version!r} is not semver X.Y.Z")
    if verify:
        try:
            verify_dataset_folder(folder)
        except ValueError as e:
            raise PublishError(f"folder does not verify: {e}") from e
    tag = f"v{version}"
    if api is None:
        from huggingface_hub import HfApi
        api = HfApi(token=token)

    # Check first: a refused publish must not have uploaded anything.
    if api.repo_exists(repo_id, repo_type=REPO_TYPE):
        refs = api.list_repo_refs(repo_id, repo_type=REPO_TYPE)
        existing = {t.name: t for t in refs.tags}
        if tag in existing:
            raise PublishError(
                f"{repo_id} already has tag {tag} (commit {existing[tag].target_commit}); a dataset "
                f"version is immutable, so bump the version and rebuild instead of re-publishing")
    else:
        api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)

    name, dhash = manifest.get("name", folder.name), manifest.get("dataset_hash", "")
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type=REPO_TYPE,
                               commit_message=f"{name} {tag} (dataset hash {dhash[:12]})")
    # Tag the commit we just made, not whatever `main` points at by now; exist_ok=False lets
    # the hub refuse too if another publisher raced us.
    api.create_tag(repo_id, tag=tag, revision=commit.oid, repo_type=REPO_TYPE,
                   tag_message=f"{name} {version}, dataset hash {dhash}", exist_ok=False)
    return PublishResult(repo_id, tag, commit.oid, dhash)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataset_builders.publish",
                                     description="Upload a built ODBench dataset folder and tag it.")
    parser.add_argument("folder", type=Path)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo", help="hub dataset repo, ORG/NAME")
    where.add_argument("--org", help=f"hub user or organisation: the repo is ORG/{HUB_NAME} for the embedded "
                                     f"benchmark, ORG/<dataset name> for any other")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--no-verify", action="store_true", help="skip reloading and hashing")
    parser.add_argument("--dry-run", action="store_true", help="check the folder, upload nothing")
    args = parser.parse_args(argv)
    try:
        repo = args.repo or hub_repo_id(args.org, read_manifest(args.folder).get("name", ""))
        if args.dry_run:
            manifest = read_manifest(args.folder)
            if not args.no_verify:
                verify_dataset_folder(args.folder)
            print(json.dumps({"repo": repo, "tag": f"v{manifest.get('version')}",
                              "dataset_hash": manifest.get("dataset_hash")}))
            return 0
        res = publish_folder(args.folder, repo, private=args.private or None,
                             verify=not args.no_verify)
    except (PublishError, ValueError, OSError) as e:
        print(f"publish: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # hub errors (auth, network) end in one line, not a traceback
        print(f"publish: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"published {res.repo_id}@{res.tag} (commit {res.commit}, dataset hash {res.dataset_hash})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
