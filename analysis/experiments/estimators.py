"""Chapters 6 and 7: the 12-bit network seen through several estimators (Saxe et al. 2018).

Saxe et al. (2018, section 2 and Appendix C) retrain the network of Shwartz-Ziv & Tishby
with other hidden nonlinearities and ask whether the compression seen in the information
plane survives a change of estimator. For one network configuration this module records,
at every log-spaced epoch and for every layer:

- binning with the original 30 edges on [-1, 1] (from :func:`information_plane.run`);
- ``range``: 100 equal bins between the layer's minimum and maximum activation over all
  recorded epochs of that member, the binning Saxe et al. use for unbounded units;
- ``quantile``: adaptive, equal-mass bins recomputed at every epoch;
- ``tanh_spaced``: edges at tanh(linspace(-50, 50, 1451)) (chapter 7): bins of width
  100/1450 = 0.069 in pre-activation space, the width of the original bins near 0;
- ``machine``: every distinct float32 value its own bin (chapter 7);

and, for the first ``kde_members`` members at ``kde_records`` of those epochs, the KDE
lower/upper bounds (Kolchinsky & Tracey 2017) and a kNN estimate (Kraskov k = 2) of the
information through T = h(X) + N(0, var I), for every noise variance in ``kde_variances``.

The range of a layer over all of training is only known once training has ended, so the
ensemble is trained twice with the same seeds: the first run is the cached chapter-1 run
(it records every layer's extremes), the second estimates with those ranges. Training is
deterministic, so the second run sees the same activations; the largest difference of the
extremes between the two runs is kept in ``meta["range_mismatch"]``.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import field
from typing import Annotated

import numpy as np
import torch
from pydantic import Field
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import AtLeastTwo, Count, NonNegative, Positive, config
from ..data import load_spherical
from ..info.binning import (MachinePrecisionBins, QuantileBins, RangeBins,
                            binned_mutual_information, tanh_spaced_bins)
from ..info.kde import gaussian_noise_entropy, kde_mutual_information_many
from ..info.knn import knn_entropy
from ..train import Snapshot, log_spaced_epochs
from . import information_plane as ip

NAME = "estimators"
SOURCE = "Saxe et al. 2018"
BINNINGS = ("original", "range", "quantile", "tanh_spaced", "machine")
"""Binning schemes estimated for every member at every recorded epoch."""
COMPRESSION = 0.05
"""A layer compresses when its mean I(X;T) falls by at least this share of its peak."""


@config
class Config:
    """The network run (:class:`information_plane.Config`) and the estimators' settings.

    Defaults: 100 range bins, 30 quantile bins, 1451 tanh-spaced edges; KDE and kNN with
    the noise variance of the paper (0.1) and of its code for this task (1e-3), on 3
    members at 25 epochs (``kde_members=0`` skips KDE and kNN).
    """

    network: ip.Config = field(default_factory=ip.Config)
    range_bins: AtLeastTwo = 100
    quantile_bins: AtLeastTwo = 30
    tanh_edges: AtLeastTwo = 1451
    kde_variances: Annotated[tuple[Positive, ...], Field(min_length=1)] = (0.1, 1e-3)
    kde_members: NonNegative = 3
    kde_records: AtLeastTwo = 25
    knn_k: Count = 2

    def __post_init__(self) -> None:
        if self.kde_members > self.network.seeds:
            raise ValueError(f"kde_members must lie in [0, seeds={self.network.seeds}], "
                             f"got {self.kde_members}")

    def kde_indices(self) -> np.ndarray:
        """Indices into the recorded epochs where KDE and kNN are estimated (log-spaced)."""
        if self.kde_members == 0:
            return np.zeros(0, dtype=int)
        n = len(log_spaced_epochs(self.network.epochs, self.network.n_records))
        return np.unique(np.linspace(0, n - 1, self.kde_records).round().astype(int))


def run(config: Config, progress: bool = True, use_cache: bool = True) -> Result:
    """Estimate the information plane of ``config.network`` with every estimator.

    Returns
    -------
    Result
        ``epochs`` (E,); ``i_xt_<scheme>``, ``i_ty_<scheme>`` (members, E, layers) for the
        schemes of :data:`BINNINGS`; ``kde_epochs`` (K,); ``i_xt_kde_lower``,
        ``i_xt_kde_upper``, ``i_ty_kde_lower``, ``i_ty_kde_upper`` and ``i_xt_knn``
        (variances, kde_members, K, layers); ``train_acc``, ``test_acc`` (members, E).
        All in bits.
    """
    base = ip.run(config.network, progress=progress, use_cache=use_cache)
    data = load_spherical(config.network.data)
    key = {"config": config_dict(config), "data": data.fingerprint}
    return cached(NAME, key, lambda: _compute(config, base, data, progress), use_cache)


def _compute(config: Config, base: Result, data, progress: bool) -> Result:
    start = time.perf_counter()
    net = config.network
    epochs = base["epochs"]
    n_members, n_epochs, n_layers = base["i_xt"].shape
    lo, hi = base["layer_min"], base["layer_max"]
    width = np.where(hi > lo, hi - lo, 1.0)
    schemes = {"range": RangeBins(config.range_bins, 0.0, 1.0),
               "quantile": QuantileBins(config.quantile_bins),
               "tanh_spaced": tanh_spaced_bins(config.tanh_edges),
               "machine": MachinePrecisionBins()}
    out = {f"i_{q}_{s}": np.zeros((n_members, n_epochs, n_layers))
           for s in schemes for q in ("xt", "ty")}
    kde_at = {int(i): k for k, i in enumerate(config.kde_indices())}
    n_var, n_kde = len(config.kde_variances), config.kde_members
    kde = {key: np.zeros((n_var, n_kde, len(kde_at), n_layers))
           for key in ("i_xt_kde_lower", "i_xt_kde_upper", "i_ty_kde_lower", "i_ty_kde_upper",
                       "i_xt_knn")}
    seen_lo, seen_hi = np.full_like(lo, np.inf), np.full_like(hi, -np.inf)

    def estimate(snap: Snapshot) -> None:
        for layer, t in enumerate(snap.layers):
            t = t.cpu().transpose(1, 2)
            seen_lo[:, layer] = np.minimum(seen_lo[:, layer], t.amin((1, 2)).numpy())
            seen_hi[:, layer] = np.maximum(seen_hi[:, layer], t.amax((1, 2)).numpy())
            scaled = (t.double() - torch.as_tensor(lo[:, layer])[:, None, None]) / \
                torch.as_tensor(width[:, layer])[:, None, None]
            for name, bins in schemes.items():
                ixt, ity = binned_mutual_information(scaled if name == "range" else t,
                                                     data.p_y_given_x, bins)
                out[f"i_xt_{name}"][:, snap.index, layer] = ixt
                out[f"i_ty_{name}"][:, snap.index, layer] = ity
            if snap.index in kde_at:
                _kde_and_knn(config, t, data.y, snap, layer, kde, kde_at[snap.index])

    history = ip.train_and_record(net, data, estimate, progress)
    mismatch = float(max(np.abs(seen_lo - lo).max(), np.abs(seen_hi - hi).max()))
    if mismatch > 1e-5:
        warnings.warn(f"the second training run differs from the first (extremes differ by "
                      f"{mismatch:.2g}); range binning uses the first run's extremes",
                      stacklevel=2)
    seconds = time.perf_counter() - start
    tqdm.write(f"estimators: {n_members} {net.activation} nets x {net.epochs} epochs, "
               f"{len(schemes) + 1} binnings, KDE/kNN on {n_kde} members x {len(kde_at)} "
               f"epochs x {n_var} variances in {seconds:.0f} s (range check {mismatch:.1g})")
    arrays = {"epochs": epochs, "kde_epochs": epochs[sorted(kde_at)],
              "i_xt_original": base["i_xt"], "i_ty_original": base["i_ty"],
              "train_acc": history.train_acc, "test_acc": history.test_acc,
              "layer_min": lo, "layer_max": hi, **out, **kde}
    return Result(name=NAME, config=config_dict(config), arrays=arrays,
                  meta={"data": data.source, "seconds": seconds, "range_mismatch": mismatch,
                        "torch": torch.__version__})


def _kde_and_knn(config: Config, t: torch.Tensor, labels: np.ndarray, snap: Snapshot,
                 layer: int, kde: dict[str, np.ndarray], k: int) -> None:
    """KDE bounds and kNN estimates of one layer for the first members at one epoch."""
    for m in range(config.kde_members):
        rows = kde_mutual_information_many(t[m], config.kde_variances, labels)
        for v, (var, row) in enumerate(zip(config.kde_variances, rows)):
            for key, value in row.items():
                kde[f"{key[:4]}_kde_{key[5:]}"][v, m, k, layer] = value
            rng = np.random.default_rng([config.network.seed_list[m], snap.epoch, layer, v])
            noisy = t[m].double().numpy() + rng.normal(0.0, np.sqrt(var), size=t[m].shape)
            kde["i_xt_knn"][v, m, k, layer] = (knn_entropy(noisy, config.knn_k)
                                              - gaussian_noise_entropy(t.shape[2], var))


def relative_compression(i_xt: np.ndarray) -> np.ndarray:
    """Per layer: fall of the member-averaged I(X;T) from its peak to the end, over the peak.

    Parameters
    ----------
    i_xt : ndarray, shape (members, epochs, layers)

    Returns
    -------
    ndarray, shape (layers,), in [0, 1]; 0 for a layer whose peak is not positive.
    """
    drop, peak = ip.compression(i_xt)
    top = np.round(i_xt.mean(axis=0), 9).max(axis=0)
    return np.where(top > 0, drop / np.where(top > 0, top, 1.0), 0.0)


def estimates(result: Result) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every estimator's (epochs, I(X;T), I(T;Y)) with shapes (E,), (members, E, layers).

    KDE entries are ``kde_upper@<var>`` and ``kde_lower@<var>``; kNN has no I(T;Y) (NaN).
    """
    out = {s: (result["epochs"], result[f"i_xt_{s}"], result[f"i_ty_{s}"]) for s in BINNINGS}
    if len(result["kde_epochs"]) == 0:
        return out
    for v, var in enumerate(result.config["kde_variances"]):
        for bound in ("upper", "lower"):
            out[f"kde_{bound}@{var:g}"] = (result["kde_epochs"],
                                          result[f"i_xt_kde_{bound}"][v],
                                          result[f"i_ty_kde_{bound}"][v])
        knn = result["i_xt_knn"][v]
        out[f"knn@{var:g}"] = (result["kde_epochs"], knn, np.full_like(knn, np.nan))
    return out


