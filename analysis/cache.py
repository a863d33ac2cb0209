"""A content-addressed, atomic, shared store of experiment results.

A result is stored under a key hashed from the experiment's name, its configuration (and
the fingerprint of its data) and the source code of the modules of ``analysis`` that
compute it: the module that calls :func:`cached` and everything it imports inside the
package, transitively (:func:`dependencies`). A changed parameter or a changed line of
that code never serves an old result (nor does a kernel compiled for another CPU target,
:mod:`analysis.codegen`), and editing a module the experiment does not use
(``info/sp.py`` for chapter 1) recomputes nothing. Modules that only present results
(plots, verdict tables, the command line) are left out of the hash: restyling a figure
does not retrain fifty networks.

The store is safe to share: entries are written to a temporary name and renamed into
place (an interrupted run leaves no partial entry), are group-readable, and a file lock
per key makes concurrent runs of one key compute it once (on local and shared file
systems). A corrupt entry is reported with its path, moved aside and recomputed; an
unwritable store is reported and the computed result returned all the same.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from . import codegen

PACKAGE_ROOT = Path(__file__).resolve().parent
PACKAGE = PACKAGE_ROOT.name


@dataclass
class Result:
    """Plain arrays and metadata produced by one experiment run."""

    name: str
    config: dict[str, Any]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]


PRESENTATION_MODULES = frozenset({"plots", "claims", "cli", "__main__", "ledger", "chapters",
                                  "execute"})
"""Modules and packages (relative names) that never touch a cached result; not hashed."""


def _presents(module: str) -> bool:
    """Whether ``module`` (package-relative) only presents results."""
    return module.split(".")[0] in PRESENTATION_MODULES


def module_file(module: str, root: Path = PACKAGE_ROOT) -> Path | None:
    """The source file of ``module`` (dotted, relative to the package), if it exists."""
    base = root.joinpath(*module.split(".")) if module else root
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, root: Path) -> tuple[set[str], set[str]]:
    """Modules of the package that ``module`` imports (relative dotted names), and the
    packages that hold them (whose ``__init__`` runs first but computes nothing here)."""
    path = module_file(module, root)
    is_package = path is not None and path.name == "__init__.py"
    here = module.split(".") if module else []
    package = here if is_package else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[:len(package) - node.level + 1] if node.level > 1 else package
                base = [*anchor, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == root.name:
                base = node.module.split(".")[1:]
            else:
                continue
            found.add(".".join(base))
            found |= {".".join([*base, alias.name]) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {".".join(a.name.split(".")[1:]) for a in node.names
                      if a.name.split(".")[0] == root.name}
    found = {m for m in found if module_file(m, root) is not None}
    parents = {".".join(name.split(".")[:i]) for name in found | {module}
               for i in range(name.count(".") + 1)} - found
    return found, parents


def dependencies(module: str, root: Path = PACKAGE_ROOT) -> list[str]:
    """``module`` and every module of the package it imports, transitively, sorted.

    ``module`` is dotted and relative to the package (``"experiments.information_plane"``;
    ``""`` is the package's ``__init__``). The ``__init__`` of a package that holds an
    imported module is hashed, but its own imports are followed only where a module imports
    from the package itself: ``info/__init__`` re-exports every estimator, and importing
    ``info.binning`` must not make chapter 1 depend on ``info.sp``. Presentation modules
    are left out.
    """
    seen: set[str] = set()
    packages: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        direct, parents = _imports(name, root)
        packages |= parents
        todo += sorted(direct - seen)
    return sorted(m for m in seen | packages if not _presents(m))


def hashed_sources(module: str | None = None, root: Path = PACKAGE_ROOT) -> list[Path]:
    """The source files whose contents make up :func:`code_version` of ``module``.

    Without a module: every result-producing source of the package.
    """
    if module is None:
        return sorted(p for p in root.rglob("*.py")
                      if not _presents(".".join(p.relative_to(root).with_suffix("").parts)))
    return [module_file(m, root) for m in dependencies(module, root)]


@lru_cache(maxsize=None)
def code_version(module: str | None = None, root: Path = PACKAGE_ROOT) -> str:
    """SHA-256 of the sources (paths and contents) that ``module`` runs."""
    digest = hashlib.sha256()
    for path in hashed_sources(module, root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def caller_module(compute: Callable[..., Any]) -> str:
    """The package-relative module that defined ``compute`` (``""`` outside the package)."""
    name = getattr(compute, "__module__", "") or ""
    parts = name.split(".")
    return ".".join(parts[1:]) if parts[0] == PACKAGE else ""


def cache_dir() -> Path:
    """``$IB_BOOK_CACHE`` or ``~/.cache/ib-book/results``."""
    return Path(os.environ.get("IB_BOOK_CACHE", Path.home() / ".cache" / "ib-book" / "results"))


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a dataclass configuration (tuples become lists)."""
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    return json.loads(json.dumps(data, default=str))


def result_key(name: str, config: Any, module: str | None = None) -> str:
    """The cache key of ``name`` run with ``config`` by the current code of ``module``,
    compiled for this process's numba target (:func:`analysis.codegen.target`)."""
    payload = json.dumps({"name": name, "config": config_dict(config),
                          "code": code_version(module), "target": codegen.target()},
                         sort_keys=True)
    return f"{name}-{hashlib.sha256(payload.encode()).hexdigest()[:24]}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(result: Result, path: Path) -> None:
    """Write ``result`` to ``path`` (.npz) atomically, readable by the group."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"name": result.name, "config": result.config, "meta": result.meta},
                      default=str)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __meta__=np.array(meta), **result.arrays)
        os.chmod(tmp, 0o664 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CorruptEntry(Exception):
    """A cache entry that cannot be read back."""


def load(path: Path) -> Result:
    """Read a result written by :func:`save`.

    Raises
    ------
    CorruptEntry
        If the file is empty, truncated or not a result, naming the file.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
        return Result(name=meta["name"], config=meta["config"], arrays=arrays,
                      meta=meta["meta"])
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile) as err:
        raise CorruptEntry(f"{path}: {type(err).__name__}: {err}") from err


