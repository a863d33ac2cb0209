"""Chapter 4: the converged layers against the information-bottleneck bound (SZT 2017, Fig. 6).

The IB curve of the 12-bit task's p(x, y) is computed by the iterative IB algorithm with
deterministic annealing (:mod:`analysis.info.ib`). For every converged layer of every
network of a chapter-1 run: its point in the plane, its distance below the curve, and
its best beta (SZT Eq. 12) from the layer's own binned encoder and decoder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from ..cache import Result
from ..claims import Claim
from ..data import load_spherical
from ..info.binning import original_bins, row_ids
from ..info.ib import IBCurve, ib_curve, layer_beta

SOURCE = "Shwartz-Ziv & Tishby 2017"
DEFAULT_BETAS = np.geomspace(0.05, 2000.0, 300)


@dataclass(frozen=True)
class LayerFit:
    """Converged layers against the IB curve; arrays have shape (members, layers)."""

    curve: IBCurve
    i_xt: np.ndarray
    i_ty: np.ndarray
    distance: np.ndarray
    beta: np.ndarray


def cluster_ids(activations: np.ndarray, n_bins: int = 30) -> np.ndarray:
    """Per member, the id of every input's binned code; shape (members, n_samples)."""
    return row_ids(original_bins(n_bins).codes(torch.as_tensor(activations))).numpy()


def fit_layers(result: Result, betas: np.ndarray = DEFAULT_BETAS) -> LayerFit:
    """The IB curve of the run's task and every converged layer's distance and beta."""
    data = load_spherical(result.config["data"])
    n = data.n_samples
    p_x = np.full(n, 1.0 / n)
    curve = ib_curve(p_x, data.p_y_given_x, betas)
    i_xt, i_ty = result["i_xt"][:, -1], result["i_ty"][:, -1]
    n_layers = i_xt.shape[1]
    beta = np.empty_like(i_xt)
    for layer in range(n_layers):
        ids = cluster_ids(result[f"final_layer{layer + 1}"], result.config["n_bins"])
        for m, t in enumerate(ids):
            beta[m, layer] = layer_beta(p_x, data.p_y_given_x, t, betas)[0]
    distance = curve.value_at(i_xt) - i_ty
    return LayerFit(curve=curve, i_xt=i_xt, i_ty=i_ty, distance=distance, beta=beta)


def claims(fit: LayerFit) -> list[Claim]:
    """The verdicts of chapter 4 (hidden layers only)."""
    hidden = slice(0, fit.distance.shape[1] - 1)
    mean_distance = fit.distance[:, hidden].mean(axis=0)
    median_beta = np.median(fit.beta[:, hidden], axis=0)
    layers = np.arange(1, len(median_beta) + 1)
    rho = spearmanr(layers, np.log(median_beta)).statistic
    return [
        Claim.test(f"{SOURCE}, Fig. 6", "Converged hidden layers lie close to the IB bound.",
                   "largest mean distance below the IB curve over hidden layers (bits)",
                   float(mean_distance.max()), "<=", 0.1),
        Claim.test(f"{SOURCE}, Fig. 6 and Eq. 12", "Deeper layers sit at smaller beta.",
                   "Spearman correlation of layer index with median beta*",
                   float(rho) if np.isfinite(rho) else float("nan"), "<=", -0.8),
    ]
