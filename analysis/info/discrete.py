"""Entropies of discrete distributions, in bits."""
from __future__ import annotations

import numpy as np


def entropy_bits(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy H(p) = -sum p log2 p along ``axis`` (0 log 0 = 0).

    Parameters
    ----------
    p : array_like
        Probabilities; they need not be normalised along ``axis`` beforehand.
    axis : int
        The axis that holds the outcomes.
    """
    p = np.asarray(p, dtype=np.float64)
    p = p / p.sum(axis=axis, keepdims=True)
    logp = np.log2(np.where(p > 0, p, 1.0))
    return -(p * logp).sum(axis=axis)


def mutual_information_xy(p_y_given_x: np.ndarray, p_x: np.ndarray | None = None) -> float:
    """I(X;Y) in bits of a discrete channel p(y|x) with input distribution p(x).

    I(X;Y) = H(Y) - sum_x p(x) H(Y|X=x), with p(x) uniform when not given.
    """
    p_y_given_x = np.asarray(p_y_given_x, dtype=np.float64)
    n = p_y_given_x.shape[0]
    p_x = np.full(n, 1.0 / n) if p_x is None else np.asarray(p_x, dtype=np.float64)
    p_y = p_x @ p_y_given_x
    return float(entropy_bits(p_y) - p_x @ entropy_bits(p_y_given_x, axis=1))
