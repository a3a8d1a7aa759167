"""The user's own code behind a model: every loaded module that is neither the standard library,
an installed package nor odbench itself, so that an edit to any of them (the model file or a
helper it imports) is a new embedding-cache key."""
from __future__ import annotations

import hashlib
import site
import sys
import sysconfig
from pathlib import Path


def _installed_roots() -> tuple[Path, ...]:
    """Folders whose modules are identified by a version, not by their bytes."""
    paths = sysconfig.get_paths()
    roots = {paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths}
    roots.update(getattr(site, "getsitepackages", lambda: [])())
    roots.add(site.getusersitepackages())
    roots.add(str(Path(__file__).resolve().parent))      # odbench: its version is in the key
    return tuple(Path(r).resolve() for r in roots if r)


def user_module_files() -> list[Path]:
    """Source files of the loaded modules outside `_installed_roots`, sorted."""
    roots = _installed_roots()
    found = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not name:
            continue
        path = Path(name).resolve()
        if path.is_file() and not any(path.is_relative_to(root) for root in roots):
            found.add(path)
    return sorted(found)


def user_code_sha256() -> str:
    """SHA-256 over (path, bytes) of every `user_module_files` file."""
    h = hashlib.sha256()
    for path in user_module_files():
        try:
            data = path.read_bytes()
        except OSError:   # vanished since import: its absence is part of the state
            data = b""
        h.update(f"{path}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
