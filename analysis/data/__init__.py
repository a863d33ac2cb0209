"""Data sets of the book: the 12-bit task (:class:`~analysis.data.dataset.Dataset`) and the
image datasets (:class:`~analysis.data.images.ImageData`)."""
from __future__ import annotations

from pathlib import Path

from .dataset import Dataset, one_hot
from .images import (DataUnavailable, ImageData, data_dir, load_cifar, load_fashion_mnist,
                     load_images, load_mnist)
from .spherical import load_original, spherical_rule

__all__ = ["Dataset", "one_hot", "spherical_rule", "load_original", "load_spherical",
           "ImageData", "DataUnavailable", "data_dir", "load_images", "load_mnist",
           "load_fashion_mnist", "load_cifar"]


def load_spherical(source: str = "generated") -> Dataset:
    """The 12-bit task: ``"generated"`` from the paper's recipe, or a path to ``var_u.mat``."""
    if source == "generated":
        return spherical_rule()
    return load_original(Path(source))
