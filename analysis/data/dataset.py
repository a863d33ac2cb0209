"""The container every data loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Inputs, labels and the conditional label distribution of a classification task.

    Attributes
    ----------
    x : ndarray, shape (n, d), float32
        The input patterns, one per row.
    y : ndarray, shape (n,), int64
        The training labels.
    p_y_given_x : ndarray, shape (n, n_classes), float64
        p(y|x) for every pattern; rows sum to one. For data with deterministic labels
        this is the one-hot encoding of ``y``. Mutual information with the label uses
        it through the Markov chain Y -> X -> T.
    name : str
        Short name of the task.
    source : dict
        Where the data came from and how it was made (recorded in every result).
    """

    x: np.ndarray
    y: np.ndarray
    p_y_given_x: np.ndarray
    name: str
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if self.y.shape != (n,) or self.p_y_given_x.shape[0] != n:
            raise ValueError(
                f"inconsistent dataset {self.name!r}: x has {n} rows, y has shape "
                f"{self.y.shape}, p_y_given_x has shape {self.p_y_given_x.shape}"
            )
        if not np.allclose(self.p_y_given_x.sum(axis=1), 1.0):
            raise ValueError(f"rows of p_y_given_x of {self.name!r} must sum to one")

    @property
    def fingerprint(self) -> dict:
        """What identifies the data in a cache key: its kind and, for a file, its MD5
        (never its path, so a replaced file is a new key and a moved one is not)."""
        return {k: v for k, v in self.source.items() if k in ("kind", "md5", "degrees")}

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.p_y_given_x.shape[1])


def one_hot(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """One-hot rows (float64) for integer labels."""
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out
