"""Chapter 9: is compression caused by the noise of stochastic gradient descent?

Saxe et al. (2018, section 5) train the 12-bit network on the full batch at every step
(no minibatch noise) and with minibatches, and find the same compression (tanh) or the
same absence of it (ReLU), so gradient noise is not what compresses. They also show that
the drift-to-diffusion transition of the gradient signal-to-noise ratio (chapter 2)
happens in networks that never compress: ReLU networks and a linear 1-1-1 chain.

Two noiseless optimisers are compared with the minibatch runs of chapter 6 (Adam, batch
512), all through :mod:`estimators`:

- **full-batch Adam** (:func:`full_batch`): the same optimiser on the whole training set.
  Adam moves each weight by about ``lr`` per update whatever the gradient's scale, so with
  one update per epoch instead of ceil(n_train / 512) the learning rate is multiplied by
  that number: both travel about as far per epoch. Only the minibatch noise differs.
- **gradient descent** (:func:`gradient_descent`): plain full-batch GD,
  W <- W - lr grad L, the optimiser Saxe et al. name.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import stats
from ..cache import Result
from ..claims import Claim
from ..data import load_spherical
from ..train import train_size
from . import gradient_phases as gp
from . import information_plane as ip
from .activations import AT_START, FALL, compression_claim
from .estimators import COMPRESSION

SOURCE = "Saxe et al. 2018"
SNR_SHARE = 1.0
"""Threshold of the share of hidden layers that pass from drift to diffusion: every one
(the book's one threshold for this statistic, as in chapter 2)."""
PAIRED = 0.5
"""Full-batch training compresses "about as much" as minibatch training when its largest
fall is at least this share of the minibatch one."""


def full_batch(network: ip.Config) -> ip.Config:
    """Full-batch Adam: the same configuration on the whole training set at every step, the
    learning rate scaled by the number of minibatches per epoch (see the module docstring)."""
    if network.batch_size is None:
        return network
    n_train = train_size(load_spherical(network.data).n_samples, network.train_fraction)
    steps = math.ceil(n_train / network.batch_size)
    return replace(network, batch_size=None, lr=network.lr * steps)


def gradient_descent(network: ip.Config, lr: float) -> ip.Config:
    """Plain full-batch gradient descent with learning rate ``lr``."""
    return replace(network, optimizer="sgd", batch_size=None, lr=lr)


def snr_transition_share(result: Result, layers: slice = slice(None)) -> float:
    """Share of the chosen layers whose smoothed gradient SNR crosses below 1 and stays.

    ``result`` holds ``epochs``, ``grad_mean``, ``grad_std`` and ``weight_norm`` (an
    :func:`estimators.run` or :func:`linear_networks.run` result); the curves and the
    transition are those of chapter 2 (:func:`gradient_phases.gradient_curves`,
    :func:`gradient_phases.transition_epochs`).
    """
    mean, std = gp.gradient_curves(result)
    return float(np.isfinite(gp.transition_epochs(result["epochs"], mean, std)[layers]).mean())


def _share_statistic(epochs: np.ndarray, layers: slice):
    def share(grad_mean: np.ndarray, grad_std: np.ndarray, weight_norm: np.ndarray) -> float:
        return snr_transition_share(
            Result("resample", {}, {"epochs": epochs, "grad_mean": grad_mean,
                                    "grad_std": grad_std, "weight_norm": weight_norm}), layers)
    return share


def snr_claim(label: str, result: Result, layers: slice) -> Claim:
    """Every hidden layer of ``result`` passes from drift to diffusion (share >= 1), with a
    bootstrap over members."""
    share = _share_statistic(result["epochs"], layers)
    arrays = (result["grad_mean"], result["grad_std"], result["weight_norm"])
    low, high = stats.bootstrap(share, *arrays)
    return Claim.test(f"{SOURCE}, Fig. 8",
                      f"{label}: every hidden layer's gradient SNR passes from drift to "
                      "diffusion ...",
                      "share of hidden layers whose smoothed SNR falls below 1 and stays",
                      share(*arrays), ">=", SNR_SHARE, interval=(low, high),
                      over=f"bootstrap over {len(arrays[0])} members")


def fall_ratio(noiseless: np.ndarray, minibatch: np.ndarray) -> float:
    """Largest hidden fall of the noiseless run over that of the minibatch run (NaN when the
    minibatch run has no layer peaking after the start, or does not fall)."""
    a = stats.largest_fall(noiseless[..., :-1])
    b = stats.largest_fall(minibatch[..., :-1])
    return a / b if b > 0 else float("nan")


def ratio_claim(label: str, noiseless: Result, minibatch: Result, scheme: str) -> Claim:
    """tanh compresses about as much without minibatch noise: the ratio of the largest
    falls, with a bootstrap over member pairs (same seeds, same training splits)."""
    a, b = noiseless[f"i_xt_{scheme}"], minibatch[f"i_xt_{scheme}"]
    n = min(len(a), len(b))
    low, high = stats.bootstrap(fall_ratio, a[:n], b[:n])
    value = fall_ratio(a[:n], b[:n])
    return Claim.test(
        f"{SOURCE}, section 5", f"tanh: {label} compresses about as much as minibatch Adam.",
        f"largest fall of hidden I(X;T), {label} / minibatch Adam", value, ">=", PAIRED,
        interval=(low, high), over=f"bootstrap over {n} member pairs",
        untestable=None if math.isfinite(value) else AT_START)


ADAM, GD = "full-batch Adam", "gradient descent"


def claims(sgd: dict[str, Result], noiseless: dict[str, dict[str, Result]],
           gradients: dict[str, tuple[Result, np.ndarray, slice]]) -> list[Claim]:
    """The verdicts of chapter 9.

    Parameters
    ----------
    sgd : dict of activation -> :func:`estimators.run` result
        The minibatch (Adam) runs, ``"tanh"`` and ``"relu"``.
    noiseless : dict of optimiser label -> dict of activation -> result
        The same networks trained without minibatch noise (:data:`ADAM`, :data:`GD`); the
        ratio of falls is judged for full-batch Adam only, the one that differs from the
        minibatch runs in nothing but the noise.
    gradients : dict of label -> (result, i_xt, layers)
        Networks whose gradient SNR is examined (see :func:`snr_claim`), the I(X;T)
        (members, epochs, layers) that judges their compression (for ReLU, range bins)
        and their hidden layers. Labels ``"tanh"`` (expected to compress), ``"ReLU"`` and
        ``"linear"`` (not).
    """
    rows = []
    for label, runs in noiseless.items():
        if "tanh" in runs:
            rows.append(compression_claim(
                f"{SOURCE}, section 5", f"tanh: {label} (no minibatch noise) compresses.",
                runs["tanh"]["i_xt_original"], True))
            if "tanh" in sgd and label == ADAM:    # the same optimiser, with and without
                rows.append(ratio_claim(label, runs["tanh"], sgd["tanh"], "original"))
        if "relu" in runs:
            rows.append(compression_claim(
                f"{SOURCE}, section 5", f"ReLU: {label} does not compress either (range bins).",
                runs["relu"]["i_xt_range"], False))
    for label, (result, i_xt, layers) in gradients.items():
        rows.append(snr_claim(label, result, layers))
        rows.append(compression_claim(
            f"{SOURCE}, Fig. 8",
            f"{label}: ... " + ("and the network compresses." if label == "tanh"
                                else "although the network does not compress."),
            i_xt, label == "tanh", FALL, layers))
    return rows