VERDICT_ESTIMATORS = ("range", "quantile", "kde_upper@0.1", "kde_upper@0.001", "knn@0.1")
"""The estimators of the chapter-6 verdicts: the binning fair to unbounded units, the
adaptive binning, both KDE noise levels, and kNN where it is valid (at variance 1e-3 the
4096 samples are far sparser than the noise scale and kNN exceeds log2 4096 bits)."""

EXPECTED = {"tanh": True, "relu": False, "softsign": True, "softplus": False}
"""Saxe et al. (2018), Fig. 1 and Appendix: does the network with this activation compress?"""


def claims(results: dict[str, Result]) -> list[Claim]:
    """Chapter 6: one verdict per activation and estimator on whether hidden layers compress.

    The statistic is the largest :func:`relative_compression` over the hidden layers; a
    network compresses when it reaches :data:`COMPRESSION`.
    """
    rows = []
    for activation, result in results.items():
        if activation not in EXPECTED:
            continue
        est = estimates(result)
        for name in VERDICT_ESTIMATORS:
            if name not in est:
                continue
            i_xt = est[name][1][..., :-1]
            value = float(relative_compression(i_xt).max())
            verb = "compress" if EXPECTED[activation] else "do not compress"
            rows.append(Claim.test(
                f"{SOURCE}, Fig. 1" + ("" if activation in ("tanh", "relu") else " and App."),
                f"{activation}: hidden layers {verb} ({name}).",
                "largest fall of mean I(X;T) after its peak, share of the peak, hidden layers",
                value, ">=" if EXPECTED[activation] else "<", COMPRESSION))
    return rows


def binning_claims(result: Result) -> list[Claim]:
    """Chapter 7, on the tanh network: tanh-spaced edges and machine precision."""
    hidden = slice(0, result["i_xt_original"].shape[2] - 1)
    n_patterns = np.log2(4096)
    return [
        Claim.test(f"{SOURCE}, section 3", "With the original 30 bins, tanh layers compress.",
                   "largest fall of mean I(X;T) after its peak, share of the peak",
                   float(relative_compression(result["i_xt_original"][..., hidden]).max()),
                   ">=", COMPRESSION),
        Claim.test(f"{SOURCE}, section 3", "Edges spaced like tanh itself remove the compression.",
                   "largest fall of mean I(X;T) after its peak, share of the peak",
                   float(relative_compression(result["i_xt_tanh_spaced"][..., hidden]).max()),
                   "<", COMPRESSION),
        Claim.test(f"{SOURCE}, section 3; Goldfeld et al. 2019, section 5",
                   "At machine precision I(X;T) = log2 4096 = 12 bits in every hidden layer.",
                   "smallest mean I(X;T) over hidden layers and epochs (bits)",
                   float(result["i_xt_machine"][..., hidden].mean(axis=0).min()),
                   ">=", n_patterns - 0.05),
    ]
