"""Chapter 2: the drift and diffusion phases of SGD (Shwartz-Ziv & Tishby 2017, Fig. 4).

The paper reports that, per layer, the norm of the mean of the minibatch gradients is
first much larger than the norm of their standard deviation (high signal-to-noise ratio,
the *drift* phase), and that the two cross at about 350 epochs, after which noise
dominates (the *diffusion* phase) — and that this crossing is where compression starts.

The book's statistic (:func:`gradient_curves`, :func:`transition_epochs`): per layer, the
member-averaged norms of the mean and of the standard deviation of the minibatch weight
gradients of a recorded epoch; the SNR is their ratio, smoothed as a running mean of its
logarithm over 9 log-spaced records; the drift phase is where the smoothed SNR is above
1, and the *transition* is the first recorded epoch from which it stays below 1 to the
end. :func:`phases` also reports where a layer first drops below 1 and where it returns
to drift, so that a layer that ends training in drift is shown, not dropped.

The authors' code plots another statistic (``idnns/plots/plot_gradients.py`` of the
IDNNs repository): for layer l the *cumulative sums over layers 1..l* of the per-layer
norms, the mean-norm sum against the square root of the std-norm sum
(:func:`idnns_curves`), without normalisation by the weights.

The gradient statistics come from the chapter-1 runs (:mod:`information_plane` records
them at every recorded epoch), so this chapter reuses their cache.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..cache import Result
from ..claims import Claim
from .. import stats
from .information_plane import compressing

SOURCE = "Shwartz-Ziv & Tishby 2017"
PAPER_TRANSITION_EPOCH = 350
"""The transition epoch of SZT Fig. 4 ("at ~350 epochs")."""
WINDOW = 9
"""Records in the running mean of log SNR (the records are log-spaced)."""
COMPRESSING_BITS = 0.1
"""Kept for old callers; the book's criterion is :data:`analysis.stats.COMPRESSION`."""
MATCH_OCTAVES = 1.0
"""A transition and a compression onset coincide when they lie within a factor of 2."""

__all__ = ["gradient_curves", "member_curves", "smooth_log", "transition_epochs", "phases",
           "Phases", "idnns_curves", "compression_onsets", "compressing_layers",
           "transition_share", "median_transition_octaves", "transition_near_share",
           "onset_match_share", "claims"]


def member_curves(result: Result, normalise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every member's gradient-mean and gradient-std norms, shape (members, epochs, layers).

    ``normalise`` divides both by the layer's weight norm (as the caption of SZT Fig. 4
    says; the ratio of the two, the SNR, does not change). NaN at epoch 0.
    """
    mean, std = result["grad_mean"], result["grad_std"]
    if normalise:
        mean, std = mean / result["weight_norm"], std / result["weight_norm"]
    return mean, std


def _average(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # epoch 0 is NaN for every member
        return np.nanmean(mean, axis=0), np.nanmean(std, axis=0)


def gradient_curves(result: Result, normalise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Member-averaged norms of the mean and of the std of the minibatch gradients.

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
    return _average(*member_curves(result, normalise))


def smooth_log(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Centred moving average of log(values) over ``window`` records, per column.

    The recorded epochs are log-spaced, so a window of records is a window in log-epoch.
    The ends are padded with the first and last values.
    """
    logv = np.log(values)
    kernel = np.ones(window) / window
    pad = window // 2
    padded = np.pad(logv, ((pad, pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], kernel, mode="valid")
                     for j in range(logv.shape[1])], axis=1)


