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
from .. import stats
from ..claims import Claim
from ..config import Count, Device, NonNegative, Positive, config
from ..train import GradientMoments, log_spaced_epochs

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


def _factors(weights: list[torch.Tensor], grad_map: torch.Tensor
             ) -> list[tuple[torch.Tensor | None, torch.Tensor]]:
    """The gradient of every W_l as an outer product (W_L ... W_(l+1))ᵀ (G (W_(l-1) ... W_1)ᵀ):
    (left, right) with left None for the output layer (an identity)."""
    below = [None]                         # W_(l-1) ... W_1 for l = 1..L (None: identity)
    for w in weights[:-1]:
        below.append(w if below[-1] is None else w @ below[-1])
    factors: list = [None] * len(weights)
    above = None                           # W_L ... W_(l+1), shape (members, 1, n_l)
    for layer in range(len(weights) - 1, -1, -1):
        right = grad_map if below[layer] is None else grad_map @ below[layer].transpose(1, 2)
        factors[layer] = (None if above is None else above.transpose(1, 2), right)
        above = weights[layer] if above is None else above @ weights[layer]
    return factors


def gradients(weights: list[torch.Tensor], grad_map: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of every weight of linear chains W = W_L ... W_1 from the gradient of the
    loss with respect to their end-to-end map W.

    For a loss that depends on the weights only through W, the gradient of W_l is
    (W_L ... W_(l+1))ᵀ G (W_(l-1) ... W_1)ᵀ with G = dloss/dW. For the squared error
    ½ mean_b (W x_b - y_b)² of a scalar output, G = mean_b (W x_b - y_b) x_bᵀ
    (:func:`map_gradient`), and over the whole training set G = W Σ_xx - Σ_yx: full-batch
    gradient descent costs O(Ni²) a step, whatever the number of samples.

    Parameters
    ----------
    weights : list of Tensor, shapes (members, out, in)
    grad_map : Tensor, shape (members, 1, Ni)
        G for every member.
    """
    return [right if left is None else left @ right
            for left, right in _factors(weights, grad_map)]


def descend(weights: list[torch.Tensor], grad_map: torch.Tensor, lr: float) -> None:
    """One gradient step W_l <- W_l - lr dloss/dW_l on every weight, in place (the
    gradients of :func:`gradients`, all taken before any weight moves)."""
    for w, (left, right) in zip(weights, _factors(weights, grad_map)):
        if left is None:
            w.sub_(right, alpha=lr)
        else:
            w.baddbmm_(left, right, alpha=-lr)


def map_gradient(product: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """G = mean_b (W x_b - y_b) x_bᵀ, the gradient of ½ mean_b (W x_b - y_b)² with respect to
    the end-to-end map W (members, 1, Ni), for inputs x (members, B, Ni), targets y
    (members, B, 1)."""
    return (x @ product.transpose(1, 2) - y).transpose(1, 2) @ x / x.shape[1]


def end_to_end(weights: list[torch.Tensor]) -> torch.Tensor:
    """The product W_L ... W_1 of every member, shape (members, 1, Ni)."""
    product = weights[0]
    for w in weights[1:]:
        product = w @ product
    return product


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
    weights = [w.to(dev) for w in weights]
    x, y, w0 = x.to(dev), y.to(dev), w0.to(dev)
    sxx = x.transpose(1, 2) @ x / config.n_train          # Σ_xx and Σ_yx of the training
    syx = y.transpose(1, 2) @ x / config.n_train          # set, for full-batch steps

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
        product = None
        for layer, w in enumerate(weights):
            product = w if product is None else w @ product
            for k, v in layer_information(product, w0, config.mi_noise,
                                          config.n_relevant).items():
                arrays[k][:, i, layer] = v
        train_error[:, i] = ((x @ product.transpose(1, 2) - y) ** 2).mean((1, 2)).cpu().numpy()
        test_error[:, i] = (((product - w0) ** 2).sum((1, 2)) / config.n_inputs
                            + NOISE_VAR).cpu().numpy()

    record(0)
    bar = tqdm(range(1, config.epochs + 1), desc=config.label, disable=not progress,
               mininterval=1.0, unit="epoch")
    for epoch in bar:
        moments = GradientMoments(weights) if epoch in record_at else None
        if batch < config.n_train:    # each member's own order, a new one every epoch
            order = torch.stack([torch.randperm(config.n_train, generator=g)
                                 for g in gens]).to(dev)[..., None]
            xs = torch.gather(x, 1, order.expand(-1, -1, config.n_inputs))
            ys = torch.gather(y, 1, order)
        for begin in range(0, config.n_train, batch):
            product = end_to_end(weights)
            if batch < config.n_train:
                g = map_gradient(product, xs[:, begin:begin + batch], ys[:, begin:begin + batch])
            else:
                g = product @ sxx - syx
            if moments is None:
                descend(weights, g, config.lr)
                continue
            grads = gradients(weights, g)
            for w, gw in zip(weights, grads):
                w.grad = gw
            moments.add()
            for w, gw in zip(weights, grads):
                w.sub_(gw, alpha=config.lr)
        if moments is not None:
            i = record_at[epoch]
            arrays["grad_mean"][:, i], arrays["grad_std"][:, i], arrays["weight_norm"][:, i] = \
                moments.norms()
            for w in weights:
                w.grad = None
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
    """Rise of the member-averaged test error (or loss) from its minimum to the end, as a
    share of the minimum. Members on axis 0, records on axis 1."""
    mean = np.nanmean(test_error, axis=0)
    return float(mean[-1] / mean.min() - 1.0)


def generalisation_gain(test_error: np.ndarray, at: str = "best") -> float:
    """Share of the initial excess test error (above the noise floor) removed.

    ``at="best"``: at the record where the member-averaged test error is lowest (an
    oracle early stop, chosen on the test error itself); ``at="end"``: at the last
    record. 1 is the noise floor (a perfect student), 0 no better than the initial
    near-zero predictor, negative worse than it.
    """
    if at not in ("best", "end"):
        raise ValueError(f"at must be 'best' or 'end', got {at!r}")
    mean = test_error.mean(axis=0) - NOISE_VAR
    reached = mean.min() if at == "best" else mean[-1]
    return float(1.0 - reached / mean[0])


def rise_to_peak(i_xt: np.ndarray) -> float:
    """Rise of a member-averaged information curve from the start to its peak, as a share
    of the peak (0 where the peak is at the start). Shape (members, records)."""
    mean = np.nanmean(i_xt, axis=0)
    top = mean.max()
    return float(1.0 - mean[0] / top) if top > 0 else 0.0


FIT_SHARE = 0.99
"""Fitting has ended once the member-averaged training error has made this share of its
fall from the first record to the last (the plateau of the training error)."""

WHILE_FITTING = 0.5
"""Compression happens *while* fitting when at least this share of it is done by then."""


def fitting_end(train_error: np.ndarray, share: float = FIT_SHARE) -> int:
    """Record index at which fitting ends: the first record where the member-averaged
    training error has made ``share`` of its fall from the first record to the last."""
    mean = np.nanmean(train_error, axis=0)
    fall = mean[0] - mean[-1]
    if not fall > 0:
        return 0
    return int(np.argmax(mean[0] - mean >= share * fall))


def fall_while_fitting(i_xt: np.ndarray, train_error: np.ndarray,
                       share: float = FIT_SHARE) -> float:
    """Share of the compression of a layer done while the network still fits.

    The compression is the fall of the member-averaged I(X;T) (shape (members, records))
    from its peak (:func:`analysis.stats.relative_fall`) to the last record; the statistic is
    the part of it done by the record where fitting ends (:func:`fitting_end`), as a share
    of the whole fall, clipped to [0, 1]: 0 when fitting ended before the peak (all of the
    compression comes after fitting, as two phases would have it), 1 when the fall is
    complete when fitting ends. NaN where there is no peak after the start or no fall.
    """
    f = stats.relative_fall(i_xt[..., None])
    peak = int(f.peak[0])
    mean = np.round(np.nanmean(i_xt, axis=0), 9)
    drop = mean[peak] - mean[-1]
    if peak == 0 or not drop > 0:
        return float("nan")
    end = fitting_end(train_error, share)
    if end <= peak:
        return 0.0
    return float(np.clip((mean[peak] - mean[end]) / drop, 0.0, 1.0))


def _over(n: int) -> str:
    return f"bootstrap over {n} teachers"


def _compression_row(source: str, statement: str, what: str, curve: np.ndarray,
                     compresses: bool, n_members: int, layer: int = 0) -> Claim:
    """One row of the book's compression criterion for one layer of ``curve``
    (members, records, layers): the fall of the member-averaged curve from its peak (after
    the start) to the end; ``compresses`` chooses the claim (fall >= 5%) or its negation."""
    f = stats.relative_fall(curve[..., layer:layer + 1])
    return Claim.test(
        source, statement,
        f"fall of mean {what} from its peak to the end, share of the peak",
        float(f.fall[0]), ">=" if compresses else "<", stats.COMPRESSION,
        interval=stats.bootstrap(lambda a: stats.layer_fall(a, layer), curve),
        over=_over(n_members),
        untestable=("the peak is at the start: no rise to fall from" if f.at_start[0]
                    else None))


def claims(results: dict[str, Result]) -> list[Claim]:
    """Chapter 8: every linear network generalises if stopped early, not at the end of a
    long run; none compresses; the first (P = Ni) overtrains.

    A network generalises when it removes more than 10% of the excess test error of the
    initial (near-zero) predictor (:func:`generalisation_gain`); 0 would mean it never
    beats predicting 0. Compression is :func:`analysis.stats.largest_fall` over the hidden
    layers whose peak comes after the start.
    """
    rows = []
    for label, result in results.items():
        err, hidden = result["test_error"], result["i_xt"][..., :-1]
        n = len(err)
        fall = stats.largest_fall(hidden)
        rows += [
            Claim.test(f"{SOURCE}, Fig. 5", f"{label}: the network generalises, stopped early.",
                       "share of the initial excess test error removed at the best record "
                       "(oracle early stop on the test error)",
                       generalisation_gain(err, "best"), ">", 0.1,
                       interval=stats.bootstrap(generalisation_gain, err), over=_over(n)),
            Claim.test(f"{SOURCE}, Fig. 5", f"{label}: ... and at the end of training.",
                       "share of the initial excess test error removed at the last record",
                       generalisation_gain(err, "end"), ">", 0.1,
                       interval=stats.bootstrap(lambda e: generalisation_gain(e, "end"), err),
                       over=_over(n)),
            Claim.test(f"{SOURCE}, Fig. 5", f"{label}: no hidden layer compresses.",
                       "largest fall of mean I(X;T) from its peak to the end, share of the "
                       "peak, hidden layers",
                       fall, "<", stats.COMPRESSION,
                       interval=stats.bootstrap(stats.largest_fall, hidden), over=_over(n),
                       untestable=("every hidden layer peaks at the start"
                                   if not np.isfinite(fall) else None)),
        ]
    label, first = next(iter(results.items()))
    rows.append(Claim.test(
        f"{SOURCE}, section 4 (Advani & Saxe 2017)",
        f"{label}: with P = Nᵢ the network overtrains (test error rises after its minimum).",
        "rise of mean test error from its minimum to the end, share of the minimum",
        overtraining(first["test_error"]), ">=", 0.05,
        interval=stats.bootstrap(overtraining, first["test_error"]),
        over=_over(len(first["test_error"]))))
    return rows


def irrelevant_input_claims(result: Result, label: str = "") -> list[Claim]:
    """Chapter 10: the hidden layer's total I(X;T) and its I(X_rel;T) do not compress,
    while its I(Xᵢᵣᵣ;T) first rises and then falls (Saxe et al. 2018, Fig. 6).

    Every compression row is the book's criterion (:func:`analysis.stats.relative_fall`)
    with a bootstrap interval over teachers; ``label`` prefixes the statements.
    """
    prefix = f"{label}: " if label else ""
    n = len(result["i_xt"])
    irr = result["i_x_irrelevant"][..., 0]
    return [
        _compression_row(f"{SOURCE}, Fig. 6", f"{prefix}total I(X;T) of the hidden layer "
                         "does not compress.", "I(X;T)", result["i_xt"], False, n),
        _compression_row(f"{SOURCE}, Fig. 6", f"{prefix}I(Xᵣₑₗ;T) grows and does not "
                         "compress.", "I(Xᵣₑₗ;T)", result["i_x_relevant"], False, n),
        Claim.test(f"{SOURCE}, Fig. 6", f"{prefix}I(Xᵢᵣᵣ;T) first rises ...",
                   "rise of mean I(Xᵢᵣᵣ;T) from the start to its peak, share of the peak",
                   rise_to_peak(irr), ">", 0.05,
                   interval=stats.bootstrap(rise_to_peak, irr), over=_over(n)),
        _compression_row(f"{SOURCE}, Fig. 6", f"{prefix}... then falls (compression of the "
                         "irrelevant inputs).", "I(Xᵢᵣᵣ;T)", result["i_x_irrelevant"], True,
                         n),
    ]


def while_fitting_claim(result: Result, label: str = "") -> Claim:
    """Chapter 10: the compression of the irrelevant inputs happens while the network fits,
    not in a phase after it (Saxe et al. 2018, section 6): at least half of the fall of
    I(X_irr;T) is done when the training error plateaus (:func:`fall_while_fitting`)."""
    prefix = f"{label}: " if label else ""
    irr, train = result["i_x_irrelevant"][..., 0], result["train_error"]
    value = fall_while_fitting(irr, train)
    return Claim.test(
        f"{SOURCE}, section 6", f"{prefix}I(Xᵢᵣᵣ;T) compresses while the network fits, "
        "not after.",
        f"share of the fall of mean I(Xᵢᵣᵣ;T) done when the mean training error has made "
        f"{FIT_SHARE:.0%} of its fall",
        value, ">=", WHILE_FITTING,
        interval=stats.bootstrap(fall_while_fitting, irr, train), over=_over(len(irr)),
        untestable=("I(Xᵢᵣᵣ;T) has no fall after a peak to time" if not np.isfinite(value)
                    else None))


def accuracy_drop(accuracy: np.ndarray) -> float:
    """Fall of the member-averaged accuracy (members, records) from its best record to the
    last, in accuracy units (0.01 = one percentage point)."""
    mean = np.nanmean(accuracy, axis=0)
    return float(np.nanmax(mean) - mean[-1])


ACCURACY_DROP = 0.01
"""Overfitting in accuracy: the test accuracy ends at least one percentage point below its
best."""


def overfitting_claims(result: Result) -> list[Claim]:
    """Chapter 10, second part: the tanh 12-bit network on little data (an
    :func:`information_plane.run` result) overfits while its hidden layers compress, so
    compression does not imply generalisation (Saxe et al. 2018, section 6).

    Overfitting is read in the test loss (a rise of at least 5% from its minimum) and,
    where the result has ``test_acc``, in the test accuracy (a fall of at least
    :data:`ACCURACY_DROP` from its best); compression is the book's criterion over the
    hidden layers (:func:`analysis.stats.largest_fall`).
    """
    hidden, loss = result["i_xt"][..., :-1], result["test_loss"]
    n = len(loss)
    fall = stats.largest_fall(hidden)
    over = f"bootstrap over {n} seeds"
    rows = [
        Claim.test(f"{SOURCE}, section 6", "tanh on 30% of the data overfits ...",
                   "rise of mean test loss from its minimum to the end, share of the minimum",
                   overtraining(loss), ">=", 0.05,
                   interval=stats.bootstrap(overtraining, loss), over=over),
        Claim.test(f"{SOURCE}, section 6", "... while its hidden layers compress.",
                   "largest fall of mean binned I(X;T) from its peak to the end, share of the "
                   "peak, hidden layers",
                   fall, ">=", stats.COMPRESSION,
                   interval=stats.bootstrap(stats.largest_fall, hidden), over=over,
                   untestable=("every hidden layer peaks at the start"
                               if not np.isfinite(fall) else None)),
    ]
    if "test_acc" in result.arrays:
        acc = result["test_acc"]
        rows.insert(1, Claim.test(
            f"{SOURCE}, section 6", "... in test accuracy too ...",
            "fall of mean test accuracy from its best record to the end",
            accuracy_drop(acc), ">=", ACCURACY_DROP,
            interval=stats.bootstrap(accuracy_drop, acc), over=over, digits=3))
    return rows
