"""Chapter 14: MNIST through the information plane (Saxe et al. 2018; Goldfeld et al. 2019).

Two experiments on real images.

- Saxe et al. (2018, Fig. 1 C-D and section 2): the fully connected network
  784-1024-20-20-20-10, tanh or ReLU, trained by SGD on minibatches of 128. At log-spaced
  epochs I(X;T) and I(T;Y) of every layer are estimated on the test images by the
  pairwise-distance (KDE) bounds of Kolchinsky & Tracey with noise variance 0.1 added to
  the layer (:mod:`analysis.info.kde`), and by binning with bins of width 0.5 (their
  code's binning). Their finding (Fig. 1C-D): the tanh network compresses only in its
  final classification layer, the ReLU network not at all.
- Goldfeld et al. (2019, section 7): a small *noisy* convolutional network — Gaussian
  noise of standard deviation beta added to the output of every hidden layer, in
  training and evaluation — whose I(X;T_l) is estimated by sample propagation on a
  class-balanced subset of the training images, next to the clustering of the layers'
  same-class representations (:mod:`analysis.info.clustering`). Their finding:
  compression happens where, and when, same-class representations cluster.

Compression is the book's one criterion (:mod:`analysis.stats`): the fall of the
member-averaged I(X;T) from its peak, the peak after the start, to the last record, as
a share of the peak, against 5%; every verdict has a bootstrap interval over members.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field
from scipy.stats import spearmanr
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import Activation, Count, Device, NonNegative, Optimizer, Positive, config
from ..data import Dataset, ImageData, load_images, one_hot
from ..data.images import LOADERS
from ..info.binning import FixedWidthBins, binned_mutual_information
from ..info.kde import kde_mutual_information_many
from ..nets import EnsembleCNN, EnsembleMLP, check_architecture, check_device
from ..stats import COMPRESSION, bootstrap, largest_fall, layer_fall, relative_fall
from ..train import EnsembleSchedule, Snapshot, log_spaced_epochs, train_ensemble
from .noisy_networks import MEASURES, balanced_subset, sp_and_clustering

SAXE = "mnist_saxe"
CNN = "mnist_noisy_cnn"
SAXE_SOURCE = {"tanh": "Saxe et al. 2018, Fig. 1C", "relu": "Saxe et al. 2018, Fig. 1D"}
GOLDFELD_SOURCE = "Goldfeld et al. 2019, section 7"
ESTIMATORS = ("kde_upper", "kde_lower", "bin")
"""Estimates of the Saxe experiment: the KDE upper and lower bounds and fixed-width bins."""


MIInputs = Annotated[int, Field(ge=20)]
"""Images over which X is uniform for the estimators: at least two per class."""
MaxTrain = Annotated[int, Field(ge=10)]
"""A cap on the training images."""


@config
class SaxeConfig(EnsembleSchedule):
    """Parameters of the fully connected MNIST network of Saxe et al. (2018).

    ``kde_var`` is the variance of the noise the KDE bounds add to a layer, ``bin_size``
    the width of the bins; both estimate on the test images, at most ``mi_inputs`` of them
    (a class-balanced subset; None: all). ``max_train`` caps the training images (a
    random subset; None: all). ``signed_inputs`` scales the pixels to [-1, 1], as Saxe et
    al.'s code does (False: [0, 1]).
    """

    dataset: Literal[tuple(LOADERS)] = "mnist"
    hidden: tuple[Count, ...] = (1024, 20, 20, 20)
    activation: Activation = "tanh"
    seeds: Count = 3
    first_seed: NonNegative = 0
    optimizer: Optimizer = "sgd"
    lr: Positive = 0.1
    batch_size: Count | None = 128
    epochs: Count = 150
    n_records: Count = 20
    kde_var: Positive = 0.1
    bin_size: Positive = 0.5
    mi_inputs: MIInputs | None = 1000
    max_train: MaxTrain | None = None
    signed_inputs: bool = True
    allow_download: bool = True
    device: Device = "cpu"


@config
class CNNConfig(EnsembleSchedule):
    """Parameters of the noisy convolutional network (:class:`analysis.nets.EnsembleCNN`).

    ``beta`` is the noise standard deviation of every hidden layer; SP and the clustering
    measures use ``mi_inputs`` class-balanced training images (X uniform over them),
    ``n_conditional`` noisy passes per image for h(T_l | X), ``n_mc`` noise draws per
    centre, and count clusters at ``cluster_scale`` times beta (as chapter 12).
    """

    dataset: Literal[tuple(LOADERS)] = "mnist"
    channels: Annotated[tuple[Count, ...], Field(min_length=1)] = (8, 16)
    dense: tuple[Count, ...] = (32, 8)
    kernel: Count = 5
    stride: Count = 2
    activation: Activation = "tanh"
    beta: Positive = 0.2
    seeds: Count = 2
    first_seed: NonNegative = 0
    optimizer: Optimizer = "adam"
    lr: Positive = 1e-3
    batch_size: Count | None = 128
    epochs: Count = 60
    n_records: Count = 20
    mi_inputs: MIInputs = 200
    n_conditional: Count = 8
    n_mc: Count = 10
    cluster_scale: Positive = 3.0
    max_train: MaxTrain | None = None
    allow_download: bool = True
    device: Device = "cpu"

    def __post_init__(self) -> None:
        EnsembleCNN((1, 28, 28), self.channels, self.dense, 10, self.kernel, self.stride,
                    self.activation)  # validates the architecture on a small image


@dataclass
class ImageTask:
    """Training and test images as one :class:`Dataset` (flattened), with index sets."""

    data: Dataset
    train_idx: np.ndarray
    test_idx: np.ndarray
    image_shape: tuple[int, ...]
    fingerprint: dict

    @property
    def n_train(self) -> int:
        return self.train_idx.shape[1]


def image_task(images: ImageData, max_train: int | None = None, seed: int = 0,
               signed: bool = False) -> ImageTask:
    """Flatten ``images`` into one dataset: training images first, then the test images.

    With ``max_train`` a random subset of that many training images (drawn with ``seed``)
    is kept; with ``signed`` the pixels are mapped from [0, 1] to [-1, 1]. The index sets
    have one row, shared by every member of an ensemble.
    """
    x_train, y_train = images.x_train, images.y_train
    if max_train is not None and max_train < len(x_train):
        keep = np.sort(np.random.default_rng(seed).choice(len(x_train), max_train,
                                                          replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    x = np.concatenate([x_train, images.x_test]).reshape(len(x_train) + len(images.x_test), -1)
    if signed:
        x = 2.0 * x - 1.0
    y = np.concatenate([y_train, images.y_test]).astype(np.int64)
    data = Dataset(x.astype(np.float32), y, one_hot(y, images.n_classes), images.name,
                   images.source)
    n_train = len(x_train)
    return ImageTask(data, np.arange(n_train)[None], np.arange(n_train, len(y))[None],
                     tuple(images.x_train.shape[1:]), images.fingerprint)


def load_task(dataset: str, allow_download: bool, max_train: int | None, seed: int,
              signed: bool = False) -> ImageTask:
    """:func:`image_task` of a dataset by name (fails with the path and how to get it)."""
    return image_task(load_images(dataset, allow_download=allow_download), max_train, seed,
                      signed)


def run_saxe(config: SaxeConfig, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the fully connected network and estimate the information plane of every layer.

    Returns
    -------
    Result
        ``epochs`` (E,); for each estimator e of :data:`ESTIMATORS`, ``i_xt_<e>`` and
        ``i_ty_<e>`` (members, E, layers) in bits, over the test images in ``mi_idx``
        (the last layer is the softmax output); ``train_acc``, ``test_acc``,
        ``train_loss``, ``test_loss`` (members, E). ``meta["data"]`` is the data source.
    """
    check_device(config.device)
    task = load_task(config.dataset, config.allow_download, config.max_train,
                     config.first_seed, config.signed_inputs)
    check_architecture((task.data.n_features, *config.hidden, task.data.n_classes),
                       config.activation)
    key = {"config": config_dict(config), "data": task.fingerprint}
    return cached(SAXE, key, lambda: _compute_saxe(config, task, progress), use_cache)


