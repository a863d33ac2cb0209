"""Chapters 8-10: deep linear student-teacher networks with exact mutual information.

Saxe et al. (2018, sections 4-6). A teacher draws targets y = W0 x + e from inputs
x ~ N(0, I/Ni) with e ~ N(0, 1) and teacher weights W0 ~ N(0, snr), so the signal-to-noise
ratio is ``snr``. With ``n_relevant`` < Ni only the first ``n_relevant`` inputs carry
signal (chapter 10); their weights are scaled up so the SNR stays the same. A linear
student Ni-N1-...-1 learns from P samples by gradient descent (``batch_size=None``) or
SGD on the squared error.

Because everything is linear and Gaussian, the information is exact. Every layer is read
through added noise, T_l = W_l ... W_1 X + Z, Z ~ N(0, mi_noise I) (the paper: 1), and

- I(X;T_l) = 1/2 log2 det(I + P_l P_lᵀ / (Ni mi_noise)), P_l = W_l ... W_1;
- I(T_l;Y) from the joint covariance of (T_l, Y);
- I(X_S;T_l) = 1/2 log2 det(C_T) / det(C_T|X_S) for the relevant or irrelevant inputs S,
  C_T|X_S = P_l,¬S P_l,¬Sᵀ / Ni + mi_noise I (the inputs are independent);

and so is the generalisation error, E (ŷ - y)² = |W - W0|² / Ni + 1 for the student's
end-to-end map W. These are computed for all members at once in torch
(:func:`layer_information`) and tested against :func:`analysis.info.linear_channel_mi`.

Members of the ensemble are independent: each draws its own teacher, training set,
initial weights and minibatch order from its seed.
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Annotated

import numpy as np
import torch
from pydantic import Field
from tqdm import tqdm

from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import Count, Device, NonNegative, Positive, config
from ..train import GradientMoments, log_spaced_epochs, minibatch_step
from .estimators import relative_compression

NAME = "linear_networks"
SOURCE = "Saxe et al. 2018"
NOISE_VAR = 1.0
"""Variance of the teacher's output noise e; the SNR is the signal variance over it."""


@config
class Config:
    """A linear student-teacher ensemble.

    Defaults are the paper's Fig. 5: Ni = 100 inputs, one hidden layer of 100, P = 100
    training samples, SNR 1, full-batch gradient descent, small initial weights, and
    I(X;T) read through noise of variance 1.
    """

    n_inputs: Count = 100
    hidden: Annotated[tuple[Count, ...], Field(min_length=1)] = (100,)
    n_relevant: Count | None = None
    n_train: Count = 100
    snr: Positive = 1.0
    init_scale: Positive = 0.01
    lr: Positive = 0.5
    batch_size: Count | None = None
    epochs: Count = 3000
    n_records: Count = 100
    seeds: Count = 10
    first_seed: NonNegative = 0
    mi_noise: Positive = 1.0
    device: Device = "cpu"

    def __post_init__(self) -> None:
        if self.n_relevant is not None and not self.n_relevant < self.n_inputs:
            raise ValueError(f"n_relevant must lie in [1, n_inputs={self.n_inputs}), "
                             f"got {self.n_relevant}")
        if self.batch_size is not None and not self.batch_size <= self.n_train:
            raise ValueError(f"batch_size must lie in [1, n_train={self.n_train}] or be None "
                             f"(full batch), got {self.batch_size}")

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden, 1)

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))

    @property
    def label(self) -> str:
        method = "GD" if self.batch_size is None else f"SGD (batch {self.batch_size})"
        return f"{'-'.join(map(str, self.widths))}, {method}"


def teacher(config: Config, generator: torch.Generator) -> torch.Tensor:
    """Teacher weights W0, shape (1, Ni): N(0, snr) per input, or on the relevant inputs
    only, N(0, snr Ni / n_relevant), so that Var(W0 x) = snr on average either way."""
    n = config.n_inputs if config.n_relevant is None else config.n_relevant
    w0 = torch.zeros(1, config.n_inputs, dtype=torch.float64)
    w0[0, :n] = torch.randn(n, generator=generator, dtype=torch.float64) * \
        math.sqrt(config.snr * config.n_inputs / n)
    return w0


