"""Chapters 12-13: noisy 12-bit networks, whose compression is the clustering of representations.

Goldfeld et al. (2019), sections 5-6. The network of chapter 1 with Gaussian noise of
standard deviation beta added to every hidden layer, in training and in evaluation:
T_l = f_l(T_(l-1)) + Z_l. For such a network I(X;T_l) is finite and informative; it is
estimated by sample propagation (:mod:`analysis.info.sp`) with X uniform over a
class-balanced subset of n of the 4096 patterns, so it is at most log2 n bits
(:func:`cap`). Alongside, the clustering of the layers' noiseless outputs S_l is measured
(:mod:`analysis.info.clustering`): same-class against between-class distances, the
silhouette of the classes and the number of clusters at the scale of the noise.

With ``beta = 0`` the network is deterministic and its binned I(X;T) over all 4096
patterns is recorded, with H(Bin(T)) computed independently, plus the same clustering
measures at the scale of a bin. The bins must fit the activation (``binning``): chapter
1's 30 fixed edges on [-1, 1] only for activations bounded there (tanh, softsign,
sigmoid); an unbounded activation (ReLU) gets ``n_bins`` equal bins between each layer's
minimum and maximum at each record, with a printed notice, and fixed edges for it are
refused. The last record's representations of the subset are kept for comparing a noisy
network with its deterministic twin (:func:`linear_cka`).

``orthonormal > 0`` applies the Parseval step W <- (1 + a) W - a W W^T W to the hidden
weights after every update (Cisse et al. 2017), the constraint of chapter 13.

The verdicts use the book's one compression criterion (:mod:`analysis.stats`): the fall
of the member-averaged I(X;T_l) from a peak after the start, as a share of the peak, with
a bootstrap interval over members. A layer whose curve starts at the cap log2 n (every
input resolved from initialisation, nothing to fit) or peaks at the first record is not
testable for compression.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field
from tqdm import tqdm

from .. import stats
from ..cache import Result, cached, config_dict
from ..claims import Claim
from ..config import (Activation, AtLeastTwo, Count, Device, Fraction, NonNegative,
                      NonNegativeReal, Optimizer, Positive, config)
from ..data import load_spherical
from ..info.binning import RangeBins, binned_mutual_information, original_bins
from ..info.clustering import binned_entropy, clustering_measures
from ..info.sp import sp_information
from ..nets import SZT_WIDTHS, Ensemble, EnsembleMLP, check_architecture, check_device
from ..train import (EnsembleSchedule, Snapshot, log_spaced_epochs, member_splits,
                     noise_generator, train_ensemble)

NAME = "noisy_networks"
SOURCE = "Goldfeld et al. 2019"
MEASURES = ("distance_ratio", "silhouette", "log2_clusters")
BOUNDED = ("tanh", "softsign", "sigmoid")
"""Activations whose outputs lie in [-1, 1]: the only ones chapter 1's fixed edges fit."""
CAP_TOLERANCE = 0.01
"""A layer whose member-averaged I(X;T) at initialisation is within this share of the cap
log2 n (0.09 bits of 9) resolves every input from the start: it has no fitting phase, and
its row on compression is not testable."""
RHO_CLUSTERS = 0.7
"""Spearman correlation of I(X;T) with log2 of the clusters: "I(X;T) follows clustering"."""
RHO_SILHOUETTE = -0.5
"""Spearman correlation of I(X;T) with the silhouette from the peak: "the fall coincides
with rising same-class clustering"."""
ACCURACY_GAP = 0.05
"""Largest gap in test accuracy for "about as accurate"."""
CKA_PROXY = 0.9
"""Least linear CKA between a noisy network's layer and its deterministic twin's for
"the same representation"."""


