"""Chapter 2: the drift and diffusion phases of SGD (Shwartz-Ziv & Tishby 2017, Fig. 4).

The paper reports that, per layer, the norm of the mean of the minibatch gradients is
first much larger than the norm of their standard deviation (high signal-to-noise ratio,
the *drift* phase), and that the two cross at about 350 epochs, after which noise
dominates (the *diffusion* phase) — and that this crossing is where compression starts.

The gradient statistics come from the chapter-1 runs (:mod:`information_plane` records
them at every recorded epoch), so this chapter reuses their cache.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..cache import Result
from ..claims import Claim
from .information_plane import compression

SOURCE = "Shwartz-Ziv & Tishby 2017"
PAPER_TRANSITION_EPOCH = 350
COMPRESSING_BITS = 0.1


def gradient_curves(result: Result, normalise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Seed-averaged norms of the mean and of the std of the minibatch gradients.

    Parameters
    ----------
    result : Result
        A run of :func:`analysis.experiments.information_plane.run`.
    normalise : bool
        Divide by the layer's weight norm (as the paper's Fig. 4) or not (as its code).

    Returns
    -------
    mean, std : ndarray, shape (epochs, layers)
        NaN at epoch 0.
    """
    mean, std = result["grad_mean"], result["grad_std"]
    if normalise:
        mean, std = mean / result["weight_norm"], std / result["weight_norm"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # epoch 0 is NaN for every member
        return np.nanmean(mean, axis=0), np.nanmean(std, axis=0)


def smooth_log(values: np.ndarray, window: int = 9) -> np.ndarray:
    """Centred moving average of log(values) over ``window`` records, per column.

    The recorded epochs are log-spaced, so a window of records is a window in log-epoch.
    """
    logv = np.log(values)
    kernel = np.ones(window) / window
    pad = window // 2
    padded = np.pad(logv, ((pad, pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], kernel, mode="valid")
                     for j in range(logv.shape[1])], axis=1)


def transition_epochs(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                      window: int = 9) -> np.ndarray:
    """Per layer, the first epoch after which the smoothed SNR mean/std stays below 1.

    The drift phase is where the smoothed log SNR is positive; the transition is the first
    recorded epoch from which it stays negative to the end. NaN for a layer that has no
    drift phase (SNR below 1 from the start) or never leaves it.

    Parameters
    ----------
    epochs : ndarray, shape (E,)
    mean, std : ndarray, shape (E, layers)
        Gradient-mean and gradient-std norms, e.g. from :func:`gradient_curves`
        (epoch 0, which has no gradients, is skipped).
    """
    keep = epochs > 0
    log_snr = smooth_log(mean[keep] / std[keep], window)
    ep = epochs[keep]
    out = np.full(log_snr.shape[1], np.nan)
    for layer in range(log_snr.shape[1]):
        above = log_snr[:, layer] > 0
        if not above.any() or above[-1]:
            continue
        last_above = np.flatnonzero(above)[-1]
        out[layer] = ep[last_above + 1]
    return out


def compression_onsets(result: Result) -> np.ndarray:
    """Per layer, the epoch where the seed-averaged I(X;T) peaks, for compressing layers.

    NaN for layers whose I(X;T) falls by less than 0.1 bits after its peak.
    """
    drop, peak = compression(result["i_xt"])
    onset = result["epochs"][peak].astype(float)
    onset[drop < COMPRESSING_BITS] = np.nan
    return onset


def claims(result: Result) -> list[Claim]:
    """The verdicts of chapter 2 (hidden layers only)."""
    mean, std = gradient_curves(result, normalise=True)
    hidden = slice(0, mean.shape[1] - 1)
    trans = transition_epochs(result["epochs"], mean, std)[hidden]
    onset = compression_onsets(result)[hidden]
    both = np.isfinite(trans) & np.isfinite(onset)
    with np.errstate(divide="ignore"):    # an onset at epoch 0 is no match for any transition
        ratio = np.abs(np.log2(trans[both] / onset[both]))
    have = np.isfinite(trans)
    median = float(np.median(trans[have])) if have.any() else float("nan")
    return [
        Claim.test(f"{SOURCE}, Fig. 4",
                   "Every hidden layer passes from a drift (SNR > 1) to a diffusion phase.",
                   "share of hidden layers whose smoothed SNR crosses below 1 and stays",
                   float(have.mean()), ">=", 1.0),
        Claim.test(f"{SOURCE}, Fig. 4", "The transition happens at about 350 epochs.",
                   "|log2(median transition epoch / 350)|",
                   abs(np.log2(median / PAPER_TRANSITION_EPOCH)), "<=", 1.0),
        Claim.test(f"{SOURCE}, section 4",
                   "Compression starts when diffusion starts (within a factor of 2, in most layers).",
                   "share of compressing hidden layers with |log2(transition / compression "
                   "onset)| <= 1",
                   float(np.mean(ratio <= 1.0)) if both.any() else float("nan"), ">", 0.5),
    ]
