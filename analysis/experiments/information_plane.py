"""Chapter 1: the information plane of the 12-bit network (Shwartz-Ziv & Tishby 2017, Fig. 2-3).

An ensemble of 12-10-7-5-4-3-2 networks is trained on the spherical rule; at every
recorded epoch each layer's binned I(X;T) and I(T;Y) is estimated for every member.

Bins must fit the activation. The original code's 30 edges on [-1, 1] suit units bounded
there (tanh, softsign, sigmoid); a ReLU unit above 1 would share the last bin with every
other value above 1, and its growth would read as compression (Saxe et al. 2018). ``binning="fixed"`` with such an activation is refused; ``"range"`` bins each
layer between its own minimum and maximum; ``"auto"`` (the default) takes the fixed edges
where they fit and range bins elsewhere, and says so.
"""
from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch
from scipy.stats import spearmanr
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from .. import stats
from ..claims import Claim
from ..config import Activation, AtLeastTwo, Count, Device, Fraction, NonNegative, Optimizer, Positive, config
from ..data import load_spherical
from ..info.binning import RangeBins, binned_mutual_information, original_bins
from ..nets import SZT_WIDTHS, EnsembleMLP, check_architecture, check_device
from ..train import (EnsembleSchedule, History, Snapshot, log_spaced_epochs, member_splits,
                     train_ensemble)

NAME = "information_plane"
SOURCE = "Shwartz-Ziv & Tishby 2017"
BOUNDED = frozenset({"tanh", "softsign", "sigmoid"})
"""Activations whose values lie in [-1, 1]: the only ones the fixed edges on [-1, 1] fit."""


@config
class Config(EnsembleSchedule):
    """Parameters of one information-plane run.

    Defaults are the original code's: Adam, lr 4e-4, batch 512 (None: full batch), 8000
    epochs, 400 log-spaced record points, 30 bin edges on [-1, 1]; 50 seeds; 85% training
    data. ``data`` is ``"generated"`` (the paper's recipe) or a path to ``var_u.mat``.

    ``binning``: ``"fixed"`` is the original code's ``n_bins`` edges on [-1, 1], refused for
    an activation not bounded there (:data:`BOUNDED`); ``"range"`` puts ``n_bins - 1``
    equal bins (as many as the fixed edges make on [-1, 1]) between each member's layer
    minimum and maximum at that record; ``"auto"`` is ``"fixed"`` for bounded activations
    and ``"range"`` otherwise (:attr:`bins`).
    """

    widths: tuple[Count, ...] = SZT_WIDTHS
    activation: Activation = "tanh"
    seeds: Count = 50
    first_seed: NonNegative = 0
    train_fraction: Fraction = 0.85
    split: Literal["random", "first"] = "random"
    optimizer: Optimizer = "adam"
    lr: Positive = 4e-4
    batch_size: Count | None = 512
    epochs: Count = 8000
    n_records: Count = 400
    n_bins: AtLeastTwo = 30
    data: str = "generated"
    device: Device = "cpu"
    binning: Literal["auto", "fixed", "range"] = "auto"

    def __post_init__(self) -> None:
        check_architecture(self.widths, self.activation)
        if self.binning == "fixed" and self.activation not in BOUNDED:
            raise ValueError(
                f"binning='fixed' puts n_bins={self.n_bins} edges on [-1, 1], but activation "
                f"{self.activation!r} is not bounded to [-1, 1]: its values above 1 would share "
                "the last bin, and their growth would read as compression (Saxe et al. 2018). "
                "Pass binning='range' (bins between each layer's minimum and maximum) or "
                "binning='auto'")

    @property
    def bins(self) -> str:
        """The binning used: ``"fixed"`` or ``"range"`` (``"auto"`` resolved)."""
        if self.binning == "auto":
            return "fixed" if self.activation in BOUNDED else "range"
        return self.binning


