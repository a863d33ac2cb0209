"""Chapters 6, 7 and 9: the 12-bit network seen through several estimators (Saxe et al. 2018).

Saxe et al. (2018, section 2 and appendix) retrain the network of Shwartz-Ziv & Tishby
with other hidden nonlinearities and ask whether the compression seen in the information
plane survives a change of estimator. For one network configuration this module records,
at every log-spaced epoch and for every layer:

- ``original``: the 30 edges on [-1, 1] of Shwartz-Ziv & Tishby's code (only for
  activations bounded there, :data:`BOUNDED`; NaN otherwise);
- ``fixed_width``: bins of width 0.07, ``floor(t / 0.07)``, the binning of Saxe et al.'s
  code for this task (``IBnet_ComputeMI``, ``binsize = 0.07``);
- ``range``: 100 equal bins between the layer's minimum and maximum activation over all
  recorded epochs of that member, the binning Saxe et al. describe for unbounded units;
- ``quantile``: adaptive, equal-mass bins recomputed at every epoch (in the spirit of
  Chelombiev et al. 2019);
- ``tanh_spaced``: edges at tanh(linspace(-50, 50, 1451)) (chapter 7): bins of width
  100/1450 = 0.069 in pre-activation space, the width of the original bins near 0
  (bounded activations only);
- ``machine``: every distinct float64 value its own bin (chapter 7);
- ``machine_float32``: the same on the float32 activations the training path computed;

and, for the first ``kde_members`` members at ``kde_records`` of those epochs, the KDE
lower/upper bounds (Kolchinsky & Tracey 2017) and a kNN estimate (Kraskov k = 2) of the
information through T = h(X) + N(0, var I) of every hidden layer, for every noise variance
in ``kde_variances``.

The networks train once, on the path :func:`analysis.train.train_ensemble` picks (in
float32), exactly as :func:`information_plane.train_and_record` trains them; the weights
of every recorded epoch are kept, and the estimators read the layers recomputed from
them **in float64** (tanh as ``torch.tanh``). Binning at machine precision is about exact
arithmetic: in float32 every tanh unit within 6e-8 of +-1 is rounded onto a few values, so
deeply saturated inputs share codes that real arithmetic would keep apart (chapter 7
shows both). Keeping the weights also gives the layers' extremes over all of training,
which range binning needs, without a second training run.

The verdicts on these runs are in :mod:`activations` (chapters 6, 7) and
:mod:`batch_vs_stochastic` (chapter 9).
"""
from __future__ import annotations

import math
import time
from dataclasses import field
from typing import Annotated

import numpy as np
import torch
from pydantic import Field
from tqdm import tqdm

from .. import stats
from ..cache import Result, cached, config_dict
from ..config import AtLeastTwo, Count, NonNegative, Positive, config
from ..data import load_spherical
from ..info.binning import (FixedWidthBins, MachinePrecisionBins, QuantileBins, RangeBins,
                            binned_mutual_information, original_bins, tanh_spaced_bins)
from ..info.kde import gaussian_noise_entropy, kde_mutual_information_many
from ..info.knn import knn_entropy
from ..nets import ACTIVATIONS, EnsembleMLP
from ..train import History, Snapshot, log_spaced_epochs, member_splits, train_ensemble
from . import information_plane as ip

NAME = "estimators"
SOURCE = "Saxe et al. 2018"
BINNINGS = ("original", "fixed_width", "range", "quantile", "tanh_spaced", "machine",
            "machine_float32")
"""Binning schemes estimated for every member at every recorded epoch."""
BOUNDED = frozenset({"tanh", "softsign", "sigmoid"})
"""Activations whose values lie in [-1, 1]: the only ones that the original edges on
[-1, 1] and the tanh-spaced edges fit (elsewhere those schemes are NaN)."""
COMPRESSION = stats.COMPRESSION
"""The book's compression threshold (:data:`analysis.stats.COMPRESSION`), kept here for the
chapters that import it from this module."""
FIXED_WIDTH = 0.07
"""Bin width of Saxe et al.'s code for the 12-bit task (``IBnet_ComputeMI.ipynb``)."""


