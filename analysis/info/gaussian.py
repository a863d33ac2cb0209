"""Closed forms for Gaussian variables and linear Gaussian channels, in bits."""
from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2.0)


def gaussian_entropy(cov: np.ndarray) -> float:
    """Differential entropy of N(mu, cov) in bits: (1/2) log2 det(2 pi e cov)."""
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    sign, logdet = np.linalg.slogdet(2.0 * math.pi * math.e * cov)
    if sign <= 0:
        raise ValueError("covariance must be positive definite")
    return 0.5 * logdet / LN2


def linear_gaussian_mi(weights: np.ndarray, cov_x: np.ndarray, noise_var: float) -> float:
    """I(X;T) in bits for T = W X + Z, X ~ N(0, cov_x), Z ~ N(0, noise_var I).

    I(X;T) = (1/2) log2 det(I + W cov_x W^T / noise_var).

    References
    ----------
    Saxe et al. (2018), section 4 (deep linear networks with exact mutual information).
    """
    if noise_var <= 0:
        raise ValueError(f"noise_var must be > 0, got {noise_var}")
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    signal = w @ np.atleast_2d(cov_x) @ w.T / noise_var
    sign, logdet = np.linalg.slogdet(np.eye(len(signal)) + signal)
    return 0.5 * logdet / LN2