def run(config: Config, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the ensemble and estimate every layer's binned MI at every recorded epoch.

    Returns
    -------
    Result
        Arrays ``epochs`` (E,), ``i_xt`` and ``i_ty`` (members, E, layers) in bits,
        ``train_acc``, ``test_acc``, ``train_loss``, ``test_loss`` (members, E),
        ``grad_mean``, ``grad_std``, ``weight_norm`` (members, E, layers; see
        :class:`~analysis.train.History`), ``final_layer1`` ... ``final_layerL`` (the
        layers' outputs at the last epoch, (members, n_samples, width)), ``layer_min`` and
        ``layer_max`` (members, layers: each layer's extreme activation over all recorded
        epochs) and ``mi_xy`` (the task's I(X;Y)); ``meta`` records the data source and
        run time.
    """
    data = load_spherical(config.data)
    check_architecture(config.widths, config.activation, data.n_features, data.n_classes)
    member_splits(data.n_samples, config.train_fraction, [0], config.split)
    check_device(config.device)
    if config.binning == "auto" and config.bins == "range":
        print(f"binning: activation {config.activation!r} is not bounded to [-1, 1], so "
              f"binning='auto' uses range bins ({config.n_bins - 1} equal bins between each "
              f"layer's minimum and maximum at each record) instead of the fixed edges on "
              "[-1, 1]")
    key = {"config": config_dict(config), "data": data.fingerprint}
    return cached(NAME, key, lambda: _compute(config, data, progress), use_cache)


def train_and_record(config: Config, data, on_record, progress: bool = True) -> History:
    """Train the configured ensemble, calling ``on_record`` at every log-spaced record.

    Every experiment that looks at this network (chapters 1-7, 9) trains it through
    here, so the same configuration always gives the same networks.
    """
    seeds = config.seed_list
    train_idx, test_idx = member_splits(data.n_samples, config.train_fraction, seeds,
                                        config.split)
    model = EnsembleMLP(config.widths, config.activation, seeds, device=config.device)
    tcfg = config.train_config()
    return train_ensemble(model, data, train_idx, test_idx, tcfg, on_record=on_record,
                          record_epochs=log_spaced_epochs(tcfg.epochs, tcfg.n_records),
                          progress=progress,
                          desc=f"{len(seeds)} {config.activation} nets, "
                               f"{config.train_fraction:.0%} train")


def _compute(config: Config, data, progress: bool) -> Result:
    start = time.perf_counter()
    seeds = config.seed_list
    epochs = log_spaced_epochs(config.epochs, config.n_records)
    n_layers = len(config.widths) - 1
    i_xt = np.zeros((len(seeds), len(epochs), n_layers))
    i_ty = np.zeros_like(i_xt)
    bins = original_bins(config.n_bins) if config.bins == "fixed" else RangeBins(config.n_bins - 1)
    final: dict[str, np.ndarray] = {}
    layer_min = np.full((len(seeds), n_layers), np.inf)
    layer_max = np.full((len(seeds), n_layers), -np.inf)

    def estimate(snap: Snapshot) -> None:
        for layer, t in enumerate(snap.layers):
            t = t.cpu().transpose(1, 2)
            ixt, ity = binned_mutual_information(t, data.p_y_given_x, bins)
            i_xt[:, snap.index, layer] = ixt
            i_ty[:, snap.index, layer] = ity
            layer_min[:, layer] = np.minimum(layer_min[:, layer], t.amin((1, 2)).numpy())
            layer_max[:, layer] = np.maximum(layer_max[:, layer], t.amax((1, 2)).numpy())
            if snap.epoch == epochs[-1]:
                final[f"final_layer{layer + 1}"] = t.numpy().copy()

    history = train_and_record(config, data, estimate, progress)
    seconds = time.perf_counter() - start
    tqdm.write(
        f"information plane: {len(seeds)} members x {config.epochs} epochs "
        f"({config.train_fraction:.0%} training data) in {seconds:.0f} s; final train acc "
        f"{np.nanmean(history.train_acc[:, -1]):.3f}, test acc {np.nanmean(history.test_acc[:, -1]):.3f}"
    )
    return Result(
        name=NAME,
        config=config_dict(config),
        arrays={"epochs": history.epochs, "i_xt": i_xt, "i_ty": i_ty,
                "train_acc": history.train_acc, "test_acc": history.test_acc,
                "train_loss": history.train_loss, "test_loss": history.test_loss,
                "grad_mean": history.grad_mean, "grad_std": history.grad_std,
                "weight_norm": history.weight_norm, **final,
                "layer_min": layer_min, "layer_max": layer_max,
                "mi_xy": np.array(data.source.get("mi_xy_bits", np.nan))},
        meta={"data": data.source, "seconds": seconds, "torch": torch.__version__,
              "binning": config.bins},
    )


def compression(i_xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: the seed-averaged I(X;T)'s fall from its peak to the end, and the peak's index.

    The fall in bits, for figures and tables; verdicts use the book's criterion, the fall
    as a share of the peak with the peak after the start (:func:`analysis.stats.relative_fall`).

    Parameters
    ----------
    i_xt : ndarray, shape (members, epochs, layers)

    Returns
    -------
    drop : ndarray, shape (layers,)
        max_e mean I(X;T) - mean I(X;T) at the last epoch, in bits (>= 0).
    peak : ndarray of int, shape (layers,)
        Index of the recorded epoch where the seed-averaged I(X;T) peaks.
    """
    mean = np.round(i_xt.mean(axis=0), 9)  # exact ties (e.g. a layer flat at 12 bits) -> first
    peak = mean.argmax(axis=0)
    return mean.max(axis=0) - mean[-1], peak


CEILING = 12.0
"""log2 of the 4096 patterns: the largest I(X;T) a layer can hold on the 12-bit task."""
CEILING_TOL = 0.01
"""A layer within this many bits of :data:`CEILING` at initialisation starts at its ceiling."""


def at_ceiling(i_xt: np.ndarray, ceiling: float = CEILING) -> np.ndarray:
    """Layers whose member-averaged I(X;T) at initialisation is within :data:`CEILING_TOL`
    bits of the ceiling: they cannot fit (rise) first, so "fitting, then compression" is
    not testable for them, wherever float noise puts their peak."""
    return np.nanmean(i_xt[:, 0], axis=0) >= ceiling - CEILING_TOL


def compressing(i_xt: np.ndarray, ceiling: float = CEILING) -> np.ndarray:
    """Layers that compress by the book's criterion: the member-averaged I(X;T) falls by at
    least :data:`analysis.stats.COMPRESSION` of its peak, the peak after the start (and a
    start below the ceiling, :func:`at_ceiling`)."""
    f = stats.relative_fall(i_xt)
    return ~f.at_start & ~at_ceiling(i_xt, ceiling) & (f.fall >= stats.COMPRESSION)


def fitting_gain(i_xt: np.ndarray, i_ty: np.ndarray) -> np.ndarray:
    """Per layer: rise of the seed-averaged I(T;Y) from initialisation to the I(X;T) peak (bits)."""
    _, peak = compression(i_xt)
    mean_ty = i_ty.mean(axis=0)
    return mean_ty[peak, np.arange(mean_ty.shape[1])] - mean_ty[0]


def layer_fitting_gain(i_xt: np.ndarray, i_ty: np.ndarray, layer: int) -> float:
    """:func:`fitting_gain` of one layer; NaN when its I(X;T) peaks at initialisation (no
    fitting phase before a compression to measure)."""
    if stats.relative_fall(i_xt[..., layer:layer + 1]).at_start[0]:
        return float("nan")
    return float(fitting_gain(i_xt[..., layer:layer + 1], i_ty[..., layer:layer + 1])[0])


def layer_order_fraction(values: np.ndarray, tol: float = 1e-9) -> float:
    """Share of (member, epoch, consecutive layer pair) with value(l) >= value(l+1).

    The data-processing inequality demands I(X;T_l) >= I(X;T_{l+1}) and
    I(T_l;Y) >= I(T_{l+1};Y) for exact mutual information.
    """
    return float(np.mean(values[..., :-1] >= values[..., 1:] - tol))


def epochs_after_peak(i_xt: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    """Per layer: the share of the training epochs that come after the member-averaged
    I(X;T) peak, (last epoch - peak epoch) / last epoch."""
    peak = np.asarray(epochs)[stats.relative_fall(i_xt).peak]
    last = float(np.max(epochs))
    return (last - peak) / last


def compressing_epoch_share(i_xt: np.ndarray, epochs: np.ndarray) -> float:
    """The smallest :func:`epochs_after_peak` over the compressing layers (NaN if none):
    at least this share of the epochs is spent compressing, in every compressing layer."""
    comp = compressing(i_xt)
    return float(epochs_after_peak(i_xt, epochs)[comp].min()) if comp.any() else float("nan")


def depth_order(i_xt: np.ndarray, epochs: np.ndarray, min_layers: int = 3) -> float:
    """Spearman correlation of layer index with the epoch of the I(X;T) peak, over the
    compressing layers: negative when deeper layers start compressing earlier.

    NaN with fewer than ``min_layers`` compressing layers or when their peaks tie.
    """
    comp = np.flatnonzero(compressing(i_xt))
    if len(comp) < min_layers:
        return float("nan")
    peak_epochs = np.asarray(epochs)[stats.relative_fall(i_xt).peak[comp]]
    if np.ptp(peak_epochs) == 0:
        return float("nan")
    return float(spearmanr(comp, peak_epochs).statistic)


def _over(i_xt: np.ndarray) -> str:
    return f"bootstrap over {i_xt.shape[0]} members"


def claims(result: Result) -> list[Claim]:
    """The verdicts of chapter 1 from a run's arrays (hidden layers: the softmax output is
    not a hidden representation and is left out of the compression rows)."""
    i_xt, i_ty, epochs = result["i_xt"], result["i_ty"], result["epochs"]
    n_hidden = i_xt.shape[2] - 1
    hid_xt, hid_ty = i_xt[..., :n_hidden], i_ty[..., :n_hidden]
    over = _over(i_xt)
    fall = stats.relative_fall(hid_xt)
    ceiling = at_ceiling(hid_xt)
    last = n_hidden - 1
    rows = [Claim.test(
        f"{SOURCE}, Fig. 3",
        f"In the first (fitting) phase the layers gain I(T;Y) (deepest hidden layer, {last + 1}).",
        f"rise of mean I(T_{last + 1};Y) from epoch 0 to the peak of I(X;T_{last + 1}) (bits)",
        layer_fitting_gain(hid_xt, hid_ty, last), ">=", 0.1,
        stats.bootstrap(lambda x, y: layer_fitting_gain(x, y, last), hid_xt, hid_ty),
        over=over,
        untestable="its I(X;T) peaks at initialisation: no fitting phase before it"
        if fall.at_start[last] or ceiling[last] else None)]
    for layer in range(n_hidden):
        rows.append(Claim.test(
            f"{SOURCE}, Fig. 3", f"Hidden layer {layer + 1} compresses: I(X;T) falls after its peak.",
            f"fall of mean I(X;T_{layer + 1}) from its peak to the last epoch, share of the peak",
            float(fall.fall[layer]), ">=", stats.COMPRESSION,
            stats.bootstrap(lambda x, k=layer: stats.layer_fall(x, k), hid_xt), over=over,
            untestable=f"its I(X;T) is highest at initialisation ({fall.top[layer]:.2f} bits): "
                       "no fitting phase to compress after" if fall.at_start[layer] else
                       f"it starts at the ceiling of {CEILING:g} bits (within "
                       f"{CEILING_TOL:g}): no fitting phase to compress after"
                       if ceiling[layer] else None))
    comp = compressing(hid_xt)
    rows.append(Claim.test(
        f"{SOURCE}, abstract (i)", "Most of the training epochs are spent compressing.",
        "share of the epochs after the I(X;T) peak, smallest over the compressing hidden "
        "layers", compressing_epoch_share(hid_xt, epochs), ">", 0.5,
        stats.bootstrap(lambda x: compressing_epoch_share(x, epochs), hid_xt), over=over,
        untestable=None if comp.any() else "no hidden layer compresses"))
    rho = depth_order(hid_xt, epochs)
    n_comp = int(comp.sum())
    peak_epochs = epochs[fall.peak[comp]]
    best = stats.best_spearman(np.flatnonzero(comp), peak_epochs) if n_comp >= 3 else np.nan
    why = (f"only {n_comp} hidden layers compress (3 needed)" if n_comp < 3 else
           "the compressing layers' peaks tie" if not np.isfinite(best) else
           f"ties among the peak epochs: the best reachable correlation is {best:.2f}"
           if best > -0.5 else None)
    rows.append(Claim.test(
        f"{SOURCE}, Fig. 5 and its discussion",
        "Deeper layers compress earlier (their I(X;T) peaks sooner).",
        "Spearman correlation of layer index with the epoch of the I(X;T) peak, "
        "compressing hidden layers", rho, "<=", -0.5,
        stats.bootstrap(lambda x: depth_order(x, epochs), hid_xt), over=over,
        untestable=why))
    rows.append(Claim.test(
        f"{SOURCE}, Fig. 3", "Layers keep the data-processing order in I(X;T).",
        "share of (member, epoch, layer pair) with I(X;T_l) >= I(X;T_l+1)",
        layer_order_fraction(i_xt), ">=", 0.95,
        stats.bootstrap(layer_order_fraction, i_xt), over=over))
    rows.append(Claim.test(
        f"{SOURCE}, Fig. 3", "Layers keep the data-processing order in I(T;Y).",
        "share of (member, epoch, layer pair) with I(T_l;Y) >= I(T_l+1;Y)",
        layer_order_fraction(i_ty), ">=", 0.95,
        stats.bootstrap(layer_order_fraction, i_ty), over=over))
    return rows