def layer_information(product: torch.Tensor, w0: torch.Tensor, noise: float,
                      relevant: int | None = None) -> dict[str, np.ndarray]:
    """Exact information of the noisy layers T = P X + Z of linear networks, x ~ N(0, I/Ni).

    Parameters
    ----------
    product : Tensor, shape (members, n_t, Ni)
        The map P from the input to the layer.
    w0 : Tensor, shape (members, 1, Ni)
        The teacher of each member; Y = W0 X + E with Var(E) = :data:`NOISE_VAR`.
    noise : float
        Variance of the noise Z added to the layer.
    relevant : int, optional
        With it, also I(X_rel;T) and I(X_irr;T) for the first ``relevant`` inputs and the
        rest.

    Returns
    -------
    dict of ndarray, shape (members,), in bits
        ``i_xt``, ``i_ty`` and, with ``relevant``, ``i_x_relevant`` and ``i_x_irrelevant``.

    References
    ----------
    Saxe et al. (2018), sections 4 and 6; the Gaussian channel capacity formula.
    """
    p = product.double()
    n_in, n_t = p.shape[2], p.shape[1]
    eye = torch.eye(n_t, dtype=p.dtype, device=p.device)

    def logdet_cov(part: torch.Tensor) -> torch.Tensor:
        return torch.linalg.slogdet(part @ part.transpose(1, 2) / n_in + noise * eye)[1]

    cov_t = p @ p.transpose(1, 2) / n_in + noise * eye
    full = torch.linalg.slogdet(cov_t)[1]
    w0 = w0.to(p)
    cross = p @ w0.transpose(1, 2) / n_in                              # Cov(T, Y), (M, n_t, 1)
    var_y = (w0 * w0).sum((1, 2)) / n_in + NOISE_VAR
    explained = (cross * torch.linalg.solve(cov_t, cross)).sum((1, 2))
    out = {"i_xt": (full - n_t * math.log(noise)) / 2,
           "i_ty": -torch.log1p(-explained / var_y) / 2}
    if relevant is not None:
        out["i_x_relevant"] = (full - logdet_cov(p[:, :, relevant:])) / 2
        out["i_x_irrelevant"] = (full - logdet_cov(p[:, :, :relevant])) / 2
    return {k: (v / math.log(2)).cpu().numpy() for k, v in out.items()}


def run(config: Config, progress: bool = True, use_cache: bool = True) -> Result:
    """Train the ensemble and record errors, exact information and gradient moments.

    Returns
    -------
    Result
        ``epochs`` (E,); ``train_error``, ``test_error`` (members, E): mean squared error
        on the training set and the exact expected error on new samples;
        ``i_xt``, ``i_ty`` (members, E, layers), with ``i_x_relevant`` and
        ``i_x_irrelevant`` when ``n_relevant`` is set; ``grad_mean``, ``grad_std``,
        ``weight_norm`` (members, E, layers) as in :class:`analysis.train.History`.
        Layers are the hidden layers and the output; information in bits.
    """
    return cached(NAME, config, lambda: _compute(config, progress), use_cache)


