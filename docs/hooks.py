"""MkDocs hooks (mkdocs.yml): serve a few repository files in the site at their repository
paths, so that pages show and link them as the repository does, with no copy under docs/ to
drift. A listed file that is missing fails the build."""
from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
# Pages: the generated leaderboard and the submission guide GitHub shows. Static files: what
# they and the pages link to (result files, schema, figures).
SERVED = ["leaderboard.md", "CONTRIBUTING.md", "odbench/result.schema.json", "odbench/reproduce.py",
          "odbench/reference/study/odmap_vs_rsum.png", "odbench/embedded/odbench-picto/examples.png"]
SERVED_GLOBS = ["submissions/*/*.json", "submissions/*.json"]


def on_files(files: Files, config: MkDocsConfig) -> Files:
    paths = [REPO / rel for rel in SERVED] + [p for g in SERVED_GLOBS for p in sorted(REPO.glob(g))]
    for path in paths:
        if not path.is_file():
            raise PluginError(f"docs/hooks.py serves {path.relative_to(REPO)}, which does not exist")
        files.append(File.generated(config, path.relative_to(REPO).as_posix(), abs_src_path=str(path)))
    return files