@config
class Config:
    """The network run (:class:`information_plane.Config`) and the estimators' settings.

    Defaults: 100 range bins, bins of 0.07, 30 quantile bins, 1451 tanh-spaced edges; KDE
    and kNN with the noise variance of the paper (0.1) and of its code for this task
    (1e-3), on 3 members at 25 epochs (``kde_members=0`` skips KDE and kNN).
    """

    network: ip.Config = field(default_factory=ip.Config)
    range_bins: AtLeastTwo = 100
    fixed_width: Positive = FIXED_WIDTH
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
    """Train ``config.network`` and estimate its information plane with every estimator.

    Returns
    -------
    Result
        ``epochs`` (E,); ``i_xt_<scheme>``, ``i_ty_<scheme>`` (members, E, layers) for the
        schemes of :data:`BINNINGS`; ``kde_epochs`` (K,); ``i_xt_kde_lower``,
        ``i_xt_kde_upper``, ``i_ty_kde_lower``, ``i_ty_kde_upper`` and ``i_xt_knn``
        (variances, kde_members, K, layers; NaN for the output layer); all in bits.
        ``train_acc``, ``test_acc``, ``train_loss``, ``test_loss`` (members, E);
        ``grad_mean``, ``grad_std``, ``weight_norm`` (members, E, layers; see
        :class:`~analysis.train.History`); ``layer_min``, ``layer_max`` (members, layers:
        extremes over all records); ``preact_max`` (members, E, layers: the largest
        |pre-activation| of the layer over all patterns and units).
    """
    data = load_spherical(config.network.data)
    key = {"config": config_dict(config), "data": data.fingerprint}
    return cached(NAME, key, lambda: _compute(config, data, progress), use_cache)


def train_and_keep(config: ip.Config, data, on_record=None, progress: bool = True
                   ) -> tuple[History, list[list[tuple[torch.Tensor, torch.Tensor]]]]:
    """Train the configured ensemble as :func:`information_plane.train_and_record` does
    (same seeds, splits, initialisation and schedule, so the same networks) and keep a
    copy of every layer's weights and biases at every recorded epoch.

    ``on_record``, if given, is called with each :class:`~analysis.train.Snapshot` too.
    """
    seeds = config.seed_list
    train_idx, test_idx = member_splits(data.n_samples, config.train_fraction, seeds,
                                        config.split)
    model = EnsembleMLP(config.widths, config.activation, seeds, device=config.device)
    tcfg = config.train_config()
    kept: list[list[tuple[torch.Tensor, torch.Tensor]]] = []

    def keep(snap: Snapshot) -> None:
        kept.append([(w.detach().to("cpu", copy=True), b.detach().to("cpu", copy=True))
                     for w, b in zip(model.weights, model.biases)])
        if on_record is not None:
            on_record(snap)

    history = train_ensemble(model, data, train_idx, test_idx, tcfg, on_record=keep,
                             record_epochs=log_spaced_epochs(tcfg.epochs, tcfg.n_records),
                             progress=progress,
                             desc=f"{len(seeds)} {config.activation} nets, "
                                  f"{config.train_fraction:.0%} train")
    return history, kept


