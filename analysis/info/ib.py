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

A trained layer is compared with the curve horizontally (:func:`distance_to_curve`: the
I(X;T) it keeps beyond the least I(X;T) that holds its I(T;Y)), by the beta whose IB
encoder matches it best (:func:`layer_beta`, SZT Eq. 12), and by how far one step of the
equations above moves it (:func:`self_consistency`): a fixed point does not move.

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

    def i_xt_at(self, i_ty: np.ndarray | float) -> np.ndarray:
        """The least I(X;T) at which the curve reaches a given I(T;Y): its inverse.

        The envelope rises strictly up to its top (the largest I(T;Y) the beta grid
        reaches), so the inverse is its linear interpolation with the axes swapped. An
        I(T;Y) at or above the top maps to the I(X;T) where the computed curve reaches the
        top: where the grid stops short of I(X;Y) this is too small, never too large.
        """
        x, y = _upper_envelope(self.i_xt, self.i_ty)
        return np.interp(np.minimum(i_ty, y[-1]), y, x)


def distance_to_curve(curve: IBCurve, i_xt: np.ndarray | float, i_ty: np.ndarray | float
                      ) -> np.ndarray:
    """Horizontal distance of points to the IB curve: excess I(X;T) at equal I(T;Y) (bits).

    A representation that holds I(T;Y) needs at least ``curve.i_xt_at(I(T;Y))`` bits
    about X; the distance is what it keeps beyond that: 0 on the curve, positive to its
    right. A vertical gap (the I(T;Y) missing at equal I(X;T)) is nearly 0 for any
    representation that keeps the label, however much of X it keeps (the raw 12-bit
    input is 10 bits to the right of the curve of the 12-bit task, and 0 bits below it):
    the horizontal distance is the one that measures a surplus of I(X;T).

    Parameters
    ----------
    curve : IBCurve
    i_xt, i_ty : array_like
        Points in the plane (bits), broadcast against each other.

    Returns
    -------
    ndarray
        ``i_xt - curve.i_xt_at(i_ty)``; negative where a point lies left of (above) the
        curve, which an exact deterministic encoder cannot.

    References
    ----------
    Shwartz-Ziv & Tishby (2017), Fig. 6; Tishby, Pereira & Bialek (1999).
    """
    return np.asarray(i_xt, dtype=np.float64) - curve.i_xt_at(np.asarray(i_ty, dtype=np.float64))


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


@dataclass(frozen=True)
class _Layer:
    """A deterministic layer t(x) over groups z of inputs with equal p(y|x)."""

    p_t: np.ndarray          # (n_t,)
    p_y_t: np.ndarray        # (n_t, n_classes): the layer's decoder
    p_z: np.ndarray          # (n_z,)
    p_y_z: np.ndarray        # (n_z, n_classes)
    pairs: np.ndarray        # (n_pairs, 2): the (z, t) that occur
    w: np.ndarray            # (n_pairs,): their probability
    kl: np.ndarray           # (n_z, n_t): KL[p(y|z) || p(y|t)] in nats


def _layer(p_x: np.ndarray, p_y_given_x: np.ndarray, cluster_of_x: np.ndarray) -> _Layer:
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
    p_z = np.bincount(z_of_x, weights=p_x)
    return _Layer(p_t=p_t, p_y_t=p_y_t, p_z=p_z, p_y_z=pyx[first_x], pairs=pairs, w=w,
                  kl=_kl_rows(pyx[first_x], p_y_t))


KL_TIE = 1e-12
"""KL divergences (nats) closer than this count as equal in the beta -> infinity limit."""
BETA_TIE = 1e-9
"""Objectives of :func:`layer_beta` (nats) closer than this to the least count as ties."""


def _gibbs_log_encoder(layer: _Layer, beta: float) -> np.ndarray:
    """log p_beta(t|z) = log p(t) - beta KL[p(y|z) || p(y|t)] - log Z(z, beta).

    At ``beta = inf`` the encoder is p(t) restricted to the clusters of least KL (within
    :data:`KL_TIE`), normalised: the limit of the finite-beta encoders.
    """
    if np.isinf(beta):
        best = layer.kl <= layer.kl.min(axis=1, keepdims=True) + KL_TIE
        logits = np.where(best, np.log(layer.p_t)[None, :], -np.inf)
    else:
        logits = np.log(layer.p_t)[None, :] - beta * layer.kl
    return logits - logsumexp(logits, axis=1, keepdims=True)