def _mi_subset(task: ImageTask, n: int | None, seed: int, train: bool = False) -> np.ndarray:
    """Indices into ``task.data`` of a class-balanced subset of the test (or training) images."""
    pool = task.train_idx[0] if train else task.test_idx[0]
    if n is None or n >= len(pool):
        return pool
    return pool[balanced_subset(task.data.y[pool], n, seed)]


def _compute_saxe(config: SaxeConfig, task: ImageTask, progress: bool) -> Result:
    start = time.perf_counter()
    seeds = config.seed_list
    dev = torch.device(config.device)
    widths = (task.data.n_features, *config.hidden, task.data.n_classes)
    model = EnsembleMLP(widths, config.activation, seeds, device=dev)
    epochs = log_spaced_epochs(config.epochs, config.n_records)
    layers = len(widths) - 1
    arrays = {f"i_{kind}_{e}": np.full((len(seeds), len(epochs), layers), np.nan)
              for e in ESTIMATORS for kind in ("xt", "ty")}
    mi_idx = _mi_subset(task, config.mi_inputs, config.first_seed)
    labels = task.data.y[mi_idx]
    p_y = task.data.p_y_given_x[mi_idx]
    bins = FixedWidthBins(config.bin_size)

    def estimate(snap: Snapshot) -> None:
        for layer, t_all in enumerate(snap.layers):
            t = t_all[:, :, torch.as_tensor(mi_idx, device=t_all.device)].transpose(1, 2).cpu()
            i_xt, i_ty = binned_mutual_information(t, p_y, bins)
            arrays["i_xt_bin"][:, snap.index, layer] = i_xt
            arrays["i_ty_bin"][:, snap.index, layer] = i_ty
            for m in range(len(seeds)):
                kde = kde_mutual_information_many(t[m], [config.kde_var], labels)[0]
                for e in ("kde_upper", "kde_lower"):
                    bound = e.split("_")[1]
                    arrays[f"i_xt_{e}"][m, snap.index, layer] = kde[f"i_xt_{bound}"]
                    arrays[f"i_ty_{e}"][m, snap.index, layer] = kde[f"i_ty_{bound}"]

    result = _train(SAXE, config, model, task, estimate, epochs, progress,
                    f"{config.activation} {'-'.join(map(str, widths))}",
                    {**arrays, "mi_idx": mi_idx})
    tqdm.write(f"{config.dataset} {config.activation}: {len(seeds)} nets x {config.epochs} "
               f"epochs in {time.perf_counter() - start:.0f} s; test accuracy "
               f"{np.mean(result['test_acc'][:, -1]):.3f}; KDE fall per layer "
               f"{np.round(relative_fall(arrays['i_xt_kde_upper']).fall, 2).tolist()}")
    return result


