"""Chapter 5: the effect of the training size (Shwartz-Ziv & Tishby 2017, Fig. 7).

The chapter-1 network is trained on fractions of the 12-bit task from 3% to 85%. The
paper reports that the converged layers' I(T;Y) rises with the training size, and that
with little data the compression phase lowers I(T;Y) — overfitting — while with much
data it does not. Each size is one ensemble run of :mod:`information_plane`.

Compression is judged as everywhere in the book (:func:`analysis.stats.relative_fall`):
the member-averaged I(X;T) falls from a peak after the start by at least
:data:`analysis.stats.COMPRESSION` of the peak. The compression phase runs from that
peak to the end; how much I(T;Y) falls within it is the overfitting statistic.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import spearmanr

from .. import stats
from ..cache import Result
from ..claims import Claim
from . import information_plane as ip

SOURCE = "Shwartz-Ziv & Tishby 2017"
SMALL, LARGE = 0.05, 0.85
DEEP_LAYERS = 2
RHO = 0.8
"""The rank correlation of training size with the deep layers' I(T;Y) that "rises" requires."""
LOSS = 0.02
"""Bits of I(T;Y) lost over the compression phase that count as overfitting (2% of I(X;Y))."""


def run_sizes(config: ip.Config, fractions: list[float], progress: bool = True
              ) -> dict[float, Result]:
    """One ensemble run per training fraction, through the cache of ``information_plane.run``."""
    missing = [f for f in (SMALL, LARGE) if f not in fractions]
    if missing:
        raise ValueError(f"train_fractions must include {SMALL} and {LARGE} for the verdicts; "
                         f"missing {missing}")
    return {f: ip.run(replace(config, train_fraction=f), progress=progress)
            for f in sorted(fractions)}


def deep_information(result: Result, deep: int = DEEP_LAYERS) -> np.ndarray:
    """Per member, the final I(T;Y) of the ``deep`` last hidden layers, averaged (bits)."""
    return result["i_ty"][:, -1, -1 - deep:-1].mean(axis=1)


def final_deep_information(result: Result, deep: int = DEEP_LAYERS) -> float:
    """Member-averaged final I(T;Y) of the ``deep`` last hidden layers (bits)."""
    return float(deep_information(result, deep).mean())


def size_spearman(values: np.ndarray, fractions: np.ndarray) -> float:
    """Spearman correlation of training size with the member mean of ``values`` (members x
    sizes); NaN when all means are equal."""
    mean = values.mean(axis=0)
    if np.ptp(mean) == 0:
        return float("nan")
    return float(spearmanr(fractions, mean).statistic)


def compression_loss(i_xt: np.ndarray, i_ty: np.ndarray) -> float:
    """How much label information the compression phase loses: the fall of the
    member-averaged I(T;Y) from its highest value during the compression phase — from
    the record where the member-averaged I(X;T) peaks to the last record — to the last
    record (bits, >= 0; 0 where I(T;Y) ends at its highest).

    ``i_xt`` and ``i_ty`` have shape (members, records) for one layer. I(T;Y) may keep
    rising for a while after I(X;T) has peaked (the fitting of the label outlasts the
    peak) and fall only later: the fall is measured from wherever it turns.
    """
    peak = int(stats.relative_fall(i_xt[..., None]).peak[0])
    mean = np.mean(i_ty, axis=0)[peak:]
    return float(mean.max() - mean[-1])


def _overfitting(result: Result, fraction: float, op: str, statement: str,
                 premise: bool) -> list[Claim]:
    """The I(T;Y)-over-compression row of one training size, after the row that the last
    hidden layer compresses at all where ``premise``. Without a compression phase the
    first is not testable."""
    i_xt, i_ty = result["i_xt"][:, :, -2], result["i_ty"][:, :, -2]
    n = i_xt.shape[0]
    over = f"bootstrap over {n} networks"
    fall = stats.relative_fall(i_xt[..., None])
    at_start = bool(fall.at_start[0])
    compresses = float(fall.fall[0]) >= stats.COMPRESSION
    layer = result["i_xt"].shape[2] - 1  # the last hidden layer, counted from 1
    no_phase = None
    if at_start:
        no_phase = ("the last hidden layer's I(X;T) is highest at epoch 0: no fitting "
                    "phase, no compression phase")
    elif not compresses:
        no_phase = (f"no compression phase: the last hidden layer's I(X;T) falls "
                    f"{float(fall.fall[0]):.1%} after its peak, under "
                    f"{stats.COMPRESSION:.0%}")
    rows = [
        Claim.test(f"{SOURCE}, Fig. 7",
                   f"With {fraction:.0%} of the data the last hidden layer compresses.",
                   f"fall of mean I(X;T_{layer}) from its peak to the end, share of the peak",
                   float(fall.fall[0]), ">=", stats.COMPRESSION,
                   interval=stats.bootstrap(lambda a: stats.layer_fall(a[..., None], 0), i_xt),
                   over=over, digits=3,
                   untestable=no_phase if at_start else None)] if premise else []
    return rows + [
        Claim.test(f"{SOURCE}, Fig. 7", statement,
                   f"fall of mean I(T_{layer};Y) from its highest value after the peak of "
                   f"I(X;T_{layer}) to the end (bits)", compression_loss(i_xt, i_ty), op, LOSS,
                   interval=stats.bootstrap(compression_loss, i_xt, i_ty), over=over,
                   digits=3, untestable=no_phase),
    ]


def claims(results: dict[float, Result]) -> list[Claim]:
    """The verdicts of chapter 5."""
    fractions = np.array(sorted(results))
    deep = np.stack([deep_information(results[f]) for f in fractions], axis=1)
    mean = deep.mean(axis=0)
    best = stats.best_spearman(fractions, mean, negative=False)
    untestable = None
    if not np.isfinite(best):
        untestable = "every training size gives the same I(T;Y)"
    elif best < RHO:
        untestable = f"ties: the best correlation they allow is {best:.2f}"
    n = deep.shape[0]
    rows = [Claim.test(
        f"{SOURCE}, Fig. 7", "The deep layers' I(T;Y) rises with the training size.",
        f"Spearman correlation of training size with final mean I(T;Y) of the last "
        f"{DEEP_LAYERS} hidden layers", size_spearman(deep, fractions), ">=", RHO,
        interval=stats.bootstrap(lambda v: size_spearman(v, fractions), deep),
        over=f"bootstrap over {n} networks per size", untestable=untestable)]
    rows += _overfitting(results[SMALL], SMALL, ">=",
                         f"With {SMALL:.0%} of the data, compression lowers I(T;Y) "
                         "(overfitting).", premise=True)
    rows += _overfitting(results[LARGE], LARGE, "<",
                         f"With {LARGE:.0%} of the data, compression does not lower I(T;Y).",
                         premise=False)
    return rows