def _compute(config: Config, progress: bool) -> Result:
    start = time.perf_counter()
    dev = torch.device(config.device)
    widths, seeds = config.widths, config.seed_list
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    w0 = torch.stack([teacher(config, g) for g in gens])
    x = torch.stack([torch.randn(config.n_train, config.n_inputs, generator=g,
                                 dtype=torch.float64) for g in gens]) / math.sqrt(config.n_inputs)
    y = x @ w0.transpose(1, 2) + torch.stack(
        [torch.randn(config.n_train, 1, generator=g, dtype=torch.float64) for g in gens])
    weights = [torch.stack([torch.randn(o, i, generator=g, dtype=torch.float64) for g in gens])
               * config.init_scale / math.sqrt(i) for i, o in zip(widths[:-1], widths[1:])]
    weights = [w.float().to(dev).requires_grad_() for w in weights]
    x, y, w0 = x.float().to(dev), y.float().to(dev), w0.to(dev)
    optimizer = torch.optim.SGD(weights, lr=config.lr)

    epochs = log_spaced_epochs(config.epochs, config.n_records)
    M, E, L = len(seeds), len(epochs), len(weights)
    arrays = {k: np.zeros((M, E, L)) for k in ("i_xt", "i_ty", "grad_mean", "grad_std",
                                                "weight_norm")}
    if config.n_relevant is not None:
        arrays |= {k: np.zeros((M, E, L)) for k in ("i_x_relevant", "i_x_irrelevant")}
    train_error, test_error = np.zeros((M, E)), np.zeros((M, E))
    batch = config.batch_size or config.n_train
    record_at = {int(e): i for i, e in enumerate(epochs)}

    def record(i: int) -> None:
        with torch.no_grad():
            product = None
            for layer, w in enumerate(weights):
                product = w.double() if product is None else w.double() @ product
                for k, v in layer_information(product, w0, config.mi_noise,
                                              config.n_relevant).items():
                    arrays[k][:, i, layer] = v
            train_error[:, i] = ((x @ product.float().transpose(1, 2) - y) ** 2
                                 ).mean((1, 2)).cpu().numpy()
            test_error[:, i] = (((product - w0) ** 2).sum((1, 2)) / config.n_inputs
                                + NOISE_VAR).cpu().numpy()

    record(0)
    bar = tqdm(range(1, config.epochs + 1), desc=config.label, disable=not progress,
               mininterval=1.0, unit="epoch")
    for epoch in bar:
        moments = GradientMoments(weights) if epoch in record_at else None
        order = torch.stack([torch.randperm(config.n_train, generator=g) for g in gens]).to(dev)
        for begin in range(0, config.n_train, batch):
            idx = order[:, begin:begin + batch, None]
            out = torch.gather(x, 1, idx.expand(-1, -1, config.n_inputs))
            for w in weights:
                out = out @ w.transpose(1, 2)
            loss = 0.5 * ((out - torch.gather(y, 1, idx)) ** 2).mean((1, 2)).sum()
            minibatch_step(optimizer, loss, moments)
        if moments is not None:
            i = record_at[epoch]
            arrays["grad_mean"][:, i], arrays["grad_std"][:, i], arrays["weight_norm"][:, i] = \
                moments.norms()
            record(i)
            bar.set_postfix(test_error=f"{test_error[:, i].mean():.3f}", refresh=False)
    bar.close()
    arrays["grad_mean"][:, 0] = arrays["grad_std"][:, 0] = np.nan
    arrays["weight_norm"][:, 0] = np.nan
    if not np.isfinite(test_error[:, -1]).all():
        warnings.warn(f"training diverged for {int((~np.isfinite(test_error[:, -1])).sum())} "
                      f"of {M} members; lower lr (now {config.lr})", RuntimeWarning,
                      stacklevel=2)
    seconds = time.perf_counter() - start
    tqdm.write(f"linear networks {config.label}: {M} members x {config.epochs} epochs in "
               f"{seconds:.0f} s; test error {test_error[:, 0].mean():.3f} at start, "
               f"{test_error.mean(0).min():.3f} at best, {test_error[:, -1].mean():.3f} "
               f"at the end")
    return Result(name=NAME, config=config_dict(config),
                  arrays={"epochs": epochs, "train_error": train_error,
                          "test_error": test_error, **arrays},
                  meta={"seconds": seconds, "torch": torch.__version__})


def overtraining(test_error: np.ndarray) -> float:
    """Rise of the member-averaged test error from its minimum to the end, over the minimum."""
    mean = test_error.mean(axis=0)
    return float(mean[-1] / mean.min() - 1.0)