def layer_beta(p_x: np.ndarray, p_y_given_x: np.ndarray, cluster_of_x: np.ndarray,
               betas: np.ndarray) -> tuple[float, np.ndarray]:
    """The beta whose IB encoder is closest to a deterministic layer (SZT 2017, Eq. 12).

    The layer maps x to the cluster t(x) (its binned code); its decoder p(y|t) and p(t)
    follow. For each beta the IB encoder built from them is
    p_beta(t|x) = p(t) exp(-beta KL[p(y|x) || p(y|t)]) / Z(x, beta), and
    E_x KL[p_layer(t|x) || p_beta(t|x)] = E_x[-log p_beta(t(x)|x)]. Returns the
    minimising beta and the objective (nats) over the grid. The grid may hold
    ``np.inf``: the limit encoder (see :func:`_gibbs_log_encoder`). A layer whose clusters
    each hold inputs of one p(y|x) only, several clusters per p(y|x), is matched best
    there: no finite trade-off explains it. Ties (within :data:`BETA_TIE`) go to the
    smallest beta.
    """
    layer = _layer(p_x, p_y_given_x, cluster_of_x)
    betas = np.asarray(betas, dtype=np.float64)
    z, t = layer.pairs[:, 0], layer.pairs[:, 1]
    log_pt = np.log(layer.p_t)
    objective = np.empty(len(betas))
    finite = np.flatnonzero(np.isfinite(betas))
    for chunk in np.array_split(finite, max(1, len(finite) // 32)):  # betas in blocks
        logits = log_pt[None, None, :] - betas[chunk, None, None] * layer.kl[None]
        top = logits.max(axis=2, keepdims=True)
        log_z = top[..., 0] + np.log(np.exp(logits - top).sum(axis=2))
        objective[chunk] = -(logits[:, z, t] - log_z[:, z]) @ layer.w
    for j in np.flatnonzero(~np.isfinite(betas)):
        log_enc = _gibbs_log_encoder(layer, betas[j])
        objective[j] = -np.sum(layer.w * log_enc[z, t])
    best = np.flatnonzero(objective <= objective.min() + BETA_TIE)[0]
    return float(betas[best]), objective


def self_consistency(p_x: np.ndarray, p_y_given_x: np.ndarray, cluster_of_x: np.ndarray,
                     beta: float) -> tuple[float, float]:
    """How far a deterministic layer is from a fixed point of the IB equations at ``beta``.

    One step of the self-consistent equations (SZT 2017, Eq. 9) from the layer's own p(t)
    and decoder p(y|t) gives the encoder p_beta(t|x) and, from it, the decoder
    p_beta(y|t) = sum_x p(y|x) p_beta(t|x) p(x) / p_beta(t). At a fixed point both equal
    the layer's own. Returns the two residuals in bits:

    * encoder: E_x KL[p_layer(t|x) || p_beta(t|x)] = E_x[-log2 p_beta(t(x)|x)] (the
      objective of :func:`layer_beta`);
    * decoder: sum_t p(t) KL[p_layer(y|t) || p_beta(y|t)].

    Both are 0 for a layer that satisfies the equations (e.g. one cluster, at any beta).

    References
    ----------
    Tishby, Pereira & Bialek (1999), Eq. 28; Shwartz-Ziv & Tishby (2017), Eq. 9 and
    section 1.1 (iii).
    """
    layer = _layer(p_x, p_y_given_x, cluster_of_x)
    log_enc = _gibbs_log_encoder(layer, beta)
    encoder = -np.sum(layer.w * log_enc[layer.pairs[:, 0], layer.pairs[:, 1]])
    joint_zt = layer.p_z[:, None] * np.exp(log_enc)        # p(z) p_beta(t|z)
    p_t_beta = joint_zt.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_y_t_beta = (joint_zt.T @ layer.p_y_z) / p_t_beta[:, None]
    live = layer.p_t > 0
    kl_t = np.sum(xlogy(layer.p_y_t, layer.p_y_t), axis=1) - np.sum(
        xlogy(layer.p_y_t, np.where(p_y_t_beta > 0, p_y_t_beta, 1e-300)), axis=1)
    decoder = float(np.sum(layer.p_t[live] * kl_t[live]))
    return float(encoder) / LN2, max(decoder, 0.0) / LN2
