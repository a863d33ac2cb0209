"""Chapters 12-13: noisy 12-bit networks, whose compression is the clustering of representations.

Goldfeld et al. (2019), sections 5-6. The network of chapter 1 with Gaussian noise of
standard deviation beta added to every hidden layer, in training and in evaluation:
T_l = f_l(T_(l-1)) + Z_l. For such a network I(X;T_l) is finite and informative; it is
estimated by sample propagation (:mod:`analysis.info.sp`) with X uniform over a
class-balanced subset of the 4096 patterns. Alongside, the clustering of the layers'
noiseless outputs S_l is measured (:mod:`analysis.info.clustering`): same-class against
between-class distances, the silhouette of the classes and the number of clusters at the
scale of the noise. With ``beta = 0`` the network is deterministic and the chapter-1
binned I(X;T) is recorded with H(Bin(T)) computed independently, plus the same clustering
measures at the scale of a bin. ``orthonormal > 0`` applies the Parseval step
W <- (1 + a) W - a W W^T W to the hidden weights after every update (Cisse et al. 2017),
the constraint of chapter 13.
"""
from __future__ import annotations

import time
from typing import Annotated

import numpy as np
import torch
from pydantic import Field
from scipy.stats import spearmanr
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import (Activation, AtLeastTwo, Count, Device, Fraction, NonNegative,
                      NonNegativeReal, Optimizer, Positive, config)
from ..data import load_spherical
from ..info.binning import binned_mutual_information, original_bins
from ..info.clustering import binned_entropy, clustering_measures
from ..info.sp import sp_information
from ..nets import SZT_WIDTHS, Ensemble, EnsembleMLP, check_architecture, check_device
from ..train import (EnsembleSchedule, Snapshot, log_spaced_epochs, member_splits,
                     noise_generator, train_ensemble)
from .estimators import COMPRESSION, relative_compression

NAME = "noisy_networks"
SOURCE = "Goldfeld et al. 2019"
MEASURES = ("distance_ratio", "silhouette", "log2_clusters")


@config
class Config(EnsembleSchedule):
    """Parameters of one noisy-network run (training as in chapter 1 unless stated).

    ``beta`` is the noise standard deviation (0: deterministic network, binned MI);
    ``n_inputs`` the size of the class-balanced subset of patterns over which X is uniform
    for SP and the clustering measures; ``n_conditional`` the noisy passes per input that
    sample h(T_l | X); ``n_mc`` the noise draws per centre; ``cluster_scale`` the distance,
    in units of beta, below which representations count as one cluster; ``orthonormal``
    the step size of the Parseval step (0: none).
    """

    widths: tuple[Count, ...] = SZT_WIDTHS
    activation: Activation = "tanh"
    beta: NonNegativeReal = 0.01
    seeds: Count = 5
    first_seed: NonNegative = 0
    train_fraction: Fraction = 0.85
    optimizer: Optimizer = "adam"
    lr: Positive = 4e-4
    batch_size: Count | None = 512
    epochs: Count = 4000
    n_records: Count = 60
    n_inputs: Annotated[int, Field(ge=4)] = 512
    n_conditional: Count = 32
    n_mc: Count = 10
    cluster_scale: Positive = 3.0
    orthonormal: NonNegativeReal = 0.0
    n_bins: AtLeastTwo = 30
    data: str = "generated"
    device: Device = "cpu"

    def __post_init__(self) -> None:
        check_architecture(self.widths, self.activation)

    @property
    def label(self) -> str:
        noise = f"beta={self.beta:g}" if self.beta > 0 else "deterministic"
        constraint = f", Parseval {self.orthonormal:g}" if self.orthonormal > 0 else ""
        return f"{self.seeds} {self.activation} nets, {noise}{constraint}"


