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


def _logdet(cov: np.ndarray) -> float:
    sign, logdet = np.linalg.slogdet(np.atleast_2d(cov))
    if sign <= 0:
        raise ValueError("covariance must be positive definite")
    return float(logdet)


def gaussian_mi(cov: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """I(U_a; U_b) in bits for jointly Gaussian U ~ N(mu, cov), index sets a and b.

    I = (1/2) log2( det cov_aa det cov_bb / det cov_[a+b] ), the sets disjoint.
    """
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    if np.intersect1d(a, b).size:
        raise ValueError("index sets a and b must be disjoint")
    both = np.concatenate([a, b])
    return 0.5 * (_logdet(cov[np.ix_(a, a)]) + _logdet(cov[np.ix_(b, b)])
                  - _logdet(cov[np.ix_(both, both)])) / LN2


def linear_channel_mi(weights: np.ndarray, cov_x: np.ndarray, noise_var: float,
                      inputs: np.ndarray | None = None, readout: np.ndarray | None = None,
                      readout_noise: float = 0.0) -> float:
    """Exact MI of the layer T = W X + Z, Z ~ N(0, noise_var I), with a subset of X or with Y.

    With ``inputs`` (indices into X): I(X_inputs; T), e.g. the information a hidden layer
    keeps about the task-relevant or the irrelevant inputs. With ``readout`` (a matrix
    W0): I(T; Y) for the teacher's output Y = W0 X + E, E ~ N(0, readout_noise I).
    Exactly one of the two is given. Both follow from the joint covariance of (X, T, Y)
    by :func:`gaussian_mi`.

    References
    ----------
    Saxe et al. (2018), sections 4 and 6 (student-teacher linear networks).
    """
    if noise_var <= 0:
        raise ValueError(f"noise_var must be > 0, got {noise_var}")
    if (inputs is None) == (readout is None):
        raise ValueError("give exactly one of inputs (a subset of X) or readout (a teacher W0)")
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    cov_x = np.atleast_2d(np.asarray(cov_x, dtype=np.float64))
    n_x, n_t = cov_x.shape[0], w.shape[0]
    rows = [np.eye(n_x), w]
    if readout is not None:
        rows.append(np.atleast_2d(readout))
    lift = np.vstack(rows)
    cov = lift @ cov_x @ lift.T
    cov[n_x:n_x + n_t, n_x:n_x + n_t] += noise_var * np.eye(n_t)
    t_idx = np.arange(n_x, n_x + n_t)
    if readout is not None:
        n_y = lift.shape[0] - n_x - n_t
        cov[n_x + n_t:, n_x + n_t:] += readout_noise * np.eye(n_y)
        if readout_noise <= 0:
            raise ValueError(f"readout_noise must be > 0 for I(T;Y), got {readout_noise}")
        return gaussian_mi(cov, t_idx, np.arange(n_x + n_t, n_x + n_t + n_y))
    return gaussian_mi(cov, np.asarray(inputs), t_idx)