def generalisation_gain(test_error: np.ndarray) -> float:
    """Share of the initial excess test error (above the noise floor) removed at the best epoch."""
    mean = test_error.mean(axis=0) - NOISE_VAR
    return float(1.0 - mean.min() / mean[0])


COMPRESSION = 0.05
"""A layer compresses when its mean I(X;T) falls by at least this share of its peak."""


def claims(results: dict[str, Result]) -> list[Claim]:
    """Chapter 8: every linear network generalises, none compresses, and the first overtrains.

    A network generalises when its best test error removes more than 10% of the excess
    error of the initial (near-zero) predictor; 0 would mean it never beats predicting 0.
    """
    rows = []
    for label, result in results.items():
        hidden = result["i_xt"][..., :-1]
        rows += [
            Claim.test(f"{SOURCE}, Fig. 5", f"{label}: the network generalises.",
                       "share of the initial excess test error removed at the best epoch",
                       generalisation_gain(result["test_error"]), ">", 0.1),
            Claim.test(f"{SOURCE}, Fig. 5", f"{label}: ... without compression.",
                       "largest fall of mean I(X;T) after its peak, share of the peak, "
                       "hidden layers",
                       float(relative_compression(hidden).max()), "<", COMPRESSION),
        ]
    label, first = next(iter(results.items()))
    rows.append(Claim.test(
        f"{SOURCE}, section 4 (Advani & Saxe 2017)",
        f"{label}: with P = Ni the network overtrains (test error rises after its minimum).",
        "rise of mean test error from its minimum to the end, share of the minimum",
        overtraining(first["test_error"]), ">=", 0.05))
    return rows


def irrelevant_input_claims(result: Result) -> list[Claim]:
    """Chapter 10: the hidden layer gains information overall and about the relevant inputs,
    while its information about the irrelevant inputs rises and then falls."""
    layer = slice(0, 1)
    irr = result["i_x_irrelevant"][..., layer]
    mean_irr = irr.mean(axis=0)[:, 0]
    rise = float(1.0 - mean_irr[0] / mean_irr.max()) if mean_irr.max() > 0 else 0.0
    return [
        Claim.test(f"{SOURCE}, Fig. 6A", "Total I(X;T) of the hidden layer does not compress.",
                   "fall of mean I(X;T) after its peak, share of the peak",
                   float(relative_compression(result["i_xt"][..., layer])[0]), "<", COMPRESSION),
        Claim.test(f"{SOURCE}, Fig. 6B", "I(X_rel;T) grows and does not compress.",
                   "fall of mean I(X_rel;T) after its peak, share of the peak",
                   float(relative_compression(result["i_x_relevant"][..., layer])[0]),
                   "<", COMPRESSION),
        Claim.test(f"{SOURCE}, Fig. 6C", "I(X_irr;T) first rises ...",
                   "rise of mean I(X_irr;T) from the start to its peak, share of the peak",
                   rise, ">", 0.05),
        Claim.test(f"{SOURCE}, Fig. 6C", "... then falls (compression of the irrelevant inputs).",
                   "fall of mean I(X_irr;T) after its peak, share of the peak",
                   float(relative_compression(irr)[0]), ">=", COMPRESSION),
    ]


def overfitting_claims(result: Result) -> list[Claim]:
    """Chapter 10, second part: the tanh 12-bit network on little data (an
    :func:`information_plane.run` result) overfits while its hidden layers compress, so
    compression does not imply generalisation (Saxe et al. 2018, section 6)."""
    hidden = result["i_xt"][..., :-1]
    return [
        Claim.test(f"{SOURCE}, section 6", "tanh on 30% of the data overfits ...",
                   "rise of mean test loss from its minimum to the end, share of the minimum",
                   overtraining(result["test_loss"]), ">=", 0.05),
        Claim.test(f"{SOURCE}, section 6", "... while its hidden layers compress.",
                   "largest fall of mean hidden I(X;T) after its peak, share of the peak",
                   float(relative_compression(hidden).max()), ">=", COMPRESSION),
    ]
