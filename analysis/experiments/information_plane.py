"""Chapter 1: the information plane of the 12-bit network (Shwartz-Ziv & Tishby 2017, Fig. 2-3).

An ensemble of 12-10-7-5-4-3-2 networks is trained on the spherical rule; at every
recorded epoch each layer's binned I(X;T) and I(T;Y) is estimated for every member.
"""
from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import Activation, AtLeastTwo, Count, Device, Fraction, NonNegative, Optimizer, Positive, config
from ..data import load_spherical
from ..info.binning import binned_mutual_information, original_bins
from ..nets import SZT_WIDTHS, EnsembleMLP, check_architecture, check_device
from ..train import (EnsembleSchedule, History, Snapshot, log_spaced_epochs, member_splits,
                     train_ensemble)

NAME = "information_plane"
SOURCE = "Shwartz-Ziv & Tishby 2017"


@config
class Config(EnsembleSchedule):
    """Parameters of one information-plane run.

    Defaults are the original code's: Adam, lr 4e-4, batch 512 (None: full batch), 8000
    epochs, 400 log-spaced record points, 30 bin edges on [-1, 1]; 50 seeds; 85% training
    data. ``data`` is ``"generated"`` (the paper's recipe) or a path to ``var_u.mat``.
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

    def __post_init__(self) -> None:
        check_architecture(self.widths, self.activation)


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
    bins = original_bins(config.n_bins)
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
        meta={"data": data.source, "seconds": seconds, "torch": torch.__version__},
    )


def compression(i_xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: the seed-averaged I(X;T)'s fall from its peak to the end, and the peak's index.

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


def fitting_gain(i_xt: np.ndarray, i_ty: np.ndarray) -> np.ndarray:
    """Per layer: rise of the seed-averaged I(T;Y) from initialisation to the I(X;T) peak (bits)."""
    _, peak = compression(i_xt)
    mean_ty = i_ty.mean(axis=0)
    return mean_ty[peak, np.arange(mean_ty.shape[1])] - mean_ty[0]


def layer_order_fraction(values: np.ndarray, tol: float = 1e-9) -> float:
    """Share of (member, epoch, consecutive layer pair) with value(l) >= value(l+1).

    The data-processing inequality demands I(X;T_l) >= I(X;T_{l+1}) and
    I(T_l;Y) >= I(T_{l+1};Y) for exact mutual information.
    """
    return float(np.mean(values[..., :-1] >= values[..., 1:] - tol))


def claims(result: Result) -> list[Claim]:
    """The verdicts of chapter 1 from a run's arrays."""
    i_xt, i_ty = result["i_xt"], result["i_ty"]
    hidden = slice(0, i_xt.shape[2] - 1)
    drop, _ = compression(i_xt[..., hidden])
    gain = fitting_gain(i_xt[..., hidden], i_ty[..., hidden])
    last = len(gain)
    rows = [Claim.test(
        f"{SOURCE}, Fig. 3", "In the first (fitting) phase the layers gain I(T;Y).",
        f"rise of mean I(T_{last};Y), epoch 0 to the peak of I(X;T_{last}) (bits)",
        float(gain[-1]), ">=", 0.1)]
    for layer, d in enumerate(drop, start=1):
        rows.append(Claim.test(
            f"{SOURCE}, Fig. 3", f"Hidden layer {layer} compresses: I(X;T) falls after its peak.",
            f"fall of mean I(X;T_{layer}) from its peak to the last epoch (bits)",
            float(d), ">=", 0.1))
    rows.append(Claim.test(
        f"{SOURCE}, section 2.3", "Layers obey the data-processing order in I(X;T).",
        "share of (member, epoch, layer pair) with I(X;T_l) >= I(X;T_l+1)",
        layer_order_fraction(i_xt), ">=", 0.95))
    rows.append(Claim.test(
        f"{SOURCE}, section 2.3", "Layers obey the data-processing order in I(T;Y).",
        "share of (member, epoch, layer pair) with I(T_l;Y) >= I(T_l+1;Y)",
        layer_order_fraction(i_ty), ">=", 0.95))
    return rows
