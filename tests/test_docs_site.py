"""The documentation site builds strictly, its pages request nothing from the network (they read
offline, from disk), and its copy of the SPEC is the SPEC."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("mkdocs", reason="no mkdocs (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parents[1]
SHARED_SPEC = ROOT.parent / "shared" / "SPEC.md"
# Anything a browser would fetch by itself when it shows a page.
FETCHED = re.compile(r"<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href|srcset)="
                     r"[\"']?((?:https?:)?//[^\"' >]+)", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    return [p for item in nav for p in _nav_pages(item)]


def test_every_page_of_the_nav_is_built(site):
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)   # no !ENV tags used
    pages = _nav_pages(config["nav"])
    assert {"index.md", "getting-started.md", "spec.md", "api.md", "glossary.md"} <= set(pages)
    for page in pages:
        assert (site / page.replace(".md", ".html")).is_file(), page
    # pages sit beside each other as .html files: links work from file://
    assert 'href="getting-started.html"' in (site / "index.html").read_text()


def test_pages_fetch_nothing_from_the_network(site):
    # what Material's offline plugin would add to every page, and a web font
    assert FETCHED.findall('<script src="https://unpkg.com/iframe-worker/shim"></script>') == [
        "https://unpkg.com/iframe-worker/shim"]
    assert FETCHED.findall("<link rel=stylesheet href=//fonts.googleapis.com/css>") == ["//fonts.googleapis.com/css"]
    fetched = {(p.name, url) for p in site.rglob("*.html") for url in FETCHED.findall(p.read_text())}
    assert not fetched


def test_the_api_reference_is_generated_from_the_docstrings(site):
    from odbench.evaluate import evaluate

    api = (site / "api.html").read_text()
    first_line = evaluate.__doc__.split("\n")[0].split("`")[0].strip()
    assert "odbench.evaluate.evaluate" in api and first_line in api


def test_the_study_page_shows_the_published_table_and_figure(site):
    page = (site / "reference-study.html").read_text()
    table = (ROOT / "odbench" / "reference" / "study" / "table.md").read_text()
    assert "random-init ViT-B-32" in table and "random-init ViT-B-32" in page
    assert 'src="odbench/reference/study/odmap_vs_rsum.png"' in page
    assert (site / "odbench" / "reference" / "study" / "odmap_vs_rsum.png").is_file()


@pytest.mark.skipif(not SHARED_SPEC.is_file(), reason=f"no master SPEC at {SHARED_SPEC}")
def test_the_spec_page_is_the_spec_verbatim():
    assert (ROOT / "docs" / "spec.md").read_bytes() == SHARED_SPEC.read_bytes()
