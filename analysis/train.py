"""Training of network ensembles with a log-spaced record of activations and metrics.

Every member has its own train/test split, minibatch orders and layer noise, all fixed
by its seed (orders and noise are counter-based, :mod:`analysis.rng`), so a member's run
does not depend on which other members share the ensemble. Adam and SGD act
element-wise, so one optimiser over the stacked parameters is exactly one optimiser per
member.

Two backends train the same networks on the same orders and noise: ``"torch"`` (eager
autograd; any ensemble, any device) and ``"fast"`` (the compiled kernel of
:mod:`analysis.fast_mlp`; :class:`~analysis.nets.EnsembleMLP` on the CPU, some ten times
faster). They agree to float32 rounding.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from . import fast_mlp
from .data.dataset import Dataset
from .nets import Ensemble
from .rng import EVAL_NOISE, TRAIN_NOISE, MemberNoise, member_orders

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
}
"""Optimisers by name. Full-batch gradient descent is ``"sgd"`` with ``batch_size=None``."""

SPLITS = ("random", "first")
BACKENDS = ("auto", "torch", "fast")
FAST_AUTO_MAX_WEIGHTS = 2 ** 17
"""``backend="auto"`` leaves a network with a larger layer (fan_in x fan_out weights) to
torch, whose matrix products (MKL) beat the kernel's loops there: measured on 2 members,
batch 128, 1 thread, the kernel is 2.4x faster for 784-32-10, 1.4x for 784-128-128-128-10
and 1.4x slower for Saxe's 784-1024-20-20-20-10."""


@dataclass(frozen=True)
class TrainConfig:
    """How an ensemble is trained.

    Defaults follow the code of Shwartz-Ziv & Tishby (2017): Adam with learning rate
    4e-4, batch 512, 8000 epochs, 400 log-spaced record points (274 distinct epochs).
    ``batch_size=None`` trains on the whole training set at every step.
    """

    optimizer: str = "adam"
    lr: float = 4e-4
    batch_size: int | None = 512
    epochs: int = 8000
    n_records: int = 400

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None (full batch), got {self.batch_size}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.n_records < 1:
            raise ValueError(f"n_records must be >= 1, got {self.n_records}")


