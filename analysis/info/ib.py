"""The information-bottleneck curve of a discrete joint distribution, and a layer's beta.

The IB problem (Tishby, Pereira & Bialek 1999) asks, for each beta, for the encoder
p(t|x) that minimises I(X;T) - beta I(T;Y). Its stationary points satisfy the
self-consistent equations (Shwartz-Ziv & Tishby 2017, Eq. 9)

    p(t|x) = p(t) / Z(x, beta) * exp(-beta KL[p(y|x) || p(y|t)])
    p(t)   = sum_x p(x) p(t|x)
    p(y|t) = sum_x p(y|x) p(t|x) p(x) / p(t),

iterated to convergence. Sweeping beta upwards and starting each beta from the perturbed
solution of the previous one (deterministic annealing) traces the curve I(T;Y) against
I(X;T). Inputs with the same p(y|x) are merged first: merging them loses nothing about Y,
so the curve of the merged problem is the curve of the original one, and it is flat at
I(X;Y) beyond the entropy of the merged variable.

KL divergences in the exponent are in nats; reported informations are in bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, xlogy

LN2 = np.log(2.0)


@dataclass(frozen=True)
class IBCurve:
    """Points of the IB curve, one per beta, in bits."""

    betas: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    i_xy: float

    def value_at(self, i_xt: np.ndarray | float) -> np.ndarray:
        """The curve's I(T;Y) at given I(X;T): the upper concave envelope, flat at I(X;Y)."""
        x, y = _upper_envelope(self.i_xt, self.i_ty)
        return np.interp(i_xt, x, y, right=self.i_xy)


