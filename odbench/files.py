"""Output files: refuse, before any work is done, a path that could not be written at the end;
then write through a temporary file and a rename, so that no reader ever sees half a file."""
from __future__ import annotations

import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ResultError
from .escaping import one_line


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False, option: str = "--output") -> Path:
    """Refuse, before any work is done, an output that could not be written at the end."""
    if not str(path).strip():
        raise ResultError(f"{option} is empty: name a file, e.g. {option} results/my-model.json")
    path = Path(path)
    shown = one_line(path)
    if path.is_dir():
        raise ResultError(f"{option} {shown} is a folder; name a file in it, e.g. {path / 'result.json'}")
    if path.exists() and not overwrite:
        raise ResultError(f"{shown} already exists; pass --overwrite to replace it")
    if path.exists() and not path.is_file():
        raise ResultError(f"{option} {shown} exists and is not a regular file")
    for folder in (path.parent, *path.parent.parents):   # the nearest existing ancestor decides
        if folder.exists():
            if not folder.is_dir():
                raise ResultError(f"{option} {shown}: {one_line(folder)} is a file, not a folder")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ResultError(f"{option} {shown}: cannot write into {one_line(folder)}")
            _prove_writable(folder, f"{option} {shown}")
            break
    return path


def _prove_writable(folder: Path, what: str) -> None:
    """Create and remove a file in `folder`: permission bits do not tell (root, /proc, a
    read-only mount), and the answer is wanted before the work, not after it."""
    probe = folder / f".odbench-write-test.{secrets.token_hex(6)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ResultError(f"{what}: cannot write into {one_line(folder)} ({exc.strerror or type(exc).__name__})") from None
    os.close(fd)
    probe.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, text: str | bytes, *, overwrite: bool = False) -> Path:
    """Write `text` (str as UTF-8, or bytes) to `path` through a temporary file and a rename, so a crash or an error
    never leaves a half-written file. Refuses to replace an existing file unless told to."""
    path = check_output_path(path, overwrite=overwrite)
    data = text.encode("utf-8") if isinstance(text, str) else text
    replace_atomically(path, lambda f: f.write(data))
    return path


def replace_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace `path` with what `write` writes to a binary file: through a temporary
    file in the same folder and a rename, so no reader ever sees half a file and a killed writer
    leaves only a temporary file nobody reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile.mkstemp would make it 0600); O_EXCL never clobbers another writer's file.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_markdown_and_figure(output: str | os.PathLike, figure: Callable[[], Any], markdown: Callable[[str], str],
                              *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write OUTPUT (markdown) and a PNG of `figure()` (a matplotlib Figure) beside it, same name
    with .png; `markdown(png_name)` makes the text that links it. Both paths are checked before
    anything is drawn."""
    md_path = check_output_path(output, overwrite=overwrite)
    if md_path.suffix.lower() == ".png":   # the markdown would land on its own picture
        raise ResultError(f"--output {one_line(md_path)} names the PNG; name the markdown file, e.g. "
                          f"--output {one_line(md_path.with_suffix('.md'))} (the PNG goes beside it)")
    png_path = check_output_path(md_path.with_suffix(".png"), overwrite=overwrite)
    png = io.BytesIO()
    # no "Software" entry (matplotlib's version): the same input gives the same bytes
    figure().savefig(png, format="png", metadata={"Software": None})
    write_atomic(png_path, png.getvalue(), overwrite=overwrite)
    write_atomic(md_path, markdown(png_path.name), overwrite=overwrite)
    return md_path, png_path