class EnsembleSchedule:
    """Mixin for experiment configurations that train an ensemble with :func:`train_ensemble`.

    The configuration must have the fields ``optimizer``, ``lr``, ``batch_size``,
    ``epochs``, ``n_records``, ``seeds`` and ``first_seed``.
    """

    optimizer: str
    lr: float
    batch_size: int | None
    epochs: int
    n_records: int
    seeds: int
    first_seed: int

    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` of these fields (it validates them)."""
        return TrainConfig(optimizer=self.optimizer, lr=self.lr, batch_size=self.batch_size,
                           epochs=self.epochs, n_records=self.n_records)

    @property
    def seed_list(self) -> list[int]:
        """The members' seeds: ``seeds`` consecutive integers from ``first_seed``."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


@dataclass
class Snapshot:
    """The state of an ensemble at a recorded epoch, handed to record callbacks.

    ``layers[l]`` holds layer l's output for every pattern of the dataset, feature-major,
    shape (members, width, n_samples); the last layer is the softmax output.
    """

    epoch: int
    index: int
    layers: list[torch.Tensor]


@dataclass
class History:
    """Per-member metrics at every recorded epoch; arrays have shape (members, records).

    The gradient statistics (shape (members, records, layers)) describe the minibatch
    gradients of each layer's weights over the batches of a recorded epoch
    (Shwartz-Ziv & Tishby 2017, Fig. 4): ``grad_mean`` is the Frobenius norm of their
    mean, ``grad_std`` the Frobenius norm of their element-wise standard deviation, and
    ``weight_norm`` the Frobenius norm of the weights at the end of that epoch. They are
    NaN at epoch 0, where no batch has been seen.
    """

    epochs: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    grad_mean: np.ndarray
    grad_std: np.ndarray
    weight_norm: np.ndarray
    backend: str = "torch"
    """Which backend trained the ensemble: ``"torch"`` or ``"fast"``."""


class GradientMoments:
    """Running sums of the minibatch gradients of every layer's weights over one epoch."""

    def __init__(self, weights: Sequence[torch.Tensor]) -> None:
        self.weights = list(weights)
        self.sum = [torch.zeros_like(w) for w in self.weights]
        self.sum_sq = [torch.zeros_like(w) for w in self.weights]
        self.batches = 0

    def add(self) -> None:
        """Accumulate the gradients now held by the weights."""
        for w, s, q in zip(self.weights, self.sum, self.sum_sq):
            s.add_(w.grad)
            q.addcmul_(w.grad, w.grad)
        self.batches += 1

    def norms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per member and layer: |mean gradient|, |std of gradients|, |weights| (Frobenius)."""
        n = self.batches
        mean = [s / n for s in self.sum]
        var = [(q / n - m * m).clamp_min_(0.0) for q, m in zip(self.sum_sq, mean)]
        def frob(ts: list[torch.Tensor]) -> np.ndarray:
            return torch.stack([t.flatten(1).norm(dim=1) for t in ts], 1).cpu().numpy()
        return frob(mean), frob([v.sqrt() for v in var]), frob([w.detach() for w in self.weights])


def minibatch_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                   moments: GradientMoments | None = None) -> None:
    """One optimiser step on ``loss``; its gradients are first added to ``moments``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if moments is not None:
        moments.add()
    optimizer.step()


def noise_generator(seeds: Sequence[int], purpose: int, device: torch.device | str = "cpu"
                    ) -> MemberNoise:
    """Evaluation noise of a noisy ensemble: every member's own, fixed by its seed.

    Pass the result as ``noise_generator`` to the ensemble's ``forward`` or ``signals``.
    Member k's noise is the counter-based stream (seed_k, EVAL_NOISE, ``purpose``) of
    :class:`~analysis.rng.MemberNoise`, so it does not depend on the other members;
    ``purpose`` (an integer) separates draws, e.g. one per recorded epoch. The object
    holds no state: the same call gives the same noise again. ``device`` is accepted for
    compatibility; the noise is made on the device of the tensor it is added to.
    """
    return MemberNoise(seeds, EVAL_NOISE, int(purpose))


def parseval_step(weights: Sequence[torch.Tensor], alpha: float) -> None:
    """W <- (1 + alpha) W - alpha (W W^T) W for each stacked weight tensor (members, out, in).

    One step of the retraction of Cisse et al. (2017, Eq. 4) towards matrices with
    orthonormal rows (W W^T = I), in place.
    """
    with torch.no_grad():
        for w in weights:
            w.copy_((1.0 + alpha) * w - alpha * (w @ w.transpose(1, 2) @ w))


def select_backend(model: Ensemble, backend: str, optimizer: str,
                   after_step: Callable[[], None] | None = None) -> str:
    """The backend that trains ``model``: ``"fast"`` or ``"torch"``.

    ``"auto"`` picks the compiled kernel for an :class:`~analysis.nets.EnsembleMLP` on
    the CPU (float32, a known activation and optimiser) without an ``after_step``
    callback and without a layer of more than :data:`FAST_AUTO_MAX_WEIGHTS` weights,
    torch otherwise; ``"fast"`` and ``"torch"`` force one. Raises ValueError for an
    unknown backend and where ``"fast"`` cannot serve.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    reason = fast_mlp.unsupported(model, optimizer)
    if reason is None and after_step is not None:
        reason = ("it cannot call after_step (a Python callback) between its steps; for "
                  "the Parseval step pass parseval=alpha instead")
    if backend == "fast" and reason is not None:
        raise ValueError(f"backend='fast' cannot serve: {reason}")
    if backend == "auto":
        if reason is None and max(w.shape[1] * w.shape[2] for w in model.weights) \
                > FAST_AUTO_MAX_WEIGHTS:
            reason = "a layer this wide trains faster in torch"
        return "fast" if reason is None else "torch"
    return backend


def log_spaced_epochs(epochs: int, n_points: int = 400) -> np.ndarray:
    """Epoch 0 and the distinct integers of ``n_points`` log-spaced points over [1, epochs].

    With 8000 epochs and 400 points this gives 274 distinct epochs plus epoch 0, the
    schedule of the code of Shwartz-Ziv & Tishby (2017).
    """
    points = np.logspace(0.0, np.log2(epochs), n_points, base=2.0, dtype=int)
    return np.unique(np.concatenate([[0], points, [epochs]]))


def train_size(n_samples: int, train_fraction: float) -> int:
    """Number of training samples of a split: ``round(train_fraction * n_samples)``."""
    return int(round(train_fraction * n_samples))


def member_splits(n_samples: int, train_fraction: float, seeds: Sequence[int],
                  split: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices of every member, shapes (M, n_train) and (M, n_test).

    ``n_train = round(train_fraction * n_samples)``. With ``split="random"`` each member
    draws its own subset from its seed; ``split="first"`` takes the first rows in order,
    as the original code does (80% of 4096 leaves the last 819 rows for testing).
    """
    if not 0.0 < train_fraction <= 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1], got {train_fraction}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    n_train = train_size(n_samples, train_fraction)
    if n_train < 1:
        raise ValueError(
            f"train_fraction {train_fraction} leaves no training sample out of {n_samples}")
    if split == "first":
        order = np.tile(np.arange(n_samples), (len(seeds), 1))
    else:
        order = np.stack([np.random.default_rng(s).permutation(n_samples) for s in seeds])
    return np.sort(order[:, :n_train], axis=1), np.sort(order[:, n_train:], axis=1)


def pattern_losses(logits: torch.Tensor, labels: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and correctness (0/1) of every member on every pattern, (M, n).

    ``logits`` has shape (M, n_classes, n). The prediction is the first largest logit,
    as ``argmax`` (whose CPU kernel over the middle dimension is ten times slower).
    """
    y = labels.expand(logits.shape[0], -1)[:, None]
    loss = -torch.log_softmax(logits, dim=1).gather(1, y)[:, 0]
    correct = (logits.max(dim=1).indices == y[:, 0]).float()
    return loss, correct


def _member_means(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (M, n) over every member's own index set ``index`` (M, k)."""
    if index.shape[1] == 0:
        return torch.full((values.shape[0],), float("nan"), device=values.device)
    return values.gather(1, index).mean(dim=1)


def train_ensemble(
    model: Ensemble,
    data: Dataset,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    config: TrainConfig,
    on_record: Callable[[Snapshot], None] | None = None,
    record_epochs: np.ndarray | None = None,
    progress: bool = True,
    desc: str = "training",
    after_step: Callable[[], None] | None = None,
    parseval: float = 0.0,
    backend: str = "auto",
) -> History:
    """Train every member of ``model`` on its own split and record along the way.

    Parameters
    ----------
    model : Ensemble (EnsembleMLP or EnsembleCNN)
        The ensemble; member k uses ``train_idx[k]``, ``test_idx[k]`` and ``model.seeds[k]``.
        After training its parameters hold the trained weights (either backend).
    data : Dataset
        Inputs and training labels.
    train_idx, test_idx : ndarray
        Per-member index sets, from :func:`member_splits`.
    config : TrainConfig
        Optimiser, learning rate, batch size, epochs and number of record points.
    on_record : callable, optional
        Called with a :class:`Snapshot` at every recorded epoch (epoch 0 is the
        initialisation), e.g. to estimate mutual information from the activations.
    record_epochs : ndarray, optional
        Epochs to record; default :func:`log_spaced_epochs`. Training runs to the last.
    progress : bool
        Show a tqdm progress bar over epochs.
    desc : str
        Label of the progress bar.
    after_step : callable, optional
        Called after every optimiser step (torch backend only; ``"auto"`` then picks
        torch, ``"fast"`` refuses it).
    parseval : float
        If > 0, the Parseval step ``W <- (1+a) W - a W W^T W`` with ``a = parseval`` on
        every hidden layer's weights (all but the output layer) after every optimiser
        step (chapter 13; Cisse et al. 2017, Eq. 4). Both backends.
    backend : {"auto", "torch", "fast"}
        See :func:`select_backend`. The one that ran is ``History.backend``.

    Notes
    -----
    At epoch e (from 1) member k visits its training rows in the order
    :func:`analysis.rng.member_orders` draws from (seed_k, e), in consecutive batches of
    ``batch_size`` (the last one smaller when the size does not divide); with one batch
    per epoch (``batch_size=None`` or larger than the training set) the rows keep their
    order. A noisy ensemble (``model.noise_std > 0``) adds to every hidden layer the
    noise of stream (seed_k, TRAIN_NOISE, epoch, batch index, layer) in training and the
    evaluation noise :func:`noise_generator` (seeds, epoch + 1) at every record.

    Returns
    -------
    History
        Loss and accuracy of every member on its train and test sets at each record, and
        the statistics of the minibatch gradients over each recorded epoch.
    """
    device = model.device
    M = model.n_members
    if train_idx.shape[0] != M or test_idx.shape[0] != M:
        raise ValueError(f"need index sets for {M} members, got {train_idx.shape[0]}")
    if not parseval >= 0:
        raise ValueError(f"parseval must be >= 0, got {parseval}")
    backend = select_backend(model, backend, config.optimizer, after_step)
    record_epochs = (log_spaced_epochs(config.epochs, config.n_records)
                     if record_epochs is None else np.asarray(record_epochs))
    if record_epochs.size == 0 or record_epochs.min() < 0:
        raise ValueError("record_epochs must hold at least one epoch, none negative")
    x_all = torch.as_tensor(data.x, dtype=torch.float32, device=device).T.contiguous()
    y_all = torch.as_tensor(data.y, dtype=torch.long, device=device)
    tr = torch.as_tensor(train_idx, dtype=torch.long, device=device)
    te = torch.as_tensor(test_idx, dtype=torch.long, device=device)
    n_train = tr.shape[1]
    batch = n_train if config.batch_size is None else min(config.batch_size, n_train)

    stats = np.full((4, M, len(record_epochs)), np.nan)
    grads = np.full((3, M, len(record_epochs), len(model.weights)), np.nan)
    record_at = {int(e): i for i, e in enumerate(record_epochs)}

    trainer = None

    def record(epoch: int) -> None:
        i = record_at[epoch]
        with torch.no_grad():
            if trainer is None:
                logits, layers = model(x_all, return_layers=True,
                                       noise_generator=noise_generator(model.seeds, epoch + 1))
                loss, correct = pattern_losses(logits, y_all)
            else:
                layers, logits, loss, correct = trainer.forward(epoch + 1)
            for j, idx in enumerate((tr, te)):
                stats[2 * j, :, i] = _member_means(loss, idx).cpu().numpy()
                stats[2 * j + 1, :, i] = _member_means(correct, idx).cpu().numpy()
        if on_record is not None:
            on_record(Snapshot(epoch=epoch, index=i, layers=layers))

    if backend == "fast":
        trainer = fast_mlp.KernelTrainer(model, data.x, data.y, train_idx, config.optimizer,
                                         config.lr, config.batch_size, parseval)
    if 0 in record_at:
        record(0)
    last = int(record_epochs.max())
    bar = tqdm(total=last, desc=f"{desc} [{backend}]", disable=not progress,
               mininterval=1.0, unit="epoch")

    def recorded(epoch: int, moments: GradientMoments) -> None:
        grads[:, :, record_at[epoch]] = moments.norms()
        record(epoch)
        bar.set_postfix(train_acc=f"{np.nanmean(stats[1, :, record_at[epoch]]):.3f}",
                        refresh=False)

    if trainer is not None:
        done = 0
        for epoch in sorted(e for e in record_at if e > 0):
            trainer.train(done + 1, epoch, record=True)
            trainer.copy_to_model(model)
            moments = GradientMoments(model.weights)
            moments.sum, moments.sum_sq, moments.batches = trainer.gradient_sums()
            recorded(epoch, moments)
            bar.update(epoch - done)
            done = epoch
    else:
        optimizer = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)
        hidden = list(model.weights)[:-1]
        noisy = model.noise_std > 0
        for epoch in range(1, last + 1):
            moments = GradientMoments(model.weights) if epoch in record_at else None
            if batch < n_train:
                order = torch.gather(tr, 1, member_orders(model.seeds, n_train, epoch, device))
            else:
                order = tr
            for step, start in enumerate(range(0, n_train, batch)):
                idx = order[:, start:start + batch]
                noise = MemberNoise(model.seeds, TRAIN_NOISE, epoch, step) if noisy else None
                logits = model(x_all[:, idx].transpose(0, 1), noise_generator=noise)
                loss = torch.nn.functional.cross_entropy(
                    logits, y_all[idx], reduction="sum") / idx.shape[1]
                minibatch_step(optimizer, loss, moments)
                if parseval > 0:
                    parseval_step(hidden, parseval)
                if after_step is not None:
                    after_step()
            if moments is not None:
                recorded(epoch, moments)
            bar.update(1)
    bar.close()
    return History(epochs=record_epochs.astype(np.int64), train_loss=stats[0],
                   train_acc=stats[1], test_loss=stats[2], test_acc=stats[3],
                   grad_mean=grads[0], grad_std=grads[1], weight_norm=grads[2],
                   backend=backend)