@config
class Config(EnsembleSchedule):
    """Parameters of one noisy-network run (training as in chapter 1 unless stated).

    ``beta`` is the noise standard deviation (0: deterministic network, binned MI);
    ``n_inputs`` the size of the class-balanced subset of patterns over which X is uniform
    for SP and the clustering measures; ``n_conditional`` the noisy passes per input that
    sample h(T_l | X); ``n_mc`` the noise draws per centre; ``cluster_scale`` the distance,
    in units of beta, below which representations count as one cluster; ``orthonormal``
    the step size of the Parseval step (0: none); ``binning`` the bins of a deterministic
    network: ``"fixed"`` (``n_bins`` edges on [-1, 1], chapter 1), ``"range"`` (``n_bins``
    equal bins between each layer's minimum and maximum at each record) or ``"auto"``
    (fixed for an activation bounded to [-1, 1], range otherwise).
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
    binning: Literal["auto", "fixed", "range"] = "auto"
    data: str = "generated"
    device: Device = "cpu"

    def __post_init__(self) -> None:
        check_architecture(self.widths, self.activation)
        if self.beta == 0 and self.binning == "fixed" and self.activation not in BOUNDED:
            raise ValueError(
                f"binning='fixed' puts {self.n_bins} edges on [-1, 1], but {self.activation} "
                f"is not bounded to [-1, 1]: its larger values would all share the top bin. "
                f"Use binning='range' (or 'auto') for {self.activation}")

    @property
    def bins(self) -> str:
        """The binning of a deterministic run: ``"fixed"`` or ``"range"``."""
        if self.binning != "auto":
            return self.binning
        return "fixed" if self.activation in BOUNDED else "range"

    @property
    def label(self) -> str:
        noise = f"beta={self.beta:g}" if self.beta > 0 else "deterministic"
        constraint = f", Parseval {self.orthonormal:g}" if self.orthonormal > 0 else ""
        return f"{self.seeds} {self.activation} nets, {noise}{constraint}"


def bins_of(config: dict) -> str:
    """The binning (``"fixed"`` or ``"range"``) of a run, from its configuration dict."""
    chosen = config.get("binning", "fixed")
    if chosen != "auto":
        return chosen
    return "fixed" if config["activation"] in BOUNDED else "range"


def binning_notice(config: Config) -> str:
    """What a deterministic run's bins are, and why (empty for a noisy run)."""
    if config.beta > 0:
        return ""
    if config.bins == "fixed":
        return f"{config.n_bins} fixed edges on [-1, 1] (chapter 1)"
    why = (f"{config.activation} is not bounded to [-1, 1], so "
           if config.activation not in BOUNDED else "")
    return (f"{why}{config.n_bins} equal bins between each layer's minimum and maximum "
            f"at each record (binning='range')")


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
        ``epochs`` (E,); ``i_xt`` (members, E, hidden layers) in bits — SP over the
        subset for a noisy network, binned over all patterns for a deterministic one;
        ``h_bin`` (H(Bin(T)) of the deterministic network, NaN for a noisy one); the
        clustering measures ``distance_ratio``, ``silhouette`` and ``log2_clusters``
        (members, E, hidden layers); ``rep_1`` ... ``rep_L``, every hidden layer's
        representations of the subset at the last record (members, n_inputs, width:
        S_l for a noisy network, T_l for a deterministic one); ``train_acc``,
        ``test_acc``, ``train_loss``, ``test_loss`` (members, E), evaluated with the
        noise. ``meta["binning"]`` names the bins of a deterministic run.
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
                      hidden: int, centres_out: list | None = None) -> dict[str, np.ndarray]:
    """I(X;T_l) by sample propagation and the clustering of S_l, for every hidden layer.

    X is uniform over n inputs; ``x_rep`` holds them ``n_conditional`` times over,
    repeat-major, feature-major (d, n_conditional * n). One noisy pass gives every layer's
    centres S_l (the first repeat, whose clustering is measured) and, for l > 1,
    ``n_conditional`` draws of S_l given each input, whose Gaussian mixture is p(t_l | x);
    I(X;T_l) is then estimated by :func:`analysis.info.sp.sp_information` (Goldfeld et
    al. 2019, section 3). Noise draws are fixed by the members' seeds and ``epoch``.
    When ``centres_out`` is a list, every layer's centres (members, n, d) are appended.

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
        if centres_out is not None:
            centres_out.append(centres.cpu().float().numpy())
    return out


def _compute(config: Config, data, progress: bool) -> Result:
    start = time.perf_counter()
    seeds = config.seed_list
    dev = torch.device(config.device)
    epochs = log_spaced_epochs(config.epochs, config.n_records)
    last = len(epochs) - 1
    hidden = len(config.widths) - 2
    shape = (len(seeds), len(epochs), hidden)
    arrays = {key: np.full(shape, np.nan) for key in ("i_xt", "h_bin", *MEASURES)}
    reps: dict[str, np.ndarray] = {}
    sub = balanced_subset(data.y, config.n_inputs, config.first_seed)
    labels = data.y[sub]
    x_sub = torch.as_tensor(data.x[sub], dtype=torch.float32, device=dev).T
    x_rep = x_sub.repeat(1, config.n_conditional)       # (d, m * n): repeat-major
    fixed = original_bins(config.n_bins)
    model = EnsembleMLP(config.widths, config.activation, seeds, noise_std=config.beta,
                        device=dev)
    notice = binning_notice(config)
    if notice and config.bins == "range":
        tqdm.write(f"{config.label}: {notice}", file=sys.stderr)

    def estimate_noisy(snap: Snapshot) -> None:
        centres: list = [] if snap.index == last else None
        values = sp_and_clustering(model, x_rep, labels, config.n_conditional, config.n_mc,
                                   config.cluster_scale * config.beta, snap.epoch, hidden,
                                   centres_out=centres)
        for key, value in values.items():
            arrays[key][:, snap.index] = value
        for layer, c in enumerate(centres or []):
            reps[f"rep_{layer + 1}"] = c

    def estimate_deterministic(snap: Snapshot) -> None:
        for layer in range(hidden):
            t = snap.layers[layer].cpu().transpose(1, 2).double()     # (members, n, width)
            if config.bins == "fixed":
                bins, edges = fixed, [np.asarray(fixed.edges)] * len(seeds)
                widths = [float(np.diff(fixed.edges)[0])] * len(seeds)
            else:
                bins = RangeBins(config.n_bins)
                lo = t.flatten(1).amin(1).numpy()
                hi = t.flatten(1).amax(1).numpy()
                widths = [max(float(h - l), 1e-12) / config.n_bins for l, h in zip(lo, hi)]
                edges = [l + w * np.arange(1, config.n_bins) for l, w in zip(lo, widths)]
            arrays["i_xt"][:, snap.index, layer] = binned_mutual_information(
                t, data.p_y_given_x, bins)[0]
            arrays["h_bin"][:, snap.index, layer] = [
                binned_entropy(t[k], e) for k, e in enumerate(edges)]
            if config.bins == "fixed":
                measures = clustering(t[:, sub], labels, widths[0])
            else:        # each member's bins have their own width
                per = [clustering(t[k:k + 1, sub], labels, w) for k, w in enumerate(widths)]
                measures = {key: np.concatenate([p[key] for p in per]) for key in MEASURES}
            for key, value in measures.items():
                arrays[key][:, snap.index, layer] = value
            if snap.index == last:
                reps[f"rep_{layer + 1}"] = t[:, sub].float().numpy()

    train_idx, test_idx = member_splits(data.n_samples, config.train_fraction, seeds)
    history = train_ensemble(
        model, data, train_idx, test_idx, config.train_config(),
        on_record=estimate_noisy if config.beta > 0 else estimate_deterministic,
        record_epochs=epochs, progress=progress, desc=config.label,
        parseval=config.orthonormal)
    seconds = time.perf_counter() - start
    tqdm.write(f"{config.label}: {config.epochs} epochs in {seconds:.0f} s; final test acc "
               f"{np.nanmean(history.test_acc[:, -1]):.3f}; I(X;T) of the last hidden layer "
               f"{np.mean(arrays['i_xt'][:, -1, -1]):.2f} bits", file=sys.stderr)
    return Result(
        name=NAME, config=config_dict(config),
        arrays={"epochs": history.epochs, **arrays, **reps, "subset": sub,
                "train_acc": history.train_acc, "test_acc": history.test_acc,
                "train_loss": history.train_loss, "test_loss": history.test_loss},
        meta={"data": data.source, "seconds": seconds, "torch": torch.__version__,
              "binning": notice})


# --- statistics ---------------------------------------------------------------------------

def cap(result: Result) -> float:
    """The most I(X;T) can be in bits: log2 of the number of equiprobable inputs (the
    subset for SP, all 4096 patterns for the binned estimate of a deterministic run)."""
    n = len(result["subset"]) if result.config["beta"] > 0 else 2 ** result.config["widths"][0]
    return math.log2(n)


def starts_at_cap(i_xt: np.ndarray, top: float, tolerance: float = CAP_TOLERANCE) -> np.ndarray:
    """Per layer: whether the member-averaged I(X;T) at the first record is within
    ``tolerance`` (a share) of the cap ``top``: every input resolved from the start."""
    return np.nanmean(i_xt[:, 0], axis=0) >= top * (1.0 - tolerance)


def falls(i_xt: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: :func:`analysis.stats.relative_fall`, and whether the layer can be tested
    for compression (its peak after the start, its start below the cap)."""
    f = stats.relative_fall(i_xt)
    return f.fall, ~f.at_start & ~starts_at_cap(i_xt, top)