def smoothed_log_snr(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                     window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The recorded epochs after 0 and the smoothed log(mean / std) there, (E',), (E', layers)."""
    keep = epochs > 0
    return epochs[keep], smooth_log(mean[keep] / std[keep], window)


def transition_epochs(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                      window: int = WINDOW) -> np.ndarray:
    """Per layer, the first epoch after which the smoothed SNR mean/std stays below 1.

    The drift phase is where the smoothed log SNR is positive; the transition is the first
    recorded epoch from which it stays negative to the end. NaN for a layer that has no
    drift phase (SNR below 1 from the start) or that ends training in drift (see
    :func:`phases` for where such a layer left and re-entered drift).

    Parameters
    ----------
    epochs : ndarray, shape (E,)
    mean, std : ndarray, shape (E, layers)
        Gradient-mean and gradient-std norms, e.g. from :func:`gradient_curves`
        (epoch 0, which has no gradients, is skipped).
    """
    return phases(epochs, mean, std, window).transition


@dataclass(frozen=True)
class Phases:
    """Drift and diffusion of every layer over a whole run (arrays of shape (layers,)).

    Attributes
    ----------
    first_diffusion : ndarray
        First recorded epoch, after a drift record, where the smoothed SNR is below 1
        (NaN: never in drift, or never below 1 after it).
    transition : ndarray
        First recorded epoch from which the smoothed SNR stays below 1 to the end (NaN:
        no drift phase, or drift at the end).
    reentry : ndarray
        First recorded epoch after ``first_diffusion`` where the smoothed SNR is above 1
        again (NaN: never returns to drift).
    final_snr : ndarray
        The smoothed SNR at the last record.
    drift_share_late : ndarray
        Share of the records after ``first_diffusion`` where the smoothed SNR is above 1.
    """

    first_diffusion: np.ndarray
    transition: np.ndarray
    reentry: np.ndarray
    final_snr: np.ndarray
    drift_share_late: np.ndarray

    @property
    def ends_in_drift(self) -> np.ndarray:
        return self.final_snr > 1.0


def phases(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
           window: int = WINDOW) -> Phases:
    """The drift/diffusion history of every layer (see :class:`Phases`)."""
    ep, log_snr = smoothed_log_snr(epochs, mean, std, window)
    n_layers = log_snr.shape[1]
    first, trans, back, share = (np.full(n_layers, np.nan) for _ in range(4))
    for layer in range(n_layers):
        above = log_snr[:, layer] > 0
        if not above.any():
            continue
        start = int(np.argmax(above))
        below = np.flatnonzero(~above[start:]) + start
        if len(below) == 0:
            continue
        k = int(below[0])
        first[layer] = ep[k]
        again = np.flatnonzero(above[k:]) + k
        back[layer] = ep[again[0]] if len(again) else np.nan
        share[layer] = float(above[k:].mean())
        if not above[-1]:
            trans[layer] = ep[np.flatnonzero(above)[-1] + 1]
    return Phases(first, trans, back, np.exp(log_snr[-1]), share)


def idnns_curves(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The statistic the authors' code plots for SZT Fig. 4 (``plot_gradients.py``).

    For layer l, with per-layer norms m_k = |mean gradient| and s_k = |std of the
    gradients| (population std over the batches: the square root of the trace of their
    covariance), the code sums over the layers up to l and plots

        M_l = sum_{k <= l} m_k   against   sqrt(S_l),  S_l = sum_{k <= l} s_k,

    with the SNR M_l^2 / S_l: the curves cross where that SNR is 1. It does not divide by
    the weight norms. Note the mixed units: the square root of a sum of norms against a
    sum of norms, so the crossing moves if the loss is rescaled.

    Parameters
    ----------
    mean, std : ndarray, shape (..., layers)
        Per-layer norms (e.g. member-averaged, unnormalised: :func:`gradient_curves`).

    Returns
    -------
    cum_mean, sqrt_cum_std : ndarray, same shape
        The two curves of each layer; pass them to :func:`transition_epochs` or
        :func:`phases` to locate their crossing.

    References
    ----------
    Shwartz-Ziv & Tishby, IDNNs repository, ``idnns/plots/plot_gradients.py``,
    ``plot_gradients``: ``y_var = np.sum(cov_traces_all, axis=0)``,
    ``y_mean = np.sum(means_all, axis=0)``, plotted as ``np.sqrt(y_var)`` and ``y_mean``.
    """
    return np.cumsum(mean, axis=-1), np.sqrt(np.cumsum(std, axis=-1))


def compressing_layers(i_xt: np.ndarray) -> np.ndarray:
    """Layers that compress by the book's criterion (:func:`analysis.stats.relative_fall`
    at least :data:`analysis.stats.COMPRESSION`, the peak after the start, the start below
    the 12-bit ceiling): :func:`information_plane.compressing`."""
    return compressing(i_xt)


def compression_onsets(result: Result | np.ndarray, epochs: np.ndarray | None = None
                       ) -> np.ndarray:
    """Per layer, the epoch where the member-averaged I(X;T) peaks, for compressing layers.

    NaN for layers that do not compress by the book's criterion (:func:`compressing_layers`):
    a fall under 5% of the peak, or a peak at initialisation (a ceiling, not a compression
    that starts). Pass a run, or ``i_xt`` (members, epochs, layers) and ``epochs``.
    """
    if isinstance(result, Result):
        i_xt, epochs = result["i_xt"], result["epochs"]
    else:
        i_xt = result
    peak = stats.relative_fall(i_xt).peak
    onset = np.asarray(epochs)[peak].astype(float)
    onset[~compressing_layers(i_xt)] = np.nan
    return onset


def transition_share(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                     window: int = WINDOW) -> float:
    """Share of the layers (columns) with a drift-to-diffusion transition.

    ``mean`` and ``std`` are per-member norms (members, epochs, layers), averaged here,
    so that :func:`analysis.stats.bootstrap` can resample the members.
    """
    m, s = _average(mean, std)
    return float(np.isfinite(transition_epochs(epochs, m, s, window)).mean())


def _transitions(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray, window: int,
                 cumulative: bool) -> np.ndarray:
    m, s = _average(mean, std)
    if cumulative:
        m, s = idnns_curves(m, s)
    return transition_epochs(epochs, m, s, window)


def median_transition_octaves(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                              window: int = WINDOW, cumulative: bool = False,
                              target: float = PAPER_TRANSITION_EPOCH) -> float:
    """|log2(median transition epoch / target)| over the layers that have a transition.

    ``mean``, ``std``: per-member norms (members, epochs, layers). ``cumulative`` uses
    the authors' code's statistic (:func:`idnns_curves`) instead of the per-layer SNR.
    NaN when no layer has a transition (layers without one are left out: for a verdict use
    :func:`transition_near_share`, which counts them).
    """
    trans = _transitions(epochs, mean, std, window, cumulative)
    trans = trans[np.isfinite(trans)]
    if len(trans) == 0:
        return float("nan")
    return float(abs(np.log2(np.median(trans) / target)))


def transition_near_share(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                          window: int = WINDOW, cumulative: bool = False,
                          target: float = PAPER_TRANSITION_EPOCH) -> float:
    """Share of the layers whose transition lies within a factor of 2 of ``target``.

    A layer without a transition (no drift phase, or drift at the end) counts as a miss.
    ``mean``, ``std``: per-member norms (members, epochs, layers); ``cumulative`` uses the
    authors' code's statistic (:func:`idnns_curves`).
    """
    trans = _transitions(epochs, mean, std, window, cumulative)
    with np.errstate(invalid="ignore"):
        near = np.abs(np.log2(trans / target)) <= MATCH_OCTAVES
    return float(np.mean(near))


def onset_match_share(epochs: np.ndarray, mean: np.ndarray, std: np.ndarray,
                      i_xt: np.ndarray, window: int = WINDOW) -> float:
    """Share of the compressing layers whose transition lies within a factor of 2 of the
    start of their compression (the I(X;T) peak).

    A compressing layer without a transition (it ends training in drift) counts as a
    mismatch. NaN when no layer compresses. All arrays have the members first.
    """
    m, s = _average(mean, std)
    trans = transition_epochs(epochs, m, s, window)
    onset = compression_onsets(i_xt, epochs)
    comp = np.isfinite(onset)
    if not comp.any():
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        octaves = np.abs(np.log2(trans[comp] / onset[comp]))
    return float(np.mean(np.isfinite(octaves) & (octaves <= MATCH_OCTAVES)))


def _over(result: Result) -> str:
    return f"bootstrap over {result['i_xt'].shape[0]} members"


def claims(result: Result, window: int = WINDOW) -> list[Claim]:
    """The verdicts of chapter 2 (hidden layers only; the softmax output is left out)."""
    epochs = result["epochs"]
    hidden = slice(0, result["i_xt"].shape[2] - 1)
    mean, std = member_curves(result, normalise=True)
    mean, std = mean[..., hidden], std[..., hidden]
    raw_mean, raw_std = member_curves(result, normalise=False)
    raw_mean, raw_std = raw_mean[..., hidden], raw_std[..., hidden]
    i_xt = result["i_xt"][..., hidden]
    over = _over(result)

    share = transition_share(epochs, mean, std, window)
    near = transition_near_share(epochs, mean, std, window)
    near_code = transition_near_share(epochs, raw_mean, raw_std, window, cumulative=True)
    lowest = PAPER_TRANSITION_EPOCH / 2 ** MATCH_OCTAVES
    short = (f"the run ends at epoch {int(epochs[-1])}, before epoch {lowest:g} (a factor "
             "of 2 before 350)" if epochs[-1] < lowest else None)
    n_comp = int(compressing_layers(i_xt).sum())
    match = onset_match_share(epochs, mean, std, i_xt, window)
    return [
        Claim.test(f"{SOURCE}, Fig. 4",
                   "Every hidden layer passes from a drift (SNR > 1) to a diffusion phase.",
                   "share of hidden layers whose smoothed SNR falls below 1 and stays there",
                   share, ">=", 1.0,
                   stats.bootstrap(lambda m, s: transition_share(epochs, m, s, window),
                                   mean, std), over=over),
        Claim.test(f"{SOURCE}, Fig. 4", "The transition happens at about 350 epochs.",
                   "share of hidden layers whose transition (per-layer SNR) lies within a "
                   "factor of 2 of epoch 350",
                   near, ">", 0.5,
                   stats.bootstrap(lambda m, s: transition_near_share(epochs, m, s, window),
                                   mean, std), over=over, untestable=short),
        Claim.test(f"{SOURCE}, Fig. 4 (statistic of their code)",
                   "The transition happens at about 350 epochs.",
                   "share of hidden layers whose transition (cumulative SNR of "
                   "plot_gradients.py) lies within a factor of 2 of epoch 350",
                   near_code, ">", 0.5,
                   stats.bootstrap(lambda m, s: transition_near_share(
                       epochs, m, s, window, cumulative=True), raw_mean, raw_std),
                   over=over, untestable=short),
        Claim.test(f"{SOURCE}, abstract (ii)",
                   "Compression starts when diffusion starts (within a factor of 2, in most "
                   "compressing layers).",
                   "share of compressing hidden layers whose transition is within a factor "
                   "of 2 of their I(X;T) peak",
                   match, ">", 0.5,
                   stats.bootstrap(lambda m, s, x: onset_match_share(epochs, m, s, x, window),
                                   mean, std, i_xt), over=over,
                   untestable=None if n_comp else "no hidden layer compresses (fall of 5% "
                   "of a peak after the start)"),
    ]
