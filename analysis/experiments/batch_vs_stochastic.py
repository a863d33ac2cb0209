"""Chapter 9: is compression caused by the noise of stochastic gradient descent?

Saxe et al. (2018, section 5) train the 12-bit network with full-batch gradient descent
(GD, no minibatch noise) and with SGD and find the same compression (tanh) or the same
absence of it (ReLU), so gradient noise is not what compresses. They also show that the
drift-to-diffusion transition of the gradient signal-to-noise ratio (chapter 2) happens
in networks that never compress: ReLU networks and a linear 1-1-1 chain.

The GD runs reuse :mod:`estimators` with ``batch_size=None``. Adam moves each weight by
about ``lr`` per update whatever the gradient's scale, so with one update per epoch
instead of ceil(n_train / 512) the learning rate is multiplied by that number
(:func:`full_batch`): both optimisers then travel about as far per epoch.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..cache import Result
from ..claims import Claim
from ..data import load_spherical
from ..train import train_size
from . import gradient_phases as gp
from . import information_plane as ip
from .estimators import COMPRESSION, relative_compression

SOURCE = "Saxe et al. 2018"


def full_batch(network: ip.Config) -> ip.Config:
    """The full-batch version of a minibatch configuration, with the learning rate scaled
    by the number of minibatches per epoch (see the module docstring)."""
    if network.batch_size is None:
        return network
    n_train = train_size(load_spherical(network.data).n_samples, network.train_fraction)
    steps = math.ceil(n_train / network.batch_size)
    return replace(network, batch_size=None, lr=network.lr * steps)


def snr_transition_share(result: Result, layers: slice = slice(None)) -> float:
    """Share of the chosen layers whose smoothed gradient SNR crosses below 1 and stays.

    ``result`` holds ``epochs``, ``grad_mean``, ``grad_std`` and ``weight_norm`` (an
    :func:`information_plane.run` or :func:`linear_networks.run` result); the curves and
    the transition are those of chapter 2 (:func:`gradient_phases.transition_epochs`).
    """
    mean, std = gp.gradient_curves(result)
    return float(np.isfinite(gp.transition_epochs(result["epochs"], mean, std)[layers]).mean())


def claims(sgd: dict[str, Result], gd: dict[str, Result],
           gradients: dict[str, tuple[Result, np.ndarray, slice]]) -> list[Claim]:
    """The verdicts of chapter 9.

    Parameters
    ----------
    sgd, gd : dict of activation -> :func:`estimators.run` result
        The same networks trained with minibatches and with the full batch
        (``"tanh"`` and ``"relu"``).
    gradients : dict of label -> (result, i_xt, layers)
        Networks whose gradient SNR is examined (see :func:`snr_transition_share`), the
        I(X;T) (members, epochs, layers) that judges their compression (for ReLU, range
        binning: the original bins saturate above 1) and the layers to look at. Labels
        ``"tanh"`` (expected to compress), ``"relu"`` and ``"linear"`` (not).
    """
    def compression(result: Result, scheme: str) -> float:
        return float(relative_compression(result[f"i_xt_{scheme}"][..., :-1]).max())

    ratio = compression(gd["tanh"], "original") / max(compression(sgd["tanh"], "original"),
                                                     1e-12)
    rows = [
        Claim.test(f"{SOURCE}, Fig. 7", "tanh: full-batch GD compresses about as much as SGD.",
                   "largest relative fall of hidden I(X;T) (original bins), GD / SGD",
                   ratio, ">=", 0.5),
        Claim.test(f"{SOURCE}, Fig. 7", "ReLU: full-batch GD does not compress either.",
                   "largest fall of mean hidden I(X;T) after its peak, share of the peak "
                   "(range bins)", compression(gd["relu"], "range"), "<", COMPRESSION),
    ]
    for label, (result, i_xt, layers) in gradients.items():
        share = snr_transition_share(result, layers)
        fall = float(relative_compression(i_xt[..., layers]).max())
        rows += [
            Claim.test(f"{SOURCE}, Fig. 8", f"{label}: the gradient SNR passes from drift to "
                       "diffusion ...", "share of layers whose smoothed SNR crosses below 1 "
                       "and stays", share, ">=", 0.5),
            Claim.test(f"{SOURCE}, Fig. 8", f"{label}: ... "
                       + ("and the network compresses." if label == "tanh"
                          else "although the network does not compress."),
                       "largest fall of mean I(X;T) after its peak, share of the peak",
                       fall, ">=" if label == "tanh" else "<", COMPRESSION),
        ]
    return rows
