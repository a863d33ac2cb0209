"""Chapter 5: the effect of the training size (Shwartz-Ziv & Tishby 2017, Fig. 7).

The chapter-1 network is trained on fractions of the 12-bit task from 3% to 85%. The
paper reports that the converged layers' I(T;Y) rises with the training size, and that
with little data the compression phase lowers I(T;Y) — overfitting — while with much
data it does not. Each size is one ensemble run of :mod:`information_plane`.
"""
from __future__ import annotations

from dataclasses import replace

from scipy.stats import spearmanr

from ..cache import Result
from ..claims import Claim
from . import information_plane as ip

SOURCE = "Shwartz-Ziv & Tishby 2017"
SMALL, LARGE = 0.05, 0.85
DEEP_LAYERS = 2


def run_sizes(config: ip.Config, fractions: list[float], progress: bool = True
              ) -> dict[float, Result]:
    """One ensemble run per training fraction, through the cache of ``information_plane.run``."""
    missing = [f for f in (SMALL, LARGE) if f not in fractions]
    if missing:
        raise ValueError(f"train_fractions must include {SMALL} and {LARGE} for the verdicts; "
                         f"missing {missing}")
    return {f: ip.run(replace(config, train_fraction=f), progress=progress)
            for f in sorted(fractions)}


def final_deep_information(result: Result, deep: int = DEEP_LAYERS) -> float:
    """Seed-averaged final I(T;Y) of the ``deep`` last hidden layers (bits)."""
    return float(result["i_ty"][:, -1, -1 - deep:-1].mean())


def label_information_loss(result: Result) -> float:
    """Fall of the seed-averaged I(T;Y) of the last hidden layer from its peak to the end (bits)."""
    mean = result["i_ty"][:, :, -2].mean(axis=0)
    return float(mean.max() - mean[-1])


def claims(results: dict[float, Result]) -> list[Claim]:
    """The verdicts of chapter 5."""
    fractions = sorted(results)
    deep = [final_deep_information(results[f]) for f in fractions]
    rho = spearmanr(fractions, deep).statistic
    return [
        Claim.test(f"{SOURCE}, Fig. 7", "The deep layers' I(T;Y) rises with the training size.",
                   f"Spearman correlation of training size with final I(T;Y) of the last "
                   f"{DEEP_LAYERS} hidden layers", float(rho), ">=", 0.8),
        Claim.test(f"{SOURCE}, Fig. 7", f"With {SMALL:.0%} of the data, compression lowers I(T;Y) (overfitting).",
                   "fall of mean I(T;Y) of the last hidden layer from its peak to the end (bits)",
                   label_information_loss(results[SMALL]), ">=", 0.02),
        Claim.test(f"{SOURCE}, Fig. 7", f"With {LARGE:.0%} of the data, it does not.",
                   "fall of mean I(T;Y) of the last hidden layer from its peak to the end (bits)",
                   label_information_loss(results[LARGE]), "<", 0.02),
    ]
