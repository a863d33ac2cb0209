"""Chapter 3: the benefit of hidden layers (Shwartz-Ziv & Tishby 2017, Fig. 5).

Networks with 1 to 6 hidden layers — first hidden width 12, each further layer 2 units
narrower, a 2-unit softmax output — are trained on 80% of the 12-bit task. The paper
claims that more hidden layers reach good generalisation in far fewer epochs, because
the compression phase is shorter. Each depth is one ensemble run of
:mod:`information_plane`.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import spearmanr

from ..cache import Result
from ..claims import Claim
from . import information_plane as ip

SOURCE = "Shwartz-Ziv & Tishby 2017"


def depth_widths(n_hidden: int, n_inputs: int = 12, first: int = 12, step: int = 2,
                 n_classes: int = 2) -> tuple[int, ...]:
    """Widths of the network with ``n_hidden`` hidden layers: 12, 10, 8, ... then the output."""
    if n_hidden < 1:
        raise ValueError(f"n_hidden must be >= 1, got {n_hidden}")
    hidden = [first - step * k for k in range(n_hidden)]
    if hidden[-1] < 1:
        raise ValueError(f"{n_hidden} hidden layers of widths {first}, {first - step}, ... "
                         f"leave a layer of width {hidden[-1]}")
    return (n_inputs, *hidden, n_classes)


def run_depths(config: ip.Config, depths: list[int], progress: bool = True
               ) -> dict[int, Result]:
    """One ensemble run per depth, each through the cache of :func:`information_plane.run`."""
    configs = {d: replace(config, widths=depth_widths(d)) for d in depths}
    return {d: ip.run(c, progress=progress) for d, c in configs.items()}


def epochs_to_information(result: Result, fraction: float = 0.95, layer: int = -2
                          ) -> np.ndarray:
    """Per member, the first recorded epoch at which a layer's I(T;Y) reaches ``fraction``
    of I(X;Y); ``inf`` for a member that never does.

    ``layer=-2`` is the last hidden layer (the statistic of the paper's Fig. 5), ``-1``
    the softmax output, i.e. the network's prediction.
    """
    target = fraction * float(result["mi_xy"])
    ity = result["i_ty"][:, :, layer]
    reached = ity >= target
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    epochs = result["epochs"].astype(float)
    return np.where(first >= 0, epochs[np.maximum(first, 0)], np.inf)


def median_epochs(results: dict[int, Result], fraction: float = 0.95, layer: int = -2
                  ) -> dict[int, float]:
    """Median over members of :func:`epochs_to_information` per depth (``inf`` if most never reach)."""
    return {d: float(np.median(epochs_to_information(r, fraction, layer)))
            for d, r in sorted(results.items())}


def _trend(med: dict[int, float]) -> tuple[float, float]:
    """Spearman correlation of depth with the epochs, and shallowest / deepest epochs."""
    depths = np.array(sorted(med))
    values = np.array([med[d] for d in depths])
    finite = np.isfinite(values)
    if finite.sum() > 2 and np.ptp(values[finite]) > 0:
        rho = float(spearmanr(depths[finite], values[finite]).statistic)
    else:
        rho = float("nan")
    factor = values[0] / values[-1] if 0 < values[-1] < np.inf else float("nan")
    return rho, float(factor)


def claims(results: dict[int, Result], fraction: float = 0.95) -> list[Claim]:
    """The verdicts of chapter 3: with the last hidden layer (the paper's statistic) and
    with the output layer (the network's prediction)."""
    depths = sorted(results)
    rows = []
    for layer, name in ((-2, "last hidden layer"), (-1, "output layer")):
        rho, factor = _trend(median_epochs(results, fraction, layer))
        rows += [
            Claim.test(f"{SOURCE}, Fig. 5",
                       f"More hidden layers reach the label information in fewer epochs ({name}).",
                       f"Spearman correlation of depth with the median epoch at which the {name} "
                       f"holds {fraction:.0%} of I(X;Y)", rho, "<=", -0.8),
            Claim.test(f"{SOURCE}, Fig. 5",
                       f"The gain is large ({name}).",
                       f"median epochs with {depths[0]} / with {depths[-1]} hidden layers",
                       factor, ">=", 2.0, digits=1),
        ]
    return rows
