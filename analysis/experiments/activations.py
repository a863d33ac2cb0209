"""Chapters 6 and 7: the verdicts on the estimators' results, and the names shown for them.

The runs are :mod:`estimators`'; this module only reads them (so rewording a verdict
does not invalidate the cached runs). One compression criterion throughout
(:mod:`analysis.stats`): a network compresses when some hidden layer's member-averaged
I(X;T) falls from its peak, the peak after the start, by at least 5% of the peak; the
interval is a bootstrap over members.
"""
from __future__ import annotations

import math

import numpy as np

from .. import stats
from ..cache import Result
from ..claims import Claim
from .estimators import COMPRESSION, estimates

SOURCE = "Saxe et al. 2018"

LABELS = {"original": "30 bins on [-1, 1]", "fixed_width": "bins of 0.07",
          "range": "100 bins, min to max", "quantile": "30 equal-mass bins",
          "tanh_spaced": "tanh-spaced bins", "machine": "machine precision (float64)",
          "machine_float32": "machine precision (float32)"}
"""Short names of the estimators for tables and figures (KDE and kNN: :func:`label`)."""


def shown(activation: str) -> str:
    """An activation's name as the text writes it (ReLU, tanh, ...)."""
    return {"relu": "ReLU"}.get(activation, activation)


def label(name: str) -> str:
    """A reader's name for an estimator key of :func:`estimates`."""
    if "@" in name:
        kind, var = name.split("@")
        kind = {"kde_upper": "KDE upper", "kde_lower": "KDE lower", "knn": "kNN"}[kind]
        return f"{kind}, σ² = {float(var):g}"
    return LABELS.get(name, name)


HIDDEN = slice(0, -1)
"""The hidden layers of a result's (members, epochs, layers) arrays: all but the output."""


def hidden_fall(i_xt: np.ndarray, layers: slice = HIDDEN) -> tuple[float, float, float]:
    """The largest compression of the chosen layers (default: all but the last) and its
    95% interval.

    ``stats.largest_fall`` over the layers whose member-averaged I(X;T) peaks after the
    start, with a bootstrap over members (NaN where no layer peaks after it).
    """
    i_xt = np.asarray(i_xt)[..., layers]
    low, high = stats.bootstrap(stats.largest_fall, i_xt)
    return stats.largest_fall(i_xt), float(low), float(high)


