"""The statistics behind every verdict: one compression criterion, bootstrap intervals over
members, and rank correlations that know when ties make them untestable.

Every chapter judges compression the same way (:func:`relative_fall`): the fall of the
member-averaged I(X;T) from its peak to the last record, as a share of the peak, where
the peak must come *after* the start — fitting, then compression. A layer whose curve is
highest at initialisation (a ceiling, or a curve that only declines) has no
fitting-then-compression to measure: its row is *not testable*. A layer compresses when
the fall reaches :data:`COMPRESSION` (5%) of its peak.

Intervals are percentile bootstraps over the ensemble's members (:func:`bootstrap`):
members are independent networks (own seed, split, minibatch order), so resampling them
with replacement and recomputing the statistic — member average included — gives the
sampling variability of the statistic over seeds. Below :data:`MIN_UNITS` members there
is no interval, and a row that needs one is *inconclusive*.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

COMPRESSION = 0.05
"""A layer compresses when its member-averaged I(X;T) falls by at least this share of its
peak, the peak after the start. The one compression threshold of the book."""

LEVEL = 0.95
"""Coverage of every interval in the book."""

N_BOOT = 1000
"""Bootstrap resamples per interval."""

MIN_UNITS = 5
"""Fewest independent units (seeds, members, teachers) an interval is drawn from.

With n units a resample repeats the smallest one n times with probability n^-n, which
exceeds the 2.5% tail for n <= 3: the percentile interval is then the units' range, and
the range of n draws covers the median of their distribution with probability
1 - 2^(1-n) only — 50% for 2 units, 75% for 3, where the book promises 95%. From 5 units
on, the interval is narrower than the range and covers a normal mean about 83% of the
time (90% with 10 units; 2000 simulated normal samples): still short of 95%, which is
why the book runs 10 or more where the machine allows, but no longer a range presented
as an interval."""


def bootstrap(statistic: Callable[..., float | np.ndarray], *arrays: np.ndarray,
              n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of ``statistic(*arrays)`` over members (axis 0).

    All arrays are resampled with the same member indices, so statistics that pair arrays
    member by member (I(X;T) with the silhouette of the same network) stay paired.

    Parameters
    ----------
    statistic : callable
        Maps the arrays (members first) to a float or an array of floats.
    arrays : ndarray
        Arrays with the members on axis 0, all of the same length.
    n_boot : int
        Number of resamples.
    level : float
        Coverage of the interval.
    seed : int
        Seed of the resampling: the same inputs give the same interval.

    Returns
    -------
    low, high : ndarray (0-d for a scalar statistic)
        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled
        statistic, ignoring resamples where it is NaN; NaN when all are, or when there
        are fewer than :data:`MIN_UNITS` members (see there).

    References
    ----------
    Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13.
    """
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays must share their first (member) axis, got lengths "
                         f"{[len(a) for a in arrays]}")
    shape = np.shape(statistic(*arrays))
    if n < MIN_UNITS:
        nan = np.full(shape, np.nan)
        return nan, nan
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, *shape))
    for b in range(n_boot):
        pick = rng.integers(0, n, n)
        draws[b] = statistic(*(a[pick] for a in arrays))
    tail = (1.0 - level) / 2.0
    with np.errstate(all="ignore"):
        if np.isnan(draws).all(axis=0).any():
            low = np.full(shape, np.nan)
            high = np.full(shape, np.nan)
            ok = ~np.isnan(draws).all(axis=0)
            if ok.any():
                low[ok] = np.nanquantile(draws[:, ok], tail, axis=0)
                high[ok] = np.nanquantile(draws[:, ok], 1.0 - tail, axis=0)
            return low, high
        return np.nanquantile(draws, tail, axis=0), np.nanquantile(draws, 1.0 - tail, axis=0)


@dataclass(frozen=True)
class Fall:
    """The compression criterion of every layer of a run (arrays of shape (layers,)).

    Attributes
    ----------
    fall : ndarray
        Fall of the member-averaged I(X;T) from its peak to the last record, share of the
        peak (0 for a layer whose peak is not positive).
    peak : ndarray of int
        Record index of the peak (ties: the first).
    top : ndarray
        The peak value (bits).
    """

    fall: np.ndarray
    peak: np.ndarray
    top: np.ndarray

    @property
    def at_start(self) -> np.ndarray:
        """Layers whose I(X;T) is highest at initialisation: no fitting to compress after."""
        return self.peak == 0


def relative_fall(i_xt: np.ndarray) -> Fall:
    """The compression criterion of every layer from I(X;T) of shape (members, records, layers).

    The member average is rounded to 1e-9 bits before the peak is located, so a curve
    that is flat at a ceiling (12 bits) has its peak at the first record, not at a
    rounding-error bump later on.
    """
    mean = np.round(np.nanmean(i_xt, axis=0), 9)
    peak = mean.argmax(axis=0)
    top = mean.max(axis=0)
    drop = top - mean[-1]
    fall = np.where(top > 0, drop / np.where(top > 0, top, 1.0), 0.0)
    return Fall(fall=fall, peak=peak, top=top)


def layer_fall(i_xt: np.ndarray, layer: int) -> float:
    """:func:`relative_fall` of one layer (a helper for bootstrapping)."""
    return float(relative_fall(i_xt[..., layer:layer + 1]).fall[0])


def largest_fall(i_xt: np.ndarray) -> float:
    """The largest fall over the layers whose peak comes after the start (NaN if none)."""
    f = relative_fall(i_xt)
    valid = ~f.at_start
    return float(f.fall[valid].max()) if valid.any() else float("nan")


def best_spearman(n_x: np.ndarray, y: np.ndarray, negative: bool = True) -> float:
    """The most extreme Spearman correlation that ``y``'s ties allow against distinct ``n_x``.

    Ties in ``y`` (several layers at the cap of a grid) keep equal average ranks whatever
    the data do; ordering the distinct values perfectly gives the correlation the
    statistic can reach at best. A threshold beyond it can never be met: the row is not
    testable.
    """
    x = np.sort(np.asarray(n_x, dtype=float))
    ys = np.sort(np.asarray(y, dtype=float))
    if negative:
        ys = ys[::-1]
    if np.ptp(ys) == 0 or np.ptp(x) == 0:
        return float("nan")
    return float(spearmanr(x, ys).statistic)