def forward64(params: list[tuple[torch.Tensor, torch.Tensor]], x: np.ndarray,
              activation: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Every layer of every member recomputed in float64 from (weights, biases) per layer.

    Parameters
    ----------
    params : list of (W, b)
        Per layer, W (members, out, in) and b (members, out, 1), as the ensemble holds them.
    x : ndarray, shape (n, d)
        The inputs.
    activation : str
        The hidden nonlinearity (tanh is evaluated as ``torch.tanh``); the output layer is
        a softmax.

    Returns
    -------
    layers, preacts : lists of Tensor (members, n, width), float64
        Each layer's output and its pre-activation W t + b.
    """
    act = torch.tanh if activation == "tanh" else ACTIVATIONS[activation]
    h = torch.as_tensor(np.asarray(x), dtype=torch.float64).T
    h = h.expand(params[0][0].shape[0], *h.shape)
    layers, preacts = [], []
    for i, (w, b) in enumerate(params):
        z = torch.baddbmm(b.double(), w.double(), h)
        h = torch.softmax(z, dim=1) if i == len(params) - 1 else act(z)
        layers.append(h.transpose(1, 2))
        preacts.append(z.transpose(1, 2))
    return layers, preacts


def _compute(config: Config, data, progress: bool) -> Result:
    start = time.perf_counter()
    net = config.network
    bounded = net.activation in BOUNDED
    pyx = data.p_y_given_x
    machine32: dict[int, list[np.ndarray]] = {}

    def record32(snap: Snapshot) -> None:       # what the training path itself computed
        machine32[snap.index] = [
            np.stack(binned_mutual_information(t.cpu().transpose(1, 2), pyx,
                                               MachinePrecisionBins()))
            for t in snap.layers]

    history, kept = train_and_keep(net, data, record32, progress)
    epochs = history.epochs
    n_members, n_epochs, n_layers = len(net.seed_list), len(epochs), len(kept[0])
    hidden = n_layers - 1

    # pass 1: every member's layer extremes over all of training (for range binning)
    lo = np.full((n_members, n_layers), np.inf)
    hi = np.full((n_members, n_layers), -np.inf)
    for params in kept:
        for layer, t in enumerate(forward64(params, data.x, net.activation)[0]):
            lo[:, layer] = np.minimum(lo[:, layer], t.amin((1, 2)).numpy())
            hi[:, layer] = np.maximum(hi[:, layer], t.amax((1, 2)).numpy())
    width = np.where(hi > lo, hi - lo, 1.0)

    schemes = {"fixed_width": FixedWidthBins(config.fixed_width),
               "range": RangeBins(config.range_bins, 0.0, 1.0),
               "quantile": QuantileBins(config.quantile_bins),
               "machine": MachinePrecisionBins()}
    if bounded:
        schemes |= {"original": original_bins(net.n_bins),
                    "tanh_spaced": tanh_spaced_bins(config.tanh_edges)}
    out = {f"i_{q}_{s}": np.full((n_members, n_epochs, n_layers), np.nan)
           for s in BINNINGS for q in ("xt", "ty")}
    preact_max = np.zeros((n_members, n_epochs, n_layers))
    kde_at = {int(i): k for k, i in enumerate(config.kde_indices())}
    n_var, n_kde = len(config.kde_variances), config.kde_members
    kde = {key: np.full((n_var, n_kde, len(kde_at), n_layers), np.nan)
           for key in ("i_xt_kde_lower", "i_xt_kde_upper", "i_ty_kde_lower",
                       "i_ty_kde_upper", "i_xt_knn")}

    # pass 2: every estimator on the float64 layers
    bar = tqdm(kept, desc="estimators", disable=not progress, mininterval=1.0, unit="record")
    for index, params in enumerate(bar):
        layers, preacts = forward64(params, data.x, net.activation)
        for layer, (t, z) in enumerate(zip(layers, preacts)):
            preact_max[:, index, layer] = z.abs().amax((1, 2)).numpy()
            scaled = (t - torch.as_tensor(lo[:, layer])[:, None, None]) / \
                torch.as_tensor(width[:, layer])[:, None, None]
            for name, bins in schemes.items():
                ixt, ity = binned_mutual_information(scaled if name == "range" else t, pyx,
                                                     bins)
                out[f"i_xt_{name}"][:, index, layer] = ixt
                out[f"i_ty_{name}"][:, index, layer] = ity
            out["i_xt_machine_float32"][:, index, layer] = machine32[index][layer][0]
            out["i_ty_machine_float32"][:, index, layer] = machine32[index][layer][1]
            if index in kde_at and layer < hidden:
                _kde_and_knn(config, t, data.y, int(epochs[index]), layer, kde,
                             kde_at[index])
    seconds = time.perf_counter() - start
    tqdm.write(f"estimators: {n_members} {net.activation} nets x {net.epochs} epochs, "
               f"{len(schemes) + 1} binnings, KDE/kNN on {n_kde} members x {len(kde_at)} "
               f"epochs x {n_var} variances in {seconds:.0f} s")
    arrays = {"epochs": epochs, "kde_epochs": epochs[sorted(kde_at)],
              "train_acc": history.train_acc, "test_acc": history.test_acc,
              "train_loss": history.train_loss, "test_loss": history.test_loss,
              "grad_mean": history.grad_mean, "grad_std": history.grad_std,
              "weight_norm": history.weight_norm,
              "layer_min": lo, "layer_max": hi, "preact_max": preact_max, **out, **kde}
    return Result(name=NAME, config=config_dict(config), arrays=arrays,
                  meta={"data": data.source, "seconds": seconds, "backend": history.backend,
                        "precision": "float64 layers from the trained float32 weights",
                        "torch": torch.__version__})


def _kde_and_knn(config: Config, t: torch.Tensor, labels: np.ndarray, epoch: int,
                 layer: int, kde: dict[str, np.ndarray], k: int) -> None:
    """KDE bounds and kNN estimates of one layer for the first members at one epoch."""
    for m in range(config.kde_members):
        rows = kde_mutual_information_many(t[m], config.kde_variances, labels)
        for v, (var, row) in enumerate(zip(config.kde_variances, rows)):
            for key, value in row.items():
                kde[f"{key[:4]}_kde_{key[5:]}"][v, m, k, layer] = value
            rng = np.random.default_rng([config.network.seed_list[m], epoch, layer, v])
            noisy = t[m].numpy() + rng.normal(0.0, math.sqrt(var), size=t[m].shape)
            kde["i_xt_knn"][v, m, k, layer] = (knn_entropy(noisy, config.knn_k)
                                              - gaussian_noise_entropy(t.shape[2], var))


def estimates(result: Result) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every estimator's (epochs, I(X;T), I(T;Y)) with shapes (E,), (members, E, layers).

    KDE entries are ``kde_upper@<var>`` and ``kde_lower@<var>``; kNN has no I(T;Y) (NaN).
    Schemes that do not fit the activation (all NaN) are left out.
    """
    out = {s: (result["epochs"], result[f"i_xt_{s}"], result[f"i_ty_{s}"])
           for s in BINNINGS if f"i_xt_{s}" in result.arrays
           and not np.isnan(result[f"i_xt_{s}"]).all()}
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
