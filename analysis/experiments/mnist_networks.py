"""Chapter 14: MNIST through the information plane (Saxe et al. 2018; Goldfeld et al. 2019).

Two experiments on real images.

- Saxe et al. (2018, Fig. 1 C-D and section 2): the fully connected network
  784-1024-20-20-20-10, tanh or ReLU, trained by SGD on minibatches of 128. At log-spaced
  epochs I(X;T) and I(T;Y) of every layer are estimated on the test images by the
  pairwise-distance (KDE) bounds of Kolchinsky & Tracey with noise variance 0.1 added to
  the layer (:mod:`analysis.info.kde`), and by binning with bins of width 0.5 (their
  code's binning). Their finding: the tanh network compresses only in its last layer,
  the ReLU network not at all.
- Goldfeld et al. (2019, section 7): a small *noisy* convolutional network — Gaussian
  noise of standard deviation beta added to the output of every hidden layer, in
  training and evaluation — whose I(X;T_l) is estimated by sample propagation on a
  class-balanced subset of the training images, next to the clustering of the layers'
  same-class representations (:mod:`analysis.info.clustering`). Their finding:
  compression happens where, and when, same-class representations cluster.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import Activation, Count, Device, NonNegative, Optimizer, Positive, config
from ..data import Dataset, ImageData, load_images, one_hot
from ..data.images import LOADERS
from ..info.binning import FixedWidthBins, binned_mutual_information
from ..info.kde import kde_mutual_information_many
from ..nets import EnsembleCNN, EnsembleMLP, check_architecture, check_device
from ..train import EnsembleSchedule, Snapshot, log_spaced_epochs, train_ensemble
from .estimators import COMPRESSION, relative_compression
from .noisy_networks import (MEASURES, balanced_subset, correlations, median,
                             sp_and_clustering)

SAXE = "mnist_saxe"
CNN = "mnist_noisy_cnn"
SAXE_SOURCE = "Saxe et al. 2018, Fig. 1"
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
    random subset; None: all).
    """

    dataset: Literal[tuple(LOADERS)] = "mnist"
    hidden: tuple[Count, ...] = (1024, 20, 20, 20)
    activation: Activation = "tanh"
    seeds: Count = 2
    first_seed: NonNegative = 0
    optimizer: Optimizer = "sgd"
    lr: Positive = 0.1
    batch_size: Count | None = 128
    epochs: Count = 150
    n_records: Count = 15
    kde_var: Positive = 0.1
    bin_size: Positive = 0.5
    mi_inputs: MIInputs | None = 1000
    max_train: MaxTrain | None = None
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


def image_task(images: ImageData, max_train: int | None = None, seed: int = 0) -> ImageTask:
    """Flatten ``images`` into one dataset: training images first, then the test images.

    With ``max_train`` a random subset of that many training images (drawn with ``seed``)
    is kept. The index sets have one row, shared by every member of an ensemble.
    """
    x_train, y_train = images.x_train, images.y_train
    if max_train is not None and max_train < len(x_train):
        keep = np.sort(np.random.default_rng(seed).choice(len(x_train), max_train,
                                                          replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    x = np.concatenate([x_train, images.x_test]).reshape(len(x_train) + len(images.x_test), -1)
    y = np.concatenate([y_train, images.y_test]).astype(np.int64)
    data = Dataset(x.astype(np.float32), y, one_hot(y, images.n_classes), images.name,
                   images.source)
    n_train = len(x_train)
    return ImageTask(data, np.arange(n_train)[None], np.arange(n_train, len(y))[None],
                     tuple(images.x_train.shape[1:]), images.fingerprint)


def load_task(dataset: str, allow_download: bool, max_train: int | None, seed: int
              ) -> ImageTask:
    """:func:`image_task` of a dataset by name (fails with the path and how to get it)."""
    return image_task(load_images(dataset, allow_download=allow_download), max_train, seed)


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
                     config.first_seed)
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
               f"{np.mean(result['test_acc'][:, -1]):.3f}; KDE compression per layer "
               f"{np.round(relative_compression(arrays['i_xt_kde_upper']), 2).tolist()}")
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
               f"{np.mean(result['test_acc'][:, -1]):.3f}; compression per layer "
               f"{np.round(relative_compression(arrays['i_xt']), 2).tolist()}")
    return result