def largest_fall(i_xt: np.ndarray, top: float) -> float:
    """The largest fall over the layers that can be tested for compression (NaN if none)."""
    fall, ok = falls(i_xt, top)
    return float(fall[ok].max()) if ok.any() else float("nan")


def average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D sample, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(np.asarray(a), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends + 1) / 2.0)[inverse.ravel()]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two 1-D samples (average ranks for ties): the
    statistic of :func:`scipy.stats.spearmanr`, without its overhead."""
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float(ra @ rb / np.sqrt((ra @ ra) * (rb @ rb)))


def correlations(x: np.ndarray, y: np.ndarray, from_peak: bool = False) -> np.ndarray:
    """Per layer: Spearman correlation over the records of the member-averaged curves.

    ``x`` and ``y`` have shape (members, records, layers). With ``from_peak`` only the
    records from the peak of the member-averaged ``x`` onwards count (the compression
    phase); a layer with fewer than 4 such records, or a constant curve, gives NaN. The
    curves are compared to 9 decimals, like the peak: a curve that varies only by float
    rounding (I(X;T) at its cap) is constant, not a ranking of rounding errors.
    """
    mx, my = np.round(np.nanmean(x, axis=0), 9), np.round(np.nanmean(y, axis=0), 9)
    out = np.full(mx.shape[1], np.nan)
    for layer in range(mx.shape[1]):
        begin = int(mx[:, layer].argmax()) if from_peak else 0
        a, b = mx[begin:, layer], my[begin:, layer]
        if len(a) >= 4 and np.ptp(a) > 0 and np.ptp(b) > 0:
            out[layer] = spearman(a, b)
    return out


def median(values: np.ndarray) -> float:
    """Median of the finite values; NaN (without a warning) when there are none."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def final_accuracy(result: Result) -> float:
    """Member-averaged test accuracy at the last record."""
    return float(np.nanmean(result["test_acc"][:, -1]))