def falls_by_layer(i_xt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every layer's compression statistic with its 95% interval (bootstrap over members)
    and whether its peak is at the start: ``(fall, low, high, at_start)``, each (layers,),
    as :func:`analysis.plots.layer_falls` draws them."""
    f = stats.relative_fall(i_xt)
    low, high = stats.bootstrap(lambda a: stats.relative_fall(a).fall, i_xt)
    return f.fall, low, high, f.at_start


AT_START = ("every hidden layer's mean I(X;T) is highest at initialisation: no fitting "
            "phase for a compression to follow")
FALL = "largest fall of mean I(X;T) after its peak, share of the peak (hidden layers)"


def compression_claim(source: str, statement: str, i_xt: np.ndarray, compresses: bool,
                      statistic: str = FALL, layers: slice = HIDDEN) -> Claim:
    """The book's compression verdict on the hidden layers of ``i_xt`` (members, E, layers).

    A network compresses when some hidden layer's member-averaged I(X;T) falls by at least
    :data:`COMPRESSION` of its peak, the peak after the start (:func:`hidden_fall`); the
    claim is that it does (``compresses``) or that it does not.
    """
    value, low, high = hidden_fall(i_xt, layers)
    return Claim.test(source, statement, statistic, value, ">=" if compresses else "<",
                      COMPRESSION, interval=(low, high),
                      over=f"bootstrap over {len(i_xt)} members",
                      untestable=None if math.isfinite(value) else AT_START)


SAXE_CODE = "Saxe et al. 2018, code (ibsgd)"
CLAIMED = (
    # activation, estimator, compresses, source
    ("tanh", "original", True, "Saxe et al. 2018, Fig. 1A"),
    ("relu", "range", False, "Saxe et al. 2018, Fig. 1B"),
    ("tanh", "fixed_width", True, SAXE_CODE),
    ("relu", "fixed_width", False, SAXE_CODE),
    ("tanh", "kde_upper@0.1", True, "Saxe et al. 2018, appendix"),
    ("relu", "kde_upper@0.1", False, "Saxe et al. 2018, appendix"),
    ("tanh", "kde_upper@0.001", True, SAXE_CODE),
    ("relu", "kde_upper@0.001", False, SAXE_CODE),
    ("tanh", "knn@0.1", True, "Saxe et al. 2018, appendix"),
    ("relu", "knn@0.1", False, "Saxe et al. 2018, appendix"),
    ("softsign", "original", True, "Saxe et al. 2018, appendix"),
    ("softsign", "kde_upper@0.1", True, "Saxe et al. 2018, appendix"),
    ("softplus", "range", False, "Saxe et al. 2018, appendix"),
    ("softplus", "kde_upper@0.1", False, "Saxe et al. 2018, appendix"),
    ("relu", "quantile", True, "Chelombiev et al. 2019"),
)
"""The chapter-6 verdicts: who claimed that the network with this activation compresses
(or does not) under this estimator. Saxe et al.'s paper bins tanh layers with the original
30 edges and ReLU layers with 100 bins between their extremes, and shows KDE and kNN in
its appendix; its code bins with width 0.07 and adds noise of variance 1e-3. Chelombiev et
al. (2019) find compression without saturation with adaptive (equal-mass) bins."""
GENERALISATION_GAP = 0.01
"""Largest difference in final test accuracy for networks that "generalise alike"."""


def claims(results: dict[str, Result]) -> list[Claim]:
    """Chapter 6: per activation and estimator, does the network compress (:data:`CLAIMED`),
    and do tanh and ReLU networks generalise alike although only one compresses?"""
    rows = []
    for activation, name, compresses, source in CLAIMED:
        if activation not in results:
            continue
        est = estimates(results[activation])
        if name not in est:
            continue
        verb = "compress" if compresses else "do not compress"
        rows.append(compression_claim(
            source, f"{shown(activation)}: hidden layers {verb} ({label(name)}).",
            est[name][1], compresses))
    if {"tanh", "relu"} <= set(results):
        rows.append(generalisation_claim(results["tanh"], results["relu"]))
    return rows


def accuracy_gap(test_tanh: np.ndarray, test_relu: np.ndarray) -> float:
    """|mean final test accuracy of tanh - that of ReLU| over members, (members, records)."""
    return abs(float(np.nanmean(test_tanh[:, -1]) - np.nanmean(test_relu[:, -1])))


def generalisation_claim(tanh: Result, relu: Result) -> Claim:
    """Saxe et al.: no causal link between compression and generalisation — the ReLU
    network, which does not compress, generalises as well as the tanh network, which does.

    Members with the same index share their seed and training split; the bootstrap
    resamples them in pairs.
    """
    a, b = tanh["test_acc"], relu["test_acc"]
    n = min(len(a), len(b))
    low, high = stats.bootstrap(accuracy_gap, a[:n], b[:n])
    return Claim.test(
        "Saxe et al. 2018, section 2 and App. A",
        "tanh and ReLU networks generalise alike, though only tanh compresses: no causal "
        "link between compression and generalisation.",
        "|final test accuracy tanh - ReLU|, member means", accuracy_gap(a[:n], b[:n]), "<=",
        GENERALISATION_GAP, interval=(low, high), over=f"bootstrap over {n} member pairs",
        digits=3)


def binning_claims(result: Result) -> list[Claim]:
    """Chapter 7, on the tanh network: tanh-spaced edges and machine precision (float64)."""
    hidden = slice(0, result["i_xt_machine"].shape[2] - 1)
    machine = result["i_xt_machine"][..., hidden]

    def smallest(i_xt: np.ndarray) -> float:
        return float(np.nanmean(i_xt, axis=0).min())

    low, high = stats.bootstrap(smallest, machine)
    n = len(machine)
    return [
        compression_claim(f"{SOURCE}, section 3",
                          "Edges spaced like tanh itself remove the compression.",
                          result["i_xt_tanh_spaced"], compresses=False),
        Claim.test(f"{SOURCE}, section 3; Goldfeld et al. 2019, section 5",
                   "At machine precision I(X;T) = log2 4096 = 12 bits in every hidden layer.",
                   "smallest mean I(X;T) over hidden layers and epochs, float64 (bits)",
                   smallest(machine), ">=", math.log2(4096) - 0.05, interval=(low, high),
                   over=f"bootstrap over {n} members"),
    ]