def balanced_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` patterns, as equal a share of every class as possible."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    shares = np.full(len(classes), n // len(classes))
    shares[: n % len(classes)] += 1
    picked = []
    for c, k in zip(classes, shares):
        members = np.flatnonzero(labels == c)
        if k > len(members):
            raise ValueError(f"class {c} has {len(members)} patterns, {k} requested")
        picked.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picked))


def run(config: Config, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the (noisy) ensemble and record I(X;T_l) and the clustering of every hidden layer.

    Returns
    -------
    Result
        ``epochs`` (E,); ``i_xt`` (members, E, hidden layers) in bits — SP for a noisy
        network, binned (chapter 1's 30 bins) for a deterministic one; ``h_bin``
        (H(Bin(T)) of the deterministic network, NaN for a noisy one); the clustering
        measures ``distance_ratio``, ``silhouette`` and ``log2_clusters``
        (members, E, hidden layers); ``train_acc``, ``test_acc``, ``train_loss``,
        ``test_loss`` (members, E), evaluated with the noise.
    """
    data = load_spherical(config.data)
    check_architecture(config.widths, config.activation, data.n_features, data.n_classes)
    member_splits(data.n_samples, config.train_fraction, [0])
    check_device(config.device)
    balanced_subset(data.y, config.n_inputs, config.first_seed)
    key = {"config": config_dict(config), "data": data.fingerprint}
    return cached(NAME, key, lambda: _compute(config, data, progress), use_cache)


def clustering(centres: torch.Tensor, labels: np.ndarray, scale: float) -> dict[str, np.ndarray]:
    """The clustering measures of :data:`MEASURES` of every member's representations.

    ``centres`` has shape (members, n, d); ``scale`` is the distance below which two
    representations count as one cluster. Returns arrays of shape (members,).
    """
    shared = clustering_measures(centres, labels, scale)
    return {"distance_ratio": shared["distance_ratio"], "silhouette": shared["silhouette"],
            "log2_clusters": np.log2(shared["clusters"])}


def sp_and_clustering(model: Ensemble, x_rep: torch.Tensor, labels: np.ndarray,
                      n_conditional: int, n_mc: int, scale: float, epoch: int,
                      hidden: int) -> dict[str, np.ndarray]:
    """I(X;T_l) by sample propagation and the clustering of S_l, for every hidden layer.

    X is uniform over n inputs; ``x_rep`` holds them ``n_conditional`` times over,
    repeat-major, feature-major (d, n_conditional * n). One noisy pass gives every layer's
    centres S_l (the first repeat, whose clustering is measured) and, for l > 1,
    ``n_conditional`` draws of S_l given each input, whose Gaussian mixture is p(t_l | x);
    I(X;T_l) is then estimated by :func:`analysis.info.sp.sp_information` (Goldfeld et
    al. 2019, section 3). Noise draws are fixed by the members' seeds and ``epoch``.

    Returns
    -------
    dict
        ``i_xt`` (bits) and the :func:`clustering` measures of the centres, each of shape
        (members, hidden).
    """
    beta, seeds, dev = model.noise_std, model.seeds, model.device
    gen = noise_generator(seeds, 2**31 + epoch, dev)
    with torch.no_grad():
        signals = model.signals(x_rep, gen)
    n, m = x_rep.shape[1] // n_conditional, n_conditional
    out = {key: np.full((len(seeds), hidden), np.nan) for key in ("i_xt", *MEASURES)}
    for layer in range(hidden):
        s = signals[layer].double().transpose(1, 2).reshape(len(seeds), m, n, -1)
        centres = s[:, 0]
        # S_1 is a function of X: one sample per input is its whole conditional law
        samples = centres[:, :, None] if layer == 0 else s.transpose(1, 2)
        out["i_xt"][:, layer] = sp_information(samples, beta, n_mc, seed=epoch).cpu().numpy()
        for key, value in clustering(centres.cpu(), labels, scale).items():
            out[key][:, layer] = value
    return out


def _compute(config: Config, data, progress: bool) -> Result:
    start = time.perf_counter()
    seeds = config.seed_list
    dev = torch.device(config.device)
    epochs = log_spaced_epochs(config.epochs, config.n_records)
    hidden = len(config.widths) - 2
    shape = (len(seeds), len(epochs), hidden)
    arrays = {key: np.full(shape, np.nan) for key in ("i_xt", "h_bin", *MEASURES)}
    sub = balanced_subset(data.y, config.n_inputs, config.first_seed)
    labels = data.y[sub]
    x_sub = torch.as_tensor(data.x[sub], dtype=torch.float32, device=dev).T
    x_rep = x_sub.repeat(1, config.n_conditional)       # (d, m * n): repeat-major
    bins = original_bins(config.n_bins)
    scale = (config.cluster_scale * config.beta if config.beta > 0
             else float(np.diff(bins.edges)[0]))
    model = EnsembleMLP(config.widths, config.activation, seeds, noise_std=config.beta,
                        device=dev)

    def estimate_noisy(snap: Snapshot) -> None:
        values = sp_and_clustering(model, x_rep, labels, config.n_conditional, config.n_mc,
                                   scale, snap.epoch, hidden)
        for key, value in values.items():
            arrays[key][:, snap.index] = value

    def estimate_deterministic(snap: Snapshot) -> None:
        for layer in range(hidden):
            t = snap.layers[layer].cpu().transpose(1, 2)
            arrays["i_xt"][:, snap.index, layer] = binned_mutual_information(
                t, data.p_y_given_x, bins)[0]
            arrays["h_bin"][:, snap.index, layer] = binned_entropy(t, np.asarray(bins.edges))
            for key, value in clustering(t[:, sub], labels, scale).items():
                arrays[key][:, snap.index, layer] = value

    train_idx, test_idx = member_splits(data.n_samples, config.train_fraction, seeds)
    history = train_ensemble(
        model, data, train_idx, test_idx, config.train_config(),
        on_record=estimate_noisy if config.beta > 0 else estimate_deterministic,
        record_epochs=epochs, progress=progress, desc=config.label,
        parseval=config.orthonormal)
    seconds = time.perf_counter() - start
    tqdm.write(f"{config.label}: {config.epochs} epochs in {seconds:.0f} s; final test acc "
               f"{np.nanmean(history.test_acc[:, -1]):.3f}; I(X;T) of the last hidden layer "
               f"{np.mean(arrays['i_xt'][:, -1, -1]):.2f} bits")
    return Result(
        name=NAME, config=config_dict(config),
        arrays={"epochs": history.epochs, **arrays, "subset": sub,
                "train_acc": history.train_acc, "test_acc": history.test_acc,
                "train_loss": history.train_loss, "test_loss": history.test_loss},
        meta={"data": data.source, "seconds": seconds, "torch": torch.__version__})


def correlations(x: np.ndarray, y: np.ndarray, from_peak: bool = False) -> np.ndarray:
    """Per layer: Spearman correlation over the records of the member-averaged curves.

    ``x`` and ``y`` have shape (members, records, layers). With ``from_peak`` only the
    records from the peak of the member-averaged ``x`` onwards count (the compression
    phase); a layer with fewer than 4 such records, or a constant curve, gives NaN.
    """
    mx, my = np.nanmean(x, axis=0), np.nanmean(y, axis=0)
    out = np.full(mx.shape[1], np.nan)
    for layer in range(mx.shape[1]):
        begin = int(np.round(mx[:, layer], 9).argmax()) if from_peak else 0
        a, b = mx[begin:, layer], my[begin:, layer]
        if len(a) >= 4 and np.ptp(a) > 0 and np.ptp(b) > 0:
            out[layer] = spearmanr(a, b).statistic
    return out


def median(values: np.ndarray) -> float:
    """Median of the finite values; NaN (without a warning) when there are none."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def final_accuracy(result: Result) -> float:
    """Member-averaged test accuracy at the last record."""
    return float(np.nanmean(result["test_acc"][:, -1]))


def clustering_claims(noisy: dict[str, Result], deterministic: dict[str, Result]) -> list[Claim]:
    """The verdicts of chapter 12, per activation (keys of both dicts).

    Compression is the relative fall of the member-averaged I(X;T_l) after its peak
    (chapter 6's statistic); where a layer compresses, the fall must coincide with rising
    same-class clustering (negative Spearman correlation between I(X;T_l) and the
    silhouette from the peak on). Everywhere, I(X;T_l) must follow the number of clusters
    at the noise scale, and the noisy network must be about as accurate as the
    deterministic one. For the deterministic networks the binned I(X;T) must equal
    H(Bin(T)) and follow the number of clusters at the scale of a bin.
    """
    rows = []
    for act, r in noisy.items():
        squeezed = relative_compression(r["i_xt"]) >= COMPRESSION
        corr = correlations(r["i_xt"], r["silhouette"], from_peak=True)[squeezed]
        beta = r.config["beta"]
        if squeezed.any():
            rows.append(Claim.test(
                f"{SOURCE}, section 5.1",
                f"{act}, beta = {beta:g}: where I(X;T) falls, same-class clustering rises.",
                f"median Spearman rho(I(X;T), silhouette) from the peak, over the "
                f"{int(squeezed.sum())} compressing layers", median(corr),
                "<=", -0.5))
        rows += [
            Claim.test(f"{SOURCE}, sections 4-5",
                       f"{act}, beta = {beta:g}: I(X;T) follows the clustering at the noise "
                       "scale.",
                       f"median over layers of Spearman rho(I(X;T), log2 clusters at "
                       f"{r.config['cluster_scale']:g} beta)",
                       median(correlations(r["i_xt"], r["log2_clusters"])),
                       ">=", 0.7),
            Claim.test(f"{SOURCE}, section 5.1",
                       f"{act}: the noisy network is about as accurate as the deterministic one.",
                       "|test accuracy noisy - deterministic| at the end",
                       abs(final_accuracy(r) - final_accuracy(deterministic[act])), "<=", 0.05),
        ]
    for act, r in deterministic.items():
        rows.append(Claim.test(
            f"{SOURCE}, section 5.2",
            f"{act}, deterministic: the binned I(X;T) is exactly H(Bin(T)).",
            "largest |binned I(X;T) - H(Bin(T))| over members, records, layers (bits)",
            float(np.nanmax(np.abs(r["i_xt"] - r["h_bin"]))), "<=", 1e-9, digits=12))
        if act == "tanh":
            rows.append(Claim.test(
                f"{SOURCE}, section 5.2",
                "tanh, deterministic: the binned I(X;T) follows the clustering at the scale "
                "of a bin.",
                "median over layers of Spearman rho(H(Bin(T)), log2 clusters at a bin width)",
                median(correlations(r["h_bin"], r["log2_clusters"])),
                ">=", 0.7))
    return rows


def final_mean(result: Result, key: str) -> float:
    """Member- and layer-averaged value of ``key`` at the last record."""
    return float(np.nanmean(result[key][:, -1]))


def constraint_claims(free: Result, constrained: Result) -> list[Claim]:
    """The verdicts of chapter 13: the orthonormality constraint limits clustering,
    and with it compression, at a small cost in accuracy."""
    label = f"Parseval step {constrained.config['orthonormal']:g}"
    comp_free = float(np.mean(relative_compression(free["i_xt"])))
    comp_con = float(np.mean(relative_compression(constrained["i_xt"])))
    return [
        Claim.test(f"{SOURCE}, section 6",
                   "An orthonormality constraint on the weights limits same-class clustering.",
                   f"final silhouette, {label} minus unconstrained (mean over layers)",
                   final_mean(constrained, "silhouette") - final_mean(free, "silhouette"),
                   "<", 0.0, digits=3),
        Claim.test(f"{SOURCE}, section 6",
                   "With less clustering there is less compression.",
                   f"relative fall of I(X;T) after its peak, {label} minus unconstrained "
                   "(mean over layers)", comp_con - comp_free, "<", 0.0, digits=3),
        Claim.test(f"{SOURCE}, section 6",
                   "The constraint costs little accuracy.",
                   "test accuracy unconstrained minus constrained",
                   final_accuracy(free) - final_accuracy(constrained), "<=", 0.05, digits=3),
    ]
