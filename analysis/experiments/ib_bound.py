"""Chapter 4: the converged layers against the information-bottleneck bound (SZT 2017, Fig. 6).

The IB curve of the 12-bit task's p(x, y) is computed by the iterative IB algorithm with
deterministic annealing (:mod:`analysis.info.ib`). For every converged layer of every
network of a chapter-1 run: its point in the plane, its horizontal distance to the curve
(the I(X;T) it keeps beyond what its I(T;Y) needs), its best beta (SZT Eq. 12) from the
layer's own binned encoder and decoder, and how far the layer is from a fixed point of
the IB equations at that beta.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from .. import stats
from ..cache import Result, cached
from ..claims import Claim
from ..data import load_spherical
from ..info.binning import RangeBins, original_bins, row_ids
from ..info.ib import IBCurve, distance_to_curve, ib_curve, layer_beta, self_consistency

SOURCE = "Shwartz-Ziv & Tishby 2017"
NEAR = 0.5
"""Bits: a layer lies "on or very close to" the bound when it keeps at most this much
I(X;T) beyond the curve at its I(T;Y) (4% of the 12 bits of X), and "satisfies" the IB
equations when one step of them moves its encoder by at most this much (expected KL)."""
RHO = -0.8
"""The rank correlation of layer index with beta* that "beta falls with depth" requires."""


def beta_grid(beta_min: float = 0.05, beta_max: float = 1e5, n_betas: int = 300) -> np.ndarray:
    """Log-spaced betas in [beta_min, beta_max] (the IB curve's grid)."""
    return np.geomspace(beta_min, beta_max, n_betas)


@dataclass(frozen=True)
class LayerFit:
    """Converged layers against the IB curve; arrays have shape (members, layers).

    ``distance`` is horizontal (excess I(X;T), bits), ``below`` vertical (missing I(T;Y),
    bits); ``beta`` may be ``inf`` (the layer is matched best by the beta -> infinity
    limit); ``encoder_kl`` and ``decoder_kl`` are the residuals of the IB equations at
    ``beta`` (bits, :func:`~analysis.info.ib.self_consistency`).
    """

    curve: IBCurve
    i_xt: np.ndarray
    i_ty: np.ndarray
    distance: np.ndarray
    below: np.ndarray
    beta: np.ndarray
    encoder_kl: np.ndarray
    decoder_kl: np.ndarray

    @property
    def hidden(self) -> slice:
        """The hidden layers (the softmax output left out)."""
        return slice(0, self.i_xt.shape[1] - 1)


def cluster_ids(activations: np.ndarray, n_bins: int = 30, binning: str = "fixed"
                ) -> np.ndarray:
    """Per member, the id of every input's binned code; shape (members, n_samples).

    ``binning`` as the run used it: ``"fixed"`` (``n_bins`` edges on [-1, 1]) or
    ``"range"`` (``n_bins - 1`` equal bins between each member's layer extremes).
    """
    bins = original_bins(n_bins) if binning == "fixed" else RangeBins(n_bins - 1)
    return row_ids(bins.codes(torch.as_tensor(activations))).numpy()


def fit_layers(result: Result, betas: np.ndarray | None = None) -> LayerFit:
    """The IB curve of the run's task (over ``betas``) and every converged layer's
    distance to it, beta* (over ``betas`` and infinity) and residuals at beta*.

    The fit is cached under the run's own cache key and the grid, so it follows any change
    of the run (parameters, data, training code) and of this module; a run that was not
    cached is fitted afresh.
    """
    betas = beta_grid() if betas is None else np.asarray(betas, dtype=np.float64)
    run = (result.meta.get("cache") or {}).get("path")
    if run is None:
        return _unpack(_fit(result, betas))
    key = {"run": Path(run).stem, "betas": betas.tolist()}
    return _unpack(cached("ib_fit", key, lambda: _fit(result, betas)))


def _fit(result: Result, betas: np.ndarray) -> Result:
    data = load_spherical(result.config["data"])
    n = data.n_samples
    p_x = np.full(n, 1.0 / n)
    curve = ib_curve(p_x, data.p_y_given_x, betas)
    i_xt, i_ty = result["i_xt"][:, -1], result["i_ty"][:, -1]
    grid = np.r_[np.sort(betas), np.inf]
    beta = np.empty_like(i_xt)
    encoder, decoder = np.empty_like(i_xt), np.empty_like(i_xt)
    for layer in range(i_xt.shape[1]):
        ids = cluster_ids(result[f"final_layer{layer + 1}"], result.config["n_bins"],
                          result.meta.get("binning", "fixed"))
        for m, t in enumerate(ids):
            beta[m, layer] = layer_beta(p_x, data.p_y_given_x, t, grid)[0]
            encoder[m, layer], decoder[m, layer] = self_consistency(
                p_x, data.p_y_given_x, t, beta[m, layer])
    arrays = {"curve_betas": curve.betas, "curve_i_xt": curve.i_xt,
              "curve_i_ty": curve.i_ty, "curve_i_xy": np.array(curve.i_xy),
              "i_xt": i_xt, "i_ty": i_ty, "beta": beta, "encoder_kl": encoder,
              "decoder_kl": decoder}
    return Result("ib_fit", {"betas": betas.tolist()}, arrays)


def _unpack(fit: Result) -> LayerFit:
    curve = IBCurve(betas=fit["curve_betas"], i_xt=fit["curve_i_xt"], i_ty=fit["curve_i_ty"],
                    i_xy=float(fit["curve_i_xy"]))
    i_xt, i_ty = fit["i_xt"], fit["i_ty"]
    return LayerFit(curve=curve, i_xt=i_xt, i_ty=i_ty,
                    distance=distance_to_curve(curve, i_xt, i_ty),
                    below=curve.value_at(i_xt) - i_ty, beta=fit["beta"],
                    encoder_kl=fit["encoder_kl"], decoder_kl=fit["decoder_kl"])


def largest_mean(values: np.ndarray) -> float:
    """The largest member-mean over layers (members, layers) -> float."""
    return float(np.max(np.mean(values, axis=0)))


def median_beta(beta: np.ndarray) -> np.ndarray:
    """Per layer, the median beta* over members (``inf`` where most are infinite)."""
    return np.median(beta, axis=0)


def _ranked(values: np.ndarray) -> np.ndarray:
    """``values`` with infinity replaced by a finite number above the others (same ranks)."""
    finite = values[np.isfinite(values)]
    top = (finite.max() if finite.size else 0.0) + 1.0
    return np.where(np.isinf(values), top, values)


def beta_spearman(beta: np.ndarray) -> float:
    """Spearman correlation of layer index with the median beta* (infinity ranks last);
    NaN when every layer has the same median."""
    med = _ranked(median_beta(beta))
    if np.ptp(med) == 0:
        return float("nan")
    return float(spearmanr(np.arange(1, len(med) + 1), med).statistic)


def claims(fit: LayerFit) -> list[Claim]:
    """The verdicts of chapter 4 (hidden layers only); intervals bootstrap the networks."""
    hid = fit.hidden
    n = fit.i_xt.shape[0]
    over = f"bootstrap over {n} networks"
    rows = []
    for values, statement, statistic, src in (
            (fit.distance, "Converged hidden layers lie on or very close to the IB bound.",
             "largest mean excess I(X;T) over the IB curve at equal I(T;Y), over hidden "
             "layers (bits)", "abstract (iii) and Fig. 6"),
            (fit.encoder_kl, "The hidden layers satisfy the IB self-consistent equations.",
             "largest mean KL of a hidden layer's encoder to one step of the IB equations "
             "at its beta* (bits)", "abstract (iii) and Eq. 9")):
        v = values[:, hid]
        rows.append(Claim.test(f"{SOURCE}, {src}", statement, statistic, largest_mean(v),
                               "<=", NEAR, interval=stats.bootstrap(largest_mean, v),
                               over=over))
    beta = fit.beta[:, hid]
    med = median_beta(beta)
    best = stats.best_spearman(np.arange(1, len(med) + 1), _ranked(med))
    untestable = None
    if not np.isfinite(best):
        untestable = "every hidden layer has the same median beta*"
    elif best > RHO:
        untestable = (f"{int(np.isinf(med).sum())} of {len(med)} hidden layers have median "
                      f"beta* = infinity (ties): the best correlation these ties allow is "
                      f"{best:.2f}")
    rows.append(Claim.test(
        f"{SOURCE}, Fig. 6 and Eq. 12", "Deeper layers sit at smaller beta.",
        "Spearman correlation of layer index with median beta*", beta_spearman(beta),
        "<=", RHO, interval=stats.bootstrap(beta_spearman, beta), over=over,
        untestable=untestable))
    return rows