def _set_aside(path: Path, why: CorruptEntry) -> None:
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, target)
        where = f"moved to {target.name}"
    except OSError:
        where = "could not be moved aside"
    warnings.warn(f"corrupt cache entry {why} ({where}); recomputing", stacklevel=3)


def _lock(path: Path) -> FileLock | None:
    """The lock of an entry, or None where the cache folder cannot hold one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock", mode=0o664 & ~_umask())
        lock.acquire(timeout=0)
        return lock
    except Timeout:
        print(f"waiting for another run computing {path.name} ...", flush=True)
        lock.acquire()
        return lock
    except OSError as err:
        warnings.warn(f"result cache {path.parent} is not writable ({err}); results will "
                      "be computed and not stored", stacklevel=3)
        return None


def cached(name: str, config: Any, compute: Callable[[], Result],
           use_cache: bool = True, module: str | None = None) -> Result:
    """Return the stored result of ``name`` with ``config``, computing and storing it if absent.

    ``module`` (package-relative) is the experiment whose code version enters the key;
    by default the module that defined ``compute``. The returned result's
    ``meta["cache"]`` says whether it was loaded or computed.
    """
    module = caller_module(compute) if module is None else module
    path = cache_dir() / f"{result_key(name, config, module)}.npz"
    if not use_cache:
        result = compute()
        result.meta["cache"] = {"status": "computed", "path": None}
        return result
    lock = _lock(path)
    try:
        if path.is_file():
            try:
                result = load(path)
                result.meta["cache"] = {"status": "loaded", "path": str(path)}
                return result
            except CorruptEntry as err:
                _set_aside(path, err)
        result = compute()
        try:
            save(result, path)
            stored = str(path)
        except OSError as err:
            warnings.warn(f"could not store the result in {path.parent} ({err}); it is "
                          "returned but will be computed again next time", stacklevel=2)
            stored = None
        result.meta["cache"] = {"status": "computed", "path": stored}
        return result
    finally:
        if lock is not None:
            lock.release()