def linear_cka(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Linear centred kernel alignment of two representations of the same inputs, per set.

    ``a`` (..., n, d1) and ``b`` (..., n, d2): CKA = |A^T B|_F² / (|A^T A|_F |B^T B|_F)
    with A, B centred over the n inputs. 1 when B is A rotated, scaled or shifted, near 0
    for unrelated representations; NaN where one of them is constant.

    References
    ----------
    Kornblith et al. (2019), "Similarity of neural network representations revisited",
    Eq. 5 (linear kernel).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=-2, keepdims=True)
    b = b - b.mean(axis=-2, keepdims=True)
    t = np.swapaxes

    def frob2(m: np.ndarray) -> np.ndarray:
        return (m * m).sum(axis=(-2, -1))

    cross = frob2(t(a, -1, -2) @ b)
    norm = np.sqrt(frob2(t(a, -1, -2) @ a) * frob2(t(b, -1, -2) @ b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, cross / np.where(norm > 0, norm, 1.0), np.nan)


def hidden_layers(result: Result) -> int:
    return result["i_xt"].shape[2]


def twin_cka(noisy: Result, deterministic: Result) -> np.ndarray:
    """Linear CKA of every member's layers with its deterministic twin's (same seed: same
    initial weights, split and minibatch order), at the last record, on the same inputs.
    Shape (members, hidden layers)."""
    if not np.array_equal(noisy["subset"], deterministic["subset"]):
        raise ValueError("the twins' representations are of different input subsets")
    return np.stack([linear_cka(noisy[f"rep_{k + 1}"], deterministic[f"rep_{k + 1}"])
                     for k in range(hidden_layers(noisy))], axis=1)


def seed_cka(result: Result) -> np.ndarray:
    """Mean linear CKA of each layer between members of different seeds (the variation
    that retraining from another seed brings). Shape (hidden layers,); NaN for one member."""
    out = []
    for k in range(hidden_layers(result)):
        r = result[f"rep_{k + 1}"]
        pairs = [linear_cka(r[i], r[j]) for i in range(len(r)) for j in range(i + 1, len(r))]
        out.append(float(np.mean(pairs)) if pairs else float("nan"))
    return np.array(out)


def layer_summary(result: Result) -> list[dict]:
    """Per hidden layer: the member-averaged I(X;T) at the start, peak and end (bits), the
    fall from the peak (share) with its bootstrap interval over members, whether the layer
    can be tested for compression (and why not), the Spearman correlation of I(X;T) with
    the silhouette from the peak, and the final silhouette."""
    i_xt = result["i_xt"]
    top = cap(result)
    mean = np.nanmean(i_xt, axis=0)
    fall, ok = falls(i_xt, top)
    at_cap = starts_at_cap(i_xt, top)
    rho = correlations(i_xt, result["silhouette"], from_peak=True)
    low, high = stats.bootstrap(lambda a: stats.relative_fall(a).fall, i_xt)
    rows = []
    for k in range(i_xt.shape[2]):
        rows.append({"layer": k + 1, "start": float(mean[0, k]),
                     "peak": float(mean[:, k].max()), "end": float(mean[-1, k]),
                     "fall": float(fall[k]), "low": float(low[k]), "high": float(high[k]),
                     "testable": bool(ok[k]),
                     "why": "" if ok[k] else ("at the cap" if at_cap[k] else "peak at start"),
                     "rho_silhouette": float(rho[k]),
                     "silhouette": float(np.nanmean(result["silhouette"][:, -1, k]))})
    return rows


def _interval(statistic: Callable[..., float], *arrays: np.ndarray) -> tuple[float, float]:
    low, high = stats.bootstrap(statistic, *arrays)
    return float(low), float(high)


def _over(result: Result) -> str:
    return f"bootstrap over {result['i_xt'].shape[0]} seeds"


def compression_claim(r: Result, name: str, source: str) -> Claim:
    """Does some hidden layer's I(X;T) compress (the book's criterion, testable layers)?"""
    top = cap(r)
    fall, ok = falls(r["i_xt"], top)
    untestable = None if ok.any() else (
        "every layer peaks at the start or starts at the cap log2 n")
    value = float(fall[ok].max()) if ok.any() else float("nan")
    return Claim.test(
        source, f"{name}: the I(X;T) of some hidden layer compresses.",
        f"largest fall of I(X;T) from its peak, share of the peak, over the "
        f"{int(ok.sum())} testable layers",
        value, ">=", stats.COMPRESSION,
        interval=_interval(lambda a: largest_fall(a, top), r["i_xt"]) if ok.any() else None,
        over=_over(r), untestable=untestable)


def clustering_claims(noisy: dict[str, Result], deterministic: dict[str, Result]) -> list[Claim]:
    """The verdicts of chapter 12, per activation (keys of both dicts).

    For every noisy network: does a layer compress (:func:`compression_claim`); where
    layers compress, does the fall coincide with rising same-class clustering (median
    Spearman correlation of I(X;T_l) and the silhouette from the peak on); does I(X;T_l)
    follow the number of clusters at the noise scale; and is the noisy network a proxy of
    its deterministic twin in accuracy and in representations (linear CKA). For every
    deterministic twin: does the binned I(X;T) follow the number of clusters at the scale
    of a bin. Every interval is a bootstrap over members (twins resampled in pairs).
    """
    rows = []
    for act, r in noisy.items():
        beta = r.config["beta"]
        name = f"{act}, beta = {beta:g}"
        det = deterministic[act]
        over = _over(r)
        rows.append(compression_claim(r, name, f"{SOURCE}, section 5.1"))
        top = cap(r)
        fall, ok = falls(r["i_xt"], top)
        squeezed = ok & (fall >= stats.COMPRESSION)

        def silhouette_rho(i_xt, sil, layers=squeezed):
            return median(correlations(i_xt, sil, from_peak=True)[layers])

        rows.append(Claim.test(
            f"{SOURCE}, section 5.1",
            f"{name}: where I(X;T) falls, same-class clustering rises.",
            f"median Spearman rho(I(X;T), silhouette) from the peak, over the "
            f"{int(squeezed.sum())} compressing layers",
            silhouette_rho(r["i_xt"], r["silhouette"]) if squeezed.any() else float("nan"),
            "<=", RHO_SILHOUETTE,
            interval=(_interval(silhouette_rho, r["i_xt"], r["silhouette"])
                      if squeezed.any() else None),
            over=over, untestable=None if squeezed.any() else "no layer compresses"))

        def cluster_rho(i_xt, clusters):
            return median(correlations(i_xt, clusters))

        rows.append(Claim.test(
            f"{SOURCE}, sections 4-5",
            f"{name}: I(X;T) follows the clustering at the noise scale.",
            f"median over layers of Spearman rho(I(X;T), log2 clusters at "
            f"{r.config['cluster_scale']:g} beta)",
            cluster_rho(r["i_xt"], r["log2_clusters"]), ">=", RHO_CLUSTERS,
            interval=_interval(cluster_rho, r["i_xt"], r["log2_clusters"]), over=over))

        def accuracy_gap(a, b):
            return abs(float(np.nanmean(a[:, -1])) - float(np.nanmean(b[:, -1])))

        rows.append(Claim.test(
            f"{SOURCE}, abstract; section 5.1",
            f"{act}: the noisy network is about as accurate as its deterministic twin.",
            "|test accuracy noisy - deterministic| at the end",
            accuracy_gap(r["test_acc"], det["test_acc"]), "<=", ACCURACY_GAP,
            interval=_interval(accuracy_gap, r["test_acc"], det["test_acc"]),
            over=over, digits=3))
        cka = twin_cka(r, det)

        def lowest_cka(c):
            return float(np.nanmean(c, axis=0).min())

        rows.append(Claim.test(
            f"{SOURCE}, abstract",
            f"{act}: the noisy network learns the representations of its deterministic "
            "twin.",
            "lowest over layers of the mean linear CKA with the twin's layer at the end",
            lowest_cka(cka), ">=", CKA_PROXY, interval=_interval(lowest_cka, cka), over=over))
    for act, r in deterministic.items():
        kind = ("range bins" if bins_of(r.config) == "range"
                else f"{r.config['n_bins']} bins on [-1, 1]")

        def bin_rho(i_xt, clusters):
            return median(correlations(i_xt, clusters))

        rows.append(Claim.test(
            f"{SOURCE}, section 5.2",
            f"{act}, deterministic ({kind}): the binned I(X;T) follows the clustering at "
            "the scale of a bin.",
            "median over layers of Spearman rho(binned I(X;T), log2 clusters at a bin width)",
            bin_rho(r["i_xt"], r["log2_clusters"]), ">=", RHO_CLUSTERS,
            interval=_interval(bin_rho, r["i_xt"], r["log2_clusters"]), over=_over(r)))
    return rows


def final_mean(result: Result, key: str) -> float:
    """Member- and layer-averaged value of ``key`` at the last record."""
    return float(np.nanmean(result[key][:, -1]))


def constraint_claims(free: Result, constrained: Result) -> list[Claim]:
    """The verdicts of chapter 13: the orthonormality constraint limits clustering, and
    with it compression, at a small cost in accuracy.

    The two ensembles share their seeds (initial weights, splits, minibatch orders), so
    intervals resample the members in pairs.
    """
    label = f"Parseval step {constrained.config['orthonormal']:g}"
    over = f"bootstrap over {free['i_xt'].shape[0]} paired seeds"
    top = cap(free)
    if cap(constrained) != top:
        raise ValueError("the two runs estimate I(X;T) over different numbers of inputs")

    def silhouette_gap(c, f):
        return float(np.nanmean(c[:, -1]) - np.nanmean(f[:, -1]))

    def fall_gap(c, f):
        return largest_fall(c, top) - largest_fall(f, top)

    def accuracy_cost(f, c):
        return float(np.nanmean(f[:, -1]) - np.nanmean(c[:, -1]))

    testable = [bool(falls(r["i_xt"], top)[1].any()) for r in (free, constrained)]
    why = None if all(testable) else (
        "in a network every layer peaks at the start or starts at the cap log2 n")
    con_fall = largest_fall(constrained["i_xt"], top)
    return [
        Claim.test(f"{SOURCE}, section 6",
                   "An orthonormality constraint on the weights limits same-class clustering.",
                   f"final silhouette, {label} minus unconstrained (mean over layers)",
                   silhouette_gap(constrained["silhouette"], free["silhouette"]), "<", 0.0,
                   interval=_interval(silhouette_gap, constrained["silhouette"],
                                      free["silhouette"]),
                   over=over, digits=3),
        Claim.test(f"{SOURCE}, section 6",
                   "With less clustering there is less compression.",
                   f"largest fall of I(X;T) from its peak (share), {label} minus "
                   "unconstrained",
                   fall_gap(constrained["i_xt"], free["i_xt"]) if all(testable)
                   else float("nan"), "<", 0.0,
                   interval=(_interval(fall_gap, constrained["i_xt"], free["i_xt"])
                             if all(testable) else None),
                   over=over, digits=3, untestable=why),
        Claim.test(f"{SOURCE}, section 6",
                   "With the constraint no hidden layer compresses.",
                   "largest fall of I(X;T) from its peak, share of the peak, constrained "
                   "network",
                   con_fall, "<", stats.COMPRESSION,
                   interval=(_interval(lambda c: largest_fall(c, top), constrained["i_xt"])
                             if testable[1] else None),
                   over=_over(constrained), digits=3,
                   untestable=None if testable[1] else
                   "every layer peaks at the start or starts at the cap log2 n"),
        Claim.test(f"{SOURCE}, section 6",
                   "The constraint costs little accuracy.",
                   "test accuracy unconstrained minus constrained",
                   accuracy_cost(free["test_acc"], constrained["test_acc"]), "<=",
                   ACCURACY_GAP,
                   interval=_interval(accuracy_cost, free["test_acc"],
                                      constrained["test_acc"]),
                   over=over, digits=3),
    ]
