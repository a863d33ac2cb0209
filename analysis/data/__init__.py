"""Data sets of the book; every loader returns a :class:`~analysis.data.dataset.Dataset`."""
from __future__ import annotations

from pathlib import Path

from .dataset import Dataset, one_hot
from .spherical import load_original, spherical_rule

__all__ = ["Dataset", "one_hot", "spherical_rule", "load_original", "load_spherical"]


def load_spherical(source: str = "generated") -> Dataset:
    """The 12-bit task: ``"generated"`` from the paper's recipe, or a path to ``var_u.mat``."""
    if source == "generated":
        return spherical_rule()
    return load_original(Path(source))