def _upper_envelope(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper concave hull of points (x, y) including the origin (0, 0)."""
    pts = sorted(set(zip(np.r_[0.0, x].round(12), np.r_[0.0, y].round(12))))
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    hx, hy = np.array(hull).T
    keep = np.r_[True, np.diff(hy) > 0]  # the curve is non-decreasing
    return hx[keep], np.maximum.accumulate(hy[keep])


def merge_equal_conditionals(p_x: np.ndarray, p_y_given_x: np.ndarray, decimals: int = 12
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge inputs with identical p(y|x).

    Returns
    -------
    p_z : ndarray, shape (n_z,)
        Probability of each distinct conditional.
    p_y_given_z : ndarray, shape (n_z, n_classes)
    z_of_x : ndarray of int, shape (n_x,)
        Which merged input each x belongs to.
    """
    rounded = np.round(np.asarray(p_y_given_x, dtype=np.float64), decimals)
    unique, z_of_x = np.unique(rounded, axis=0, return_inverse=True)
    z_of_x = z_of_x.ravel()
    p_z = np.bincount(z_of_x, weights=p_x, minlength=len(unique))
    p_y_given_z = np.stack([np.bincount(z_of_x, weights=p_x * p_y_given_x[:, c],
                                        minlength=len(unique)) for c in range(rounded.shape[1])],
                           axis=1) / p_z[:, None]
    return p_z, p_y_given_z, z_of_x


def _kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL[p_i || q_j] in nats for all rows i of p and j of q."""
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    cross = p @ np.where(np.isfinite(log_q), log_q, -1e300).T
    return np.sum(xlogy(p, p), axis=1)[:, None] - cross


def _neg_entropy(p: np.ndarray) -> float:
    """sum p ln p (nats)."""
    return float(np.sum(xlogy(p, p)))


def _mi_bits(p_x: np.ndarray, enc: np.ndarray, p_y_given_x: np.ndarray) -> tuple[float, float]:
    """I(X;T) and I(T;Y) in bits of an encoder p(t|x)."""
    joint_xt = p_x[:, None] * enc
    p_t = joint_xt.sum(0)
    joint_ty = joint_xt.T @ p_y_given_x
    i_xt = _neg_entropy(joint_xt) - _neg_entropy(p_x) - _neg_entropy(p_t)
    i_ty = _neg_entropy(joint_ty) - _neg_entropy(p_t) - _neg_entropy(joint_ty.sum(0))
    return max(i_xt / LN2, 0.0), max(i_ty / LN2, 0.0)


def iterate_ib(p_x: np.ndarray, p_y_given_x: np.ndarray, beta: float, encoder: np.ndarray,
               max_iter: int = 2000, tol: float = 1e-12) -> np.ndarray:
    """Iterate the self-consistent IB equations from ``encoder`` until it stops changing.

    Parameters
    ----------
    p_x : ndarray, shape (n_x,)
    p_y_given_x : ndarray, shape (n_x, n_classes)
    beta : float
        Trade-off parameter (>= 0).
    encoder : ndarray, shape (n_x, n_t)
        Initial p(t|x), rows summing to one.

    Returns
    -------
    ndarray, shape (n_x, n_t)
        The converged encoder p(t|x).

    References
    ----------
    Tishby, Pereira & Bialek (1999), Eq. 28; Shwartz-Ziv & Tishby (2017), Eq. 9.
    """
    enc = encoder
    for _ in range(max_iter):
        p_t = p_x @ enc
        live = p_t > 1e-300
        p_y_t = (enc[:, live] * p_x[:, None]).T @ p_y_given_x / p_t[live, None]
        log_new = np.full(enc.shape, -np.inf)
        log_new[:, live] = np.log(p_t[live])[None, :] - beta * _kl_rows(p_y_given_x, p_y_t)
        new = np.exp(log_new - logsumexp(log_new, axis=1, keepdims=True))
        if np.max(np.abs(new - enc)) < tol:
            return new
        enc = new
    return enc


def ib_curve(p_x: np.ndarray, p_y_given_x: np.ndarray, betas: np.ndarray,
             n_clusters: int | None = None, seed: int = 0, perturbation: float = 1e-3
             ) -> IBCurve:
    """The IB curve by deterministic annealing over an increasing grid of betas.

    Parameters
    ----------
    p_x : ndarray, shape (n_x,)
    p_y_given_x : ndarray, shape (n_x, n_classes)
    betas : ndarray
        Trade-off values; sorted increasingly before use.
    n_clusters : int, optional
        Cardinality of T; default the number of distinct p(y|x), which suffices.
    seed : int
        Seed of the perturbations that let clusters split as beta grows.

    References
    ----------
    Tishby, Pereira & Bialek (1999); Shwartz-Ziv & Tishby (2017), section 2.4 and Fig. 6.
    """
    p_x = np.asarray(p_x, dtype=np.float64)
    p_z, p_y_z, _ = merge_equal_conditionals(p_x, np.asarray(p_y_given_x, dtype=np.float64))
    k = len(p_z) if n_clusters is None else int(n_clusters)
    rng = np.random.default_rng(seed)
    enc = np.full((len(p_z), k), 1.0 / k)
    betas = np.sort(np.asarray(betas, dtype=np.float64))
    i_xt, i_ty = np.zeros(len(betas)), np.zeros(len(betas))
    for j, beta in enumerate(betas):
        noisy = enc * (1.0 + perturbation * rng.standard_normal(enc.shape))
        noisy = np.clip(noisy, 1e-12, None)
        enc = iterate_ib(p_z, p_y_z, beta, noisy / noisy.sum(1, keepdims=True))
        i_xt[j], i_ty[j] = _mi_bits(p_z, enc, p_y_z)
    i_xy = _mi_bits(p_z, np.eye(len(p_z)), p_y_z)[1]
    return IBCurve(betas=betas, i_xt=i_xt, i_ty=i_ty, i_xy=i_xy)


def layer_beta(p_x: np.ndarray, p_y_given_x: np.ndarray, cluster_of_x: np.ndarray,
               betas: np.ndarray) -> tuple[float, np.ndarray]:
    """The beta whose IB encoder is closest to a deterministic layer (SZT 2017, Eq. 12).

    The layer maps x to the cluster t(x) (its binned code); its decoder p(y|t) and p(t)
    follow. For each beta the IB encoder built from them is
    p_beta(t|x) = p(t) exp(-beta KL[p(y|x) || p(y|t)]) / Z(x, beta), and
    E_x KL[p_layer(t|x) || p_beta(t|x)] = E_x[-log p_beta(t(x)|x)]. Returns the
    minimising beta and the objective (nats) over the grid.
    """
    p_x = np.asarray(p_x, dtype=np.float64)
    pyx = np.asarray(p_y_given_x, dtype=np.float64)
    _, t_of_x = np.unique(np.asarray(cluster_of_x), return_inverse=True)
    t_of_x = t_of_x.ravel()
    n_t = t_of_x.max() + 1
    p_t = np.bincount(t_of_x, weights=p_x, minlength=n_t)
    p_y_t = np.stack([np.bincount(t_of_x, weights=p_x * pyx[:, c], minlength=n_t)
                      for c in range(pyx.shape[1])], axis=1) / p_t[:, None]
    # inputs with equal p(y|x) and equal cluster contribute identically: group them
    _, z_of_x = np.unique(np.round(pyx, 12), axis=0, return_inverse=True)
    z_of_x = z_of_x.ravel()
    pairs, pair_of_x = np.unique(np.stack([z_of_x, t_of_x], 1), axis=0, return_inverse=True)
    w = np.bincount(pair_of_x.ravel(), weights=p_x)
    first_x = np.array([np.flatnonzero(z_of_x == z)[0] for z in range(z_of_x.max() + 1)])
    kl = _kl_rows(pyx[first_x], p_y_t)  # (n_z, n_t)
    log_pt = np.log(p_t)
    objective = np.empty(len(betas))
    for j, beta in enumerate(betas):
        logits = log_pt[None, :] - beta * kl
        log_z = logsumexp(logits, axis=1)
        own = logits[pairs[:, 0], pairs[:, 1]] - log_z[pairs[:, 0]]
        objective[j] = -np.sum(w * own)
    return float(betas[int(np.argmin(objective))]), objective