def saxe_claims(results: dict[str, Result], estimators: tuple[str, ...] = ("kde_upper", "bin")
                ) -> list[Claim]:
    """Saxe et al.'s MNIST verdicts, per estimator: tanh compresses in its last layer (the
    softmax output) and in no hidden layer; ReLU compresses in no layer.

    Compression is chapter 6's statistic (:func:`relative_compression`) against
    :data:`COMPRESSION`.
    """
    rows = []
    for e in estimators:
        if "tanh" in results:
            comp = relative_compression(results["tanh"][f"i_xt_{e}"])
            rows += [
                Claim.test(SAXE_SOURCE, f"tanh ({e}): the last layer compresses.",
                           "fall of mean I(X;T) after its peak, share of the peak, last layer",
                           float(comp[-1]), ">=", COMPRESSION),
                Claim.test(SAXE_SOURCE, f"tanh ({e}): the hidden layers do not compress.",
                           "largest fall of mean I(X;T) after its peak, share of the peak, "
                           "hidden layers", float(comp[:-1].max()), "<", COMPRESSION),
            ]
        if "relu" in results:
            comp = relative_compression(results["relu"][f"i_xt_{e}"])
            rows.append(Claim.test(
                SAXE_SOURCE, f"relu ({e}): no layer compresses.",
                "largest fall of mean I(X;T) after its peak, share of the peak, all layers",
                float(comp.max()), "<", COMPRESSION))
    return rows


def silhouette_rise(result: Result) -> np.ndarray:
    """Per layer: member-averaged silhouette at the end minus at the peak of I(X;T)."""
    i_xt, sil = result["i_xt"].mean(0), result["silhouette"].mean(0)
    peak = np.round(i_xt, 9).argmax(0)
    return sil[-1] - sil[peak, np.arange(sil.shape[1])]


def cnn_claims(result: Result, min_accuracy: float = 0.9) -> list[Claim]:
    """Goldfeld et al.'s verdicts on the noisy CNN: it learns; some layer compresses; the
    compressing layers are those whose same-class clustering rises (where); and their
    I(X;T) falls as the clustering rises (when: Spearman correlation from the peak)."""
    comp = relative_compression(result["i_xt"])
    squeezed = comp >= COMPRESSION
    rise = silhouette_rise(result)
    corr = correlations(result["i_xt"], result["silhouette"], from_peak=True)
    beta = result.config["beta"]
    return [
        Claim.test(GOLDFELD_SOURCE, f"The noisy CNN (beta = {beta:g}) learns the task.",
                   "member-averaged test accuracy at the end",
                   float(np.mean(result["test_acc"][:, -1])), ">=", min_accuracy),
        Claim.test(GOLDFELD_SOURCE, "Some hidden layer of the noisy CNN compresses.",
                   "largest fall of mean I(X;T) after its peak, share of the peak",
                   float(comp.max()), ">=", COMPRESSION),
        Claim.test(GOLDFELD_SOURCE, "Where I(X;T) falls, same-class clustering rises.",
                   "share of compressing layers whose silhouette rises after the I(X;T) peak",
                   float(np.mean(rise[squeezed] > 0)) if squeezed.any() else float("nan"),
                   ">=", 1.0),
        Claim.test(GOLDFELD_SOURCE, "I(X;T) falls when same-class clustering rises.",
                   "median Spearman rho(I(X;T), silhouette) from the peak, compressing "
                   "layers", median(corr[squeezed]), "<=", -0.5),
    ]