def _train(name: str, config: SaxeConfig | CNNConfig, model: EnsembleMLP | EnsembleCNN,
           task: ImageTask, estimate: Callable[[Snapshot], None], epochs: np.ndarray,
           progress: bool, desc: str, arrays: dict[str, np.ndarray]) -> Result:
    """Train every member on the task's training images, estimating at ``epochs``; pack
    ``arrays`` (filled by ``estimate``) with the accuracies and losses into a Result."""
    start = time.perf_counter()
    n = len(config.seed_list)
    history = train_ensemble(model, task.data, task.train_idx.repeat(n, 0),
                             task.test_idx.repeat(n, 0), config.train_config(),
                             on_record=estimate, record_epochs=epochs, progress=progress,
                             desc=desc)
    return Result(
        name=name, config=config_dict(config),
        arrays={"epochs": history.epochs, **arrays,
                "train_acc": history.train_acc, "test_acc": history.test_acc,
                "train_loss": history.train_loss, "test_loss": history.test_loss},
        meta={"data": task.data.source, "sizes": [task.n_train, task.test_idx.shape[1]],
              "seconds": time.perf_counter() - start, "torch": torch.__version__})


def run_cnn(config: CNNConfig, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the noisy CNN and record SP estimates of I(X;T_l) and clustering per layer.

    Returns
    -------
    Result
        ``epochs`` (E,); ``i_xt`` (members, E, hidden layers) in bits by SP; the
        clustering measures ``distance_ratio``, ``silhouette``, ``log2_clusters`` of the
        noiseless representations (members, E, hidden layers); ``train_acc``,
        ``test_acc``, ``train_loss``, ``test_loss`` (members, E), evaluated with the
        noise; ``subset`` the images X is uniform over.
    """
    check_device(config.device)
    task = load_task(config.dataset, config.allow_download, config.max_train,
                     config.first_seed)
    EnsembleCNN(task.image_shape, config.channels, config.dense, task.data.n_classes,
                config.kernel, config.stride, config.activation)
    _mi_subset(task, config.mi_inputs, config.first_seed, train=True)
    key = {"config": config_dict(config), "data": task.fingerprint}
    return cached(CNN, key, lambda: _compute_cnn(config, task, progress), use_cache)


def _compute_cnn(config: CNNConfig, task: ImageTask, progress: bool) -> Result:
    start = time.perf_counter()
    seeds = config.seed_list
    dev = torch.device(config.device)
    model = EnsembleCNN(task.image_shape, config.channels, config.dense, task.data.n_classes,
                        config.kernel, config.stride, config.activation, seeds,
                        noise_std=config.beta, device=dev)
    epochs = log_spaced_epochs(config.epochs, config.n_records)
    hidden = len(config.channels) + len(config.dense)
    arrays = {key: np.full((len(seeds), len(epochs), hidden), np.nan)
              for key in ("i_xt", *MEASURES)}
    sub = _mi_subset(task, config.mi_inputs, config.first_seed, train=True)
    labels = task.data.y[sub]
    x_sub = torch.as_tensor(task.data.x[sub], device=dev).T
    x_rep = x_sub.repeat(1, config.n_conditional)
    scale = config.cluster_scale * config.beta

    def estimate(snap: Snapshot) -> None:
        values = sp_and_clustering(model, x_rep, labels, config.n_conditional, config.n_mc,
                                   scale, snap.epoch, hidden)
        for key, value in values.items():
            arrays[key][:, snap.index] = value

    result = _train(CNN, config, model, task, estimate, epochs, progress,
                    f"noisy CNN, beta={config.beta:g}", {**arrays, "subset": sub})
    tqdm.write(f"{config.dataset} noisy CNN (beta = {config.beta:g}): {len(seeds)} nets x "
               f"{config.epochs} epochs in {time.perf_counter() - start:.0f} s; test accuracy "
               f"{np.mean(result['test_acc'][:, -1]):.3f}; fall per layer "
               f"{np.round(relative_fall(arrays['i_xt']).fall, 2).tolist()}")
    return result



# --- statistics ---------------------------------------------------------------------------

def layer_falls(i_xt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per layer: the compression criterion's fall, its bootstrap interval over members,
    and whether the peak is at the start (the layer then has no fitting to compress after).

    ``i_xt`` has shape (members, records, layers). Returns ``fall``, ``low``, ``high``,
    ``at_start``, each of shape (layers,).
    """
    f = relative_fall(i_xt)
    low, high = bootstrap(lambda a: relative_fall(a).fall, i_xt)
    return f.fall, low, high, f.at_start


def silhouette_rise(i_xt: np.ndarray, silhouette: np.ndarray) -> np.ndarray:
    """Per layer: member-averaged silhouette at the end minus at the peak of I(X;T)."""
    peak = relative_fall(i_xt).peak
    sil = np.nanmean(silhouette, axis=0)
    return sil[-1] - sil[peak, np.arange(sil.shape[1])]


def compressing(i_xt: np.ndarray) -> np.ndarray:
    """Layers that compress: peak after the start and a fall of at least 5% of it."""
    f = relative_fall(i_xt)
    return ~f.at_start & (f.fall >= COMPRESSION)


def rising_share(i_xt: np.ndarray, silhouette: np.ndarray) -> float:
    """Share of the compressing layers whose silhouette rises after their I(X;T) peak
    (NaN when no layer compresses)."""
    squeezed = compressing(i_xt)
    if not squeezed.any():
        return float("nan")
    return float(np.mean(silhouette_rise(i_xt, silhouette)[squeezed] > 0))


MIN_POINTS = 4
"""Records from the peak on that a rank correlation needs (fewer: not testable)."""


def spearman_from_peak(i_xt: np.ndarray, silhouette: np.ndarray) -> np.ndarray:
    """Per layer: Spearman correlation of the member-averaged I(X;T) and silhouette over
    the records from the I(X;T) peak on (NaN with fewer than :data:`MIN_POINTS` records or
    a constant curve)."""
    mx, my = np.nanmean(i_xt, axis=0), np.nanmean(silhouette, axis=0)
    peak = relative_fall(i_xt).peak
    out = np.full(mx.shape[1], np.nan)
    for layer in range(mx.shape[1]):
        a, b = mx[peak[layer]:, layer], my[peak[layer]:, layer]
        if len(a) >= MIN_POINTS and np.ptp(a) > 0 and np.ptp(b) > 0:
            out[layer] = spearmanr(a, b).statistic
    return out


def median_spearman(i_xt: np.ndarray, silhouette: np.ndarray) -> float:
    """Median over the compressing layers of :func:`spearman_from_peak` (NaN if none)."""
    rho = spearman_from_peak(i_xt, silhouette)[compressing(i_xt)]
    rho = rho[np.isfinite(rho)]
    return float(np.median(rho)) if rho.size else float("nan")


# --- verdicts -----------------------------------------------------------------------------

FALL = "fall of mean I(X;T) from its peak (after the start) to the end, share of the peak"
ESTIMATOR_NAMES = {"kde_upper": "KDE upper bound", "kde_lower": "KDE lower bound",
                   "bin": "bins of 0.5"}


def _seeds(a: np.ndarray) -> str:
    return f"bootstrap over {a.shape[0]} seeds"


def compresses(source: str, statement: str, i_xt: np.ndarray, layer: int,
               where: str) -> Claim:
    """The row "``layer`` compresses": its fall >= 5%; not testable when its peak is at
    the start."""
    f = relative_fall(i_xt[..., layer:layer + 1])
    reason = (f"the {where}'s I(X;T) is highest at initialisation: no fitting to compress "
              "after" if f.at_start[0] else None)
    return Claim.test(source, statement, f"{FALL}, {where}", float(f.fall[0]), ">=",
                      COMPRESSION, bootstrap(lambda a: layer_fall(a, layer), i_xt),
                      over=_seeds(i_xt), untestable=reason)


def no_compression(source: str, statement: str, i_xt: np.ndarray, layers: slice,
                   where: str) -> Claim:
    """The row "no layer of ``layers`` compresses": the largest fall over those whose peak
    comes after the start stays below 5%; not testable when every peak is at the start."""
    sub = i_xt[..., layers]
    value = largest_fall(sub)
    every = "every layer" if where == "all layers" else f"every {where[:-1]}"
    reason = (f"{every} has its I(X;T) highest at initialisation"
              if not np.isfinite(value) else None)
    return Claim.test(source, statement, f"largest {FALL}, {where}", value, "<",
                      COMPRESSION, bootstrap(largest_fall, sub), over=_seeds(i_xt),
                      untestable=reason)


def saxe_claims(results: dict[str, Result], estimators: tuple[str, ...] = ("kde_upper", "bin")
                ) -> list[Claim]:
    """Saxe et al.'s MNIST verdicts (Fig. 1C-D), per estimator: tanh compresses in its
    final classification layer (the softmax output) and in no hidden layer; ReLU
    compresses in no layer."""
    rows = []
    for e in estimators:
        name = ESTIMATOR_NAMES[e]
        if "tanh" in results:
            i_xt = results["tanh"][f"i_xt_{e}"]
            rows += [
                compresses(SAXE_SOURCE["tanh"], f"tanh, {name}: the output layer compresses.",
                           i_xt, i_xt.shape[2] - 1, "output layer"),
                no_compression(SAXE_SOURCE["tanh"],
                               f"tanh, {name}: no hidden layer compresses.", i_xt,
                               slice(0, -1), "hidden layers"),
            ]
        if "relu" in results:
            rows.append(no_compression(SAXE_SOURCE["relu"],
                                       f"relu, {name}: no layer compresses.",
                                       results["relu"][f"i_xt_{e}"], slice(None),
                                       "all layers"))
    return rows


def cnn_claims(result: Result, min_accuracy: float = 0.9) -> list[Claim]:
    """Goldfeld et al.'s verdicts on the noisy CNN: it learns; some hidden layer
    compresses; the compressing layers are those whose same-class clustering rises
    (where); and their I(X;T) falls as the clustering rises (when: Spearman correlation
    from the peak, median over the compressing layers)."""
    i_xt, sil, acc = result["i_xt"], result["silhouette"], result["test_acc"]
    beta = result.config["beta"]
    over = _seeds(i_xt)
    largest = largest_fall(i_xt)
    none_compress = "no hidden layer compresses: nothing to locate"
    share = rising_share(i_xt, sil)
    rho = median_spearman(i_xt, sil)
    rho_reason = (none_compress if not compressing(i_xt).any() else
                  f"fewer than {MIN_POINTS} records after the peak" if not np.isfinite(rho)
                  else None)
    return [
        Claim.test(GOLDFELD_SOURCE, f"The noisy CNN (beta = {beta:g}) learns the task.",
                   "member-averaged test accuracy at the end", float(acc[:, -1].mean()),
                   ">=", min_accuracy, bootstrap(lambda a: a[:, -1].mean(), acc), over=over),
        Claim.test(GOLDFELD_SOURCE, "Some hidden layer of the noisy CNN compresses.",
                   f"largest {FALL}, hidden layers", largest, ">=", COMPRESSION,
                   bootstrap(largest_fall, i_xt), over=over,
                   untestable=None if np.isfinite(largest) else
                   "every hidden layer has its I(X;T) highest at initialisation"),
        Claim.test(GOLDFELD_SOURCE, "Where I(X;T) falls, same-class clustering rises.",
                   "share of compressing layers whose silhouette rises after the I(X;T) peak",
                   share, ">=", 1.0, bootstrap(rising_share, i_xt, sil), over=over,
                   untestable=None if np.isfinite(share) else none_compress),
        Claim.test(GOLDFELD_SOURCE, "I(X;T) falls when same-class clustering rises.",
                   "median Spearman rho(I(X;T), silhouette) from the peak, compressing layers",
                   rho, "<=", -0.5, bootstrap(median_spearman, i_xt, sil), over=over,
                   untestable=rho_reason),
    ]
