"""Chapter 3: the benefit of hidden layers (Shwartz-Ziv & Tishby 2017, Fig. 5).

Networks with 1 to 6 hidden layers — first hidden width 12, each further layer 2 units
narrower, a 2-unit softmax output — are trained on 80% of the 12-bit task. The paper
claims that more hidden layers reach good generalisation in far fewer epochs, because
the compression phase is shorter. Each depth is one ensemble run of
:mod:`information_plane`, once with each optimiser.

The statistic per network is the first recorded epoch at which a layer's binned I(T;Y)
holds a share (95%) of I(X;Y); per depth, its median over the networks. Intervals
resample the networks of every depth (:func:`analysis.stats.bootstrap`).
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
RHO = -0.8
"""The rank correlation of depth with the epochs that "more layers, fewer epochs" requires."""
GAIN = 2.0
"""The ratio of epochs (shallowest / deepest) that a "dramatic" reduction requires."""
LAYERS = {-2: "last hidden layer", -1: "output layer"}


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


def epoch_matrix(results: dict[int, Result], fraction: float = 0.95, layer: int = -2
                 ) -> np.ndarray:
    """:func:`epochs_to_information` of every depth: shape (members, depths), depths sorted."""
    return np.stack([epochs_to_information(results[d], fraction, layer)
                     for d in sorted(results)], axis=1)


def median_epochs(results: dict[int, Result], fraction: float = 0.95, layer: int = -2
                  ) -> dict[int, float]:
    """Median over members of :func:`epochs_to_information` per depth (``inf`` if most never reach)."""
    med = np.median(epoch_matrix(results, fraction, layer), axis=0)
    return dict(zip(sorted(results), map(float, med)))


def depth_spearman(epochs: np.ndarray, depths: np.ndarray) -> float:
    """Spearman correlation of depth with the median epochs of each depth (``epochs``:
    members x depths; never reached ranks last); NaN when all medians are equal."""
    med = np.median(epochs, axis=0)
    if len(np.unique(med)) < 2:
        return float("nan")
    return float(spearmanr(depths, med).statistic)


def speedup(epochs: np.ndarray, last_epoch: float) -> float:
    """Median epochs of the shallowest depth over those of the deepest (first and last
    columns). A median that is never reached counts as ``last_epoch``: the ratio is then a
    lower bound where the shallowest never reaches, NaN where the deepest never does; and
    ``inf`` where the deepest reaches it at epoch 0."""
    med = np.minimum(np.median(epochs[:, [0, -1]], axis=0), last_epoch)
    if np.median(epochs[:, -1]) == np.inf:
        return float("nan")
    return float(med[0] / med[1]) if med[1] > 0 else float("inf")


def start_ceiling(results: dict[int, Result], fraction: float = 0.95, layer: int = -2
                  ) -> list[int]:
    """Depths whose layer holds ``fraction`` of I(X;Y) at epoch 0 in most networks: there
    the statistic is 0 before any training, whatever training does."""
    med = median_epochs(results, fraction, layer)
    return [d for d, m in med.items() if m == 0]


def claims(results: dict[int, Result], fraction: float = 0.95, label: str = "Adam",
           layers: tuple[int, ...] = (-2, -1)) -> list[Claim]:
    """The verdicts of chapter 3 for one optimiser (``label``): for each of ``layers``, the
    last hidden layer (-2, the paper's statistic) and the output layer (-1, the
    network's prediction), the rank correlation of depth with the median epochs and the
    ratio of the shallowest to the deepest."""
    depths = np.array(sorted(results))
    first = results[int(depths[0])]
    n = first["i_ty"].shape[0]
    last_epoch = float(first["epochs"][-1])
    over = f"bootstrap over {n} networks per depth"
    rows = []
    for layer in layers:
        name = LAYERS[layer]
        epochs = epoch_matrix(results, fraction, layer)
        med = np.median(epochs, axis=0)
        ceiling = start_ceiling(results, fraction, layer)
        reason = None
        if ceiling:
            reason = (f"with {', '.join(map(str, ceiling))} hidden layers the {name} holds "
                      f"{fraction:.0%} of I(X;Y) at epoch 0 (a ceiling at the start)")
        rho_reason = reason
        if rho_reason is None:
            ranked = np.where(np.isinf(med), np.nanmax(np.where(np.isinf(med), np.nan, med),
                                                       initial=0.0) + 1.0, med)
            best = stats.best_spearman(depths, ranked)
            if not np.isfinite(best):
                rho_reason = f"every depth has the same median epoch ({med[0]:g})"
            elif best > RHO:
                rho_reason = (f"ties (depths that never reach {fraction:.0%} within "
                              f"{last_epoch:g} epochs): the best correlation they allow is "
                              f"{best:.2f}")
        rows.append(Claim.test(
            f"{SOURCE}, Fig. 5",
            f"More hidden layers reach the label information in fewer epochs ({name}, {label}).",
            f"Spearman correlation of depth with the median epoch at which the {name} "
            f"holds {fraction:.0%} of I(X;Y)", depth_spearman(epochs, depths), "<=", RHO,
            interval=stats.bootstrap(lambda e: depth_spearman(e, depths), epochs),
            over=over, untestable=rho_reason))
        ratio_reason = reason
        if ratio_reason is None and np.isinf(med[-1]):
            ratio_reason = (f"the {depths[-1]}-hidden-layer networks never reach "
                            f"{fraction:.0%} within {last_epoch:g} epochs")
        elif ratio_reason is None and np.isinf(med[0]) and \
                speedup(epochs, last_epoch) < GAIN:
            ratio_reason = (f"the {depths[0]}-hidden-layer networks never reach "
                            f"{fraction:.0%} within {last_epoch:g} epochs, and the lower "
                            f"bound of the ratio is below {GAIN:g}")
        bound = " (a lower bound: the shallowest never reach)" if np.isinf(med[0]) else ""
        rows.append(Claim.test(
            f"{SOURCE}, Fig. 5", f"The gain is large ({name}, {label}).",
            f"median epochs with {depths[0]} / with {depths[-1]} hidden layers{bound}",
            speedup(epochs, last_epoch), ">=", GAIN,
            interval=stats.bootstrap(lambda e: speedup(e, last_epoch), epochs), over=over,
            digits=1, untestable=ratio_reason))
    return rows
