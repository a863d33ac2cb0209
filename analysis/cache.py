"""A content-addressed, atomic store of experiment results.

A result is stored under a key hashed from the experiment's name, its configuration and
the source code of every module of the ``analysis`` package that computes results, so a
changed parameter or a changed line of that code never serves an old result. Modules
that only present results (plots, verdict tables, the command line) are left out of the
hash: restyling a figure does not retrain fifty networks. Files are written to a temporary name
in the same folder and renamed into place, so an interrupted run leaves no partial entry.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE_ROOT = Path(__file__).resolve().parent


@dataclass
class Result:
    """Plain arrays and metadata produced by one experiment run."""

    name: str
    config: dict[str, Any]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]


PRESENTATION_MODULES = frozenset({"plots.py", "claims.py", "cli.py", "__main__.py", "ledger.py"})
"""Modules that never touch a cached result; they are not part of the code version."""


def hashed_sources() -> list[Path]:
    """The source files whose contents make up :func:`code_version`."""
    return sorted(p for p in PACKAGE_ROOT.rglob("*.py")
                  if p.relative_to(PACKAGE_ROOT).as_posix() not in PRESENTATION_MODULES)


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 of the result-producing sources of ``analysis`` (paths and contents)."""
    digest = hashlib.sha256()
    for path in hashed_sources():
        digest.update(str(path.relative_to(PACKAGE_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """``$IB_BOOK_CACHE`` or ``~/.cache/ib-book/results``."""
    return Path(os.environ.get("IB_BOOK_CACHE", Path.home() / ".cache" / "ib-book" / "results"))


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a dataclass configuration (tuples become lists)."""
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    return json.loads(json.dumps(data, default=str))


def result_key(name: str, config: Any) -> str:
    """The cache key of ``name`` run with ``config`` by the current code."""
    payload = json.dumps({"name": name, "config": config_dict(config), "code": code_version()},
                         sort_keys=True)
    return f"{name}-{hashlib.sha256(payload.encode()).hexdigest()[:24]}"


def save(result: Result, path: Path) -> None:
    """Write ``result`` to ``path`` (.npz) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"name": result.name, "config": result.config, "meta": result.meta},
                      default=str)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __meta__=np.array(meta), **result.arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> Result:
    """Read a result written by :func:`save`."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
    return Result(name=meta["name"], config=meta["config"], arrays=arrays, meta=meta["meta"])


def cached(name: str, config: Any, compute: Callable[[], Result],
           use_cache: bool = True) -> Result:
    """Return the stored result of ``name`` with ``config``, computing and storing it if absent.

    The returned result's ``meta["cache"]`` says whether it was loaded or computed.
    """
    path = cache_dir() / f"{result_key(name, config)}.npz"
    if use_cache and path.is_file():
        result = load(path)
        result.meta["cache"] = {"status": "loaded", "path": str(path)}
        return result
    result = compute()
    if use_cache:
        save(result, path)
    result.meta["cache"] = {"status": "computed", "path": str(path) if use_cache else None}
    return result
