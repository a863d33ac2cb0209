"""The parameters of every notebook: one validated class per chapter, one source of truth.

Each class below declares every parameter of one notebook with its type, bounds and
default; the defaults *are* the ``default`` profile, the one the published book shows.
``profiles/smoke.yml`` and ``profiles/paper.yml`` override some of them per notebook.
A notebook's parameters cell is generated from its class (:func:`parameters_cell`; a test
checks that every notebook's cell is current) and holds ``None`` for every parameter:
``None`` takes the profile's value, anything else overrides it. The next cell calls
:func:`load`, which merges defaults, profile and explicit values, validates them all (every
element of every list included) before any network trains, and prints the profile and the
effective values. The same happens whether the notebook runs through
``python -m analysis run``, ``papermill NB OUT -p profile smoke -p seeds 2``, or in Jupyter
after editing the parameters cell.

The experiments' configurations are built from the chapter's parameters by
:meth:`Chapter.pick`, which takes every field of the configuration class from the
parameter of the same name (or ``prefix + name``), so a notebook never lists them by hand.
"""
from __future__ import annotations

import ast
import dataclasses
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter

from .cache import PACKAGE_ROOT
from .config import (Activation, AtLeastTwo, Count, Device, Fraction, Optimizer, ParameterError,
                     Positive, config, validated)
from .data.images import LOADERS
from .experiments import estimators as es
from .experiments import gradient_noise as gn
from .experiments import information_plane as ip
from .experiments import linear_networks as ln
from .experiments import mnist_networks as mn
from .experiments import noisy_networks as nw
from .experiments import training_size as ts
from .experiments.depth import depth_widths
from .nets import SZT_WIDTHS
from .threads import set_threads

PROFILES = PACKAGE_ROOT.parent / "profiles"
DEFAULT_PROFILE = "default"
C = TypeVar("C")


def _full_batch(value: Any) -> Any:
    return None if value == "full" else value


def _all(value: Any) -> Any:
    return None if value == "all" else value


def _data_source(value: str) -> str:
    if value != "generated" and not Path(value).expanduser().is_file():
        raise ValueError(
            f"no 12-bit data file at {value}: pass \"generated\" (the paper's recipe) or the "
            "path of var_u.mat (folder data/ of the IDNNs repository of Shwartz-Ziv & Tishby)")
    return value


BatchSize = Annotated[Count | None, BeforeValidator(_full_batch)]
"""A minibatch size, or ``"full"`` for full-batch gradient descent."""
DataSource = Annotated[str, AfterValidator(_data_source)]
"""``"generated"`` (the 12-bit rule from the paper's recipe) or the path of ``var_u.mat``."""
ImageSet = Literal[tuple(LOADERS)]
AllOr = Annotated[C | None, BeforeValidator(_all)]
"""A count, or ``"all"`` for no limit."""
Epochs = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]


@dataclasses.dataclass(frozen=True)
class Chapter:
    """What every chapter's parameters share: building configurations and validating them.

    Subclasses are :func:`~analysis.config.config` dataclasses whose fields are the
    notebook's parameters; ``NOTEBOOK`` is the notebook's name and :meth:`experiments` builds
    every configuration the notebook runs (which validates them all).
    """

    NOTEBOOK: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self.experiments()

    def experiments(self) -> dict[str, Any]:
        """Every configuration the notebook runs, by a short label."""
        return {}

    def pick(self, cls: type[C], prefix: str = "", fallback: bool | tuple[str, ...] = True,
             **changes: Any) -> C:
        """An instance of the configuration ``cls`` from this chapter's parameters.

        Each field of ``cls`` takes the parameter ``prefix + field`` if there is one, else
        the parameter ``field`` (where ``fallback`` is True or names it), else its own
        default; ``changes`` override them all.
        """
        mine = {f.name for f in dataclasses.fields(self)}
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in changes:
                continue
            falls = fallback is True or (fallback and f.name in fallback)
            for name in (prefix + f.name, f.name) if falls else (prefix + f.name,):
                if name in mine:
                    values[f.name] = getattr(self, name)
                    break
        return cls(**{**values, **changes})

    def values(self) -> dict[str, Any]:
        """The effective parameters, by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# --- Part I: Shwartz-Ziv & Tishby -------------------------------------------------------

@config
class Training(Chapter):
    """The 12-bit network's training, as in chapter 1 (see ``information_plane.Config``)."""

    seeds: Count = 50
    epochs: Count = 8000
    n_records: Count = 400
    optimizer: Optimizer = "adam"
    batch_size: BatchSize = 512
    lr: Positive = 4e-4
    n_bins: AtLeastTwo = 30
    split: Literal["random", "first"] = "random"
    data: DataSource = "generated"
    device: Device = "cpu"

    def network(self, **changes: Any) -> ip.Config:
        """The information-plane configuration of these parameters."""
        return self.pick(ip.Config, **changes)

    def experiments(self) -> dict[str, Any]:
        return {"network": self.network()}


@config
class Network(Training):
    """The 12-bit network of one activation and its training."""

    train_fraction: Fraction = 0.85
    widths: tuple[Count, ...] = SZT_WIDTHS
    activation: Activation = "tanh"


@config
class InformationPlane(Network):
    """Chapter 1: ``train_fractions`` are further training sizes beside ``train_fraction``;
    ``snapshot_epochs`` the epochs of the snapshot panels (``"auto"``: start, 1/20, end)."""

    NOTEBOOK: ClassVar[str] = "01_information_plane"
    train_fractions: list[Fraction] = dataclasses.field(default_factory=lambda: [0.05, 0.45])
    snapshot_epochs: Epochs | Literal["auto"] = "auto"
    animation_frames: AtLeastTwo = 40

    def __post_init__(self) -> None:
        if self.snapshot_epochs != "auto" and max(self.snapshot_epochs) > self.epochs:
            raise ValueError(f"snapshot_epochs {self.snapshot_epochs} go beyond epochs = "
                             f"{self.epochs}; pass epochs up to {self.epochs}, or \"auto\"")
        super().__post_init__()

    @property
    def fractions(self) -> list[float]:
        """Every training fraction run, ascending (``train_fraction`` included)."""
        return sorted({*self.train_fractions, self.train_fraction})

    @property
    def snapshots(self) -> list[int]:
        """The epochs of the snapshot panels."""
        if self.snapshot_epochs == "auto":
            return sorted({0, self.epochs // 20, self.epochs})
        return list(self.snapshot_epochs)

    def experiments(self) -> dict[str, Any]:
        return {f"{f:.0%}": self.network(train_fraction=f) for f in self.fractions}


@config
class GradientPhases(Network):
    """Chapter 2: ``smooth_window`` is the width (records) of the running mean of log SNR."""

    NOTEBOOK: ClassVar[str] = "02_gradient_phases"
    smooth_window: Count = 9


@config
class Depth(Training):
    """Chapter 3: networks of 1-6 hidden layers; ``information_fraction`` of I(X;Y) to reach."""

    NOTEBOOK: ClassVar[str] = "03_depth"
    epochs: Count = 3000
    n_records: Count = 300
    train_fraction: Fraction = 0.8
    activation: Activation = "tanh"
    depths: Annotated[list[Annotated[int, Field(ge=1, le=10)]], Field(min_length=2)] = \
        dataclasses.field(default_factory=lambda: [1, 2, 3, 4, 5, 6])
    information_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.95

    def experiments(self) -> dict[str, Any]:
        return {f"{d} hidden": self.network(widths=depth_widths(d)) for d in self.depths}


@config
class IBBound(Network):
    """Chapter 4: the IB curve over ``n_betas`` log-spaced beta in [beta_min, beta_max]."""

    NOTEBOOK: ClassVar[str] = "04_ib_bound"
    beta_min: Positive = 0.05
    beta_max: Positive = 2000.0
    n_betas: AtLeastTwo = 300

    def __post_init__(self) -> None:
        if not self.beta_min < self.beta_max:
            raise ValueError(f"beta_min ({self.beta_min}) must be below beta_max ({self.beta_max})")
        super().__post_init__()


@config
class TrainingSize(Training):
    """Chapter 5: one ensemble per training fraction (must include 0.05 and 0.85)."""

    NOTEBOOK: ClassVar[str] = "05_training_size"
    widths: tuple[Count, ...] = SZT_WIDTHS
    activation: Activation = "tanh"
    train_fractions: Annotated[list[Fraction], Field(min_length=2)] = dataclasses.field(
        default_factory=lambda: [0.03, 0.05, 0.1, 0.2, 0.45, 0.85])

    def __post_init__(self) -> None:
        missing = [f for f in (ts.SMALL, ts.LARGE) if f not in self.train_fractions]
        if missing:
            raise ValueError(f"train_fractions must include {ts.SMALL} and {ts.LARGE} for the "
                             f"verdicts; missing {missing}")
        super().__post_init__()

    def experiments(self) -> dict[str, Any]:
        return {f"{f:.0%}": self.network(train_fraction=f) for f in sorted(self.train_fractions)}


# --- Part II: Saxe et al. ---------------------------------------------------------------

@config
class Estimators(Training):
    """The estimators of chapters 6, 7 and 9 (see ``estimators.Config``)."""

    seeds: Count = 10
    n_records: Count = 100
    train_fraction: Fraction = 0.85
    range_bins: AtLeastTwo = 100
    quantile_bins: AtLeastTwo = 30
    tanh_edges: AtLeastTwo = 1451
    kde_variances: Annotated[list[Positive], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [0.1, 0.001])
    kde_members: Annotated[int, Field(ge=0)] = 2
    kde_records: AtLeastTwo = 15

    def estimators(self, network: ip.Config | None = None, **changes: Any) -> es.Config:
        """The estimator configuration for ``network`` (default: :meth:`network`)."""
        return self.pick(es.Config, network=network or self.network(), **changes)

    def experiments(self) -> dict[str, Any]:
        return {"estimators": self.estimators()}


@config
class Activations(Estimators):
    """Chapter 6: the same network with each activation of ``activations``."""

    NOTEBOOK: ClassVar[str] = "06_activations"
    activations: Annotated[list[Activation], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["tanh", "relu", "softsign", "softplus"])

    def experiments(self) -> dict[str, Any]:
        return {a: self.estimators(self.network(activation=a)) for a in self.activations}


@config
class Saturation(Estimators):
    """Chapter 7: one tanh/ReLU neuron over ``n_weights`` weights up to ``max_weight``."""

    NOTEBOOK: ClassVar[str] = "07_saturation"
    n_weights: AtLeastTwo = 300
    max_weight: Annotated[float, Field(gt=0.01)] = 1000.0
    simulated_weights: Annotated[list[Positive], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [0.1, 0.9, 5.0, 50.0])
    n_simulated: Annotated[int, Field(ge=100)] = 200_000


@config
class LinearNetworks(Chapter):
    """Chapter 8: deep linear student-teacher networks (see ``linear_networks.Config``); the
    ``sgd_*`` parameters make the minibatch run, the ``deep_*`` ones the deep network."""

    NOTEBOOK: ClassVar[str] = "08_linear_networks"
    seeds: Count = 10
    epochs: Count = 3000
    n_records: Count = 100
    n_inputs: Count = 100
    n_train: Count = 100
    hidden: Annotated[list[Count], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [100])
    snr: Positive = 1.0
    init_scale: Positive = 0.01
    lr: Positive = 0.5
    sgd_batch_size: Count = 5
    sgd_lr: Positive = 0.1
    deep_hidden: Annotated[list[Count], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [50, 50, 50, 50, 50])
    deep_init_scale: Positive = 1.0
    deep_lr: Positive = 0.1
    mi_noise: Positive = 1.0
    device: Device = "cpu"

    def experiments(self) -> dict[str, Any]:
        runs = [self.pick(ln.Config, prefix=prefix) for prefix in ("", "sgd_", "deep_")]
        return {c.label: c for c in runs}


@config
class BatchVsStochastic(Estimators):
    """Chapter 9: SGD against full-batch training; the ``linear_*`` parameters make the
    one-neuron linear chain of Saxe et al. Fig. 8."""

    NOTEBOOK: ClassVar[str] = "09_batch_vs_stochastic"
    linear_seeds: Count = 10
    linear_epochs: Count = 2000
    linear_n_records: Count = 100
    linear_snr: Positive = 10.0
    linear_batch_size: Count = 20
    linear_lr: Positive = 0.005
    linear_init_scale: Positive = 0.1

    def linear(self) -> ln.Config:
        """The linear chain 1-1-1 trained with minibatches."""
        return self.pick(ln.Config, prefix="linear_", n_inputs=1, hidden=(1,), n_train=100)

    def experiments(self) -> dict[str, Any]:
        from .experiments.batch_vs_stochastic import full_batch
        runs: dict[str, Any] = {}
        for a in ("tanh", "relu"):
            net = self.network(activation=a)
            runs[f"{a} SGD"] = self.estimators(net)
            runs[f"{a} GD"] = self.estimators(full_batch(net), kde_members=0)
        return runs | {"linear": self.linear()}


@config
class IrrelevantInputs(Chapter):
    """Chapter 10: linear networks with ``n_relevant`` of ``n_inputs`` inputs relevant (GD and
    SGD), and the tanh network on ``tanh_train_fraction`` of the 12-bit data."""

    NOTEBOOK: ClassVar[str] = "10_irrelevant_inputs"
    seeds: Count = 10
    epochs: Count = 3000
    n_records: Count = 100
    n_inputs: Count = 100
    n_relevant: Count = 30
    n_train: Count = 400
    snr: Positive = 10.0
    init_scale: Positive = 0.01
    lr: Positive = 0.5
    sgd_batch_size: Count = 5
    sgd_lr: Positive = 0.1
    sgd_epochs: Count = 1000
    tanh_seeds: Count = 10
    tanh_epochs: Count = 8000
    tanh_n_records: Count = 100
    tanh_train_fraction: Fraction = 0.3
    data: DataSource = "generated"
    device: Device = "cpu"

    def linear(self, method: str) -> ln.Config:
        """The linear network trained by ``"GD"`` or ``"SGD"`` (the ``sgd_*`` parameters)."""
        return self.pick(ln.Config, prefix="sgd_" if method == "SGD" else "")

    def experiments(self) -> dict[str, Any]:
        return {"GD": self.linear("GD"), "SGD": self.linear("SGD"),
                "tanh": self.tanh()}

    def tanh(self) -> ip.Config:
        """The tanh network (chapter 1's training) on ``tanh_train_fraction`` of the data."""
        return self.pick(ip.Config, prefix="tanh_", fallback=("data", "device"))


# --- Part III: Goldfeld et al. ----------------------------------------------------------

@config
class NoisyNeuron(Chapter):
    """Chapter 11: one noisy tanh neuron (exact and SP), the SP's Monte Carlo error and the
    estimators on a random tanh layer."""

    NOTEBOOK: ClassVar[str] = "11_noisy_neuron"
    betas: Annotated[list[Positive], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [0.01, 0.1])
    bias: float = 0.0
    w_min: Positive = 0.01
    w_max: Positive = 100.0
    n_weights: AtLeastTwo = 120
    n_mc: Count = 5000
    mc_weight: Positive = 1.0
    mc_beta: Positive = 0.1
    n_mcs: Annotated[list[Count], Field(min_length=2)] = dataclasses.field(
        default_factory=lambda: [1, 4, 16, 64, 256])
    mc_repeats: AtLeastTwo = 40
    layer_inputs: Annotated[int, Field(ge=8)] = 512
    layer_width: Count = 3
    comparison_betas: AtLeastTwo = 10
    comparison_n_mc: Count = 20
    knn_draws: Count = 8

    def __post_init__(self) -> None:
        if not self.w_min < self.w_max:
            raise ValueError(f"w_min ({self.w_min}) must be below w_max ({self.w_max})")
        super().__post_init__()


@config
class NoisyNetworks(Chapter):
    """Chapter 12: noisy 12-bit networks (see ``noisy_networks.Config``) per activation."""

    NOTEBOOK: ClassVar[str] = "12_noisy_networks"
    activations: Annotated[list[Activation], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["tanh", "relu"])
    beta: Positive = 0.01
    seeds: Count = 5
    epochs: Count = 4000
    n_records: Count = 60
    n_inputs: Annotated[int, Field(ge=4)] = 512
    n_conditional: Count = 32
    n_mc: Count = 2
    cluster_scale: Positive = 3.0
    data: DataSource = "generated"
    device: Device = "cpu"

    def noisy(self, **changes: Any) -> nw.Config:
        """The noisy-network configuration of these parameters."""
        return self.pick(nw.Config, **changes)

    def experiments(self) -> dict[str, Any]:
        return {f"{a}{suffix}": self.noisy(activation=a, beta=beta)
                for a in self.activations for suffix, beta in (("", self.beta),
                                                               (" deterministic", 0.0))}


@config
class Orthonormality(Chapter):
    """Chapter 13: the noisy tanh network with and without the Parseval step of size
    ``orthonormal``."""

    NOTEBOOK: ClassVar[str] = "13_orthonormality"
    activation: Activation = "tanh"
    beta: Positive = 0.01
    seeds: Count = 5
    epochs: Count = 4000
    n_records: Count = 60
    n_inputs: Annotated[int, Field(ge=4)] = 512
    n_conditional: Count = 32
    n_mc: Count = 2
    cluster_scale: Positive = 3.0
    orthonormal: Positive = 0.001
    data: DataSource = "generated"
    device: Device = "cpu"

    def experiments(self) -> dict[str, Any]:
        return {"unconstrained": self.pick(nw.Config, orthonormal=0.0),
                f"Parseval α = {self.orthonormal:g}": self.pick(nw.Config)}


# --- Part IV: real images ---------------------------------------------------------------

@config
class MNISTNetworks(Chapter):
    """Chapter 14: Saxe's MNIST network (``saxe_*``, KDE and bins) and a noisy CNN (``cnn_*``,
    SP); ``mi_inputs``/``cnn_mi_inputs`` and ``max_train`` take ``"all"``."""

    NOTEBOOK: ClassVar[str] = "14_mnist_networks"
    dataset: ImageSet = "mnist"
    activations: Annotated[list[Activation], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["tanh", "relu"])
    saxe_seeds: Count = 2
    saxe_epochs: Count = 150
    saxe_n_records: Count = 15
    saxe_lr: Positive = 0.1
    saxe_batch_size: BatchSize = 128
    kde_var: Positive = 0.1
    bin_size: Positive = 0.5
    mi_inputs: AllOr[mn.MIInputs] = 1000
    cnn_seeds: Count = 2
    cnn_epochs: Count = 60
    cnn_n_records: Count = 20
    beta: Positive = 0.2
    cnn_dense: list[Count] = dataclasses.field(default_factory=lambda: [32, 8])
    cnn_mi_inputs: mn.MIInputs = 200
    n_conditional: Count = 8
    n_mc: Count = 10
    max_train: AllOr[mn.MaxTrain] = None
    allow_download: bool = True
    device: Device = "cpu"

    def saxe(self, activation: str) -> mn.SaxeConfig:
        """Saxe's network with ``activation``."""
        return self.pick(mn.SaxeConfig, prefix="saxe_", activation=activation)

    def cnn(self) -> mn.CNNConfig:
        """The noisy CNN."""
        return self.pick(mn.CNNConfig, prefix="cnn_")

    def experiments(self) -> dict[str, Any]:
        return {**{a: self.saxe(a) for a in self.activations}, "cnn": self.cnn()}


@config
class GradientNoise(Chapter):
    """Chapter 15: the replication's measurement on ``datasets``, a small-training-set control
    (``control_*``), a finer resolution (``fine_*``: an "epoch" of ``fine_steps_per_epoch``
    steps, every one measured) and the 12-bit network (``spherical_*``)."""

    NOTEBOOK: ClassVar[str] = "15_gradient_noise"
    datasets: Annotated[list[ImageSet], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["mnist", "fashion_mnist", "cifar100"])
    activation: Activation = "tanh"
    seeds: Count = 3
    epochs: Count = 20
    n_records: Count = 21
    steps_per_epoch: Count = 100
    batch_size: Count = 500
    n_batches: AtLeastTwo = 100
    measure_batch: Count = 500
    optimizer: Optimizer = "adam"
    lr: Positive = 4e-4
    control_datasets: list[ImageSet] = dataclasses.field(default_factory=lambda: ["fashion_mnist"])
    control_train: AtLeastTwo = 4000
    fine_dataset: ImageSet = "mnist"
    fine_steps_per_epoch: Count = 10
    fine_epochs: Count = 20
    spherical_epochs: Count = 100
    spherical_n_records: Count = 40
    allow_download: bool = True
    device: Device = "cpu"

    def image(self, dataset: str = "mnist") -> gn.Config:
        """The replication's measurement on ``dataset``."""
        return self.pick(gn.Config, dataset=dataset)

    def control(self, dataset: str) -> gn.Config:
        """The same with the training set cut to ``control_train`` images."""
        return self.pick(gn.Config, dataset=dataset, max_train=self.control_train)

    def fine(self) -> gn.Config:
        """Measured every ``fine_steps_per_epoch`` optimiser steps, at every epoch."""
        return self.pick(gn.Config, prefix="fine_", n_records=self.fine_epochs + 1)

    def spherical(self) -> gn.Config:
        """The 12-bit network under the same measurement."""
        return self.pick(gn.Config, prefix="spherical_", dataset=gn.SPHERICAL,
                         hidden=SZT_WIDTHS[1:-1])

    def experiments(self) -> dict[str, Any]:
        return {**{d: self.image(d) for d in self.datasets},
                **{f"{d} control": self.control(d) for d in self.control_datasets},
                "fine": self.fine(), "spherical": self.spherical()}


CHAPTERS: dict[str, type[Chapter]] = {cls.NOTEBOOK: cls for cls in (
    InformationPlane, GradientPhases, Depth, IBBound, TrainingSize, Activations, Saturation,
    LinearNetworks, BatchVsStochastic, IrrelevantInputs, NoisyNeuron, NoisyNetworks,
    Orthonormality, MNISTNetworks, GradientNoise)}
"""The parameter class of every notebook, by notebook name."""


# --- profiles, loading, the parameters cell --------------------------------------------

def profile_names() -> list[str]:
    """The profiles: ``default`` (the classes' defaults) and every ``profiles/*.yml``."""
    return sorted({DEFAULT_PROFILE, *(p.stem for p in PROFILES.glob("*.yml"))})


def chapter_class(notebook: str) -> type[Chapter]:
    """The parameter class of ``notebook`` (its name, e.g. ``"01_information_plane"``)."""
    if notebook not in CHAPTERS:
        raise ParameterError(f"no parameters for notebook {notebook!r}; known: "
                             f"{', '.join(CHAPTERS)}")
    return CHAPTERS[notebook]


def profile_values(profile: str, notebook: str) -> dict[str, Any]:
    """The values ``profiles/<profile>.yml`` sets for ``notebook`` (none for ``default``).

    Raises
    ------
    ParameterError
        For an unknown profile, or a key the notebook does not have (with the allowed keys).
    """
    fields = parameter_names(notebook)
    path = PROFILES / f"{profile}.yml"
    if profile == DEFAULT_PROFILE and not path.is_file():
        return {}
    if not path.is_file():
        raise ParameterError(f"unknown profile {profile!r}; available: "
                             f"{', '.join(profile_names())}")
    values = (yaml.safe_load(path.read_text()) or {}).get(notebook) or {}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParameterError(f"{path.name}, {notebook}: unknown parameter(s) "
                             f"{', '.join(unknown)}; allowed: {', '.join(fields)}")
    return values


def parameter_names(notebook: str) -> list[str]:
    """The parameters of ``notebook``, in declaration order."""
    return [f.name for f in dataclasses.fields(chapter_class(notebook))]


def resolve(notebook: str, profile: str = DEFAULT_PROFILE,
            explicit: Mapping[str, Any] | None = None) -> Chapter:
    """Defaults, then the profile's values, then ``explicit`` ones, validated.

    Raises
    ------
    ParameterError
        Naming the notebook and each parameter that is unknown, of the wrong type or out of
        bounds, before any work starts.
    """
    explicit = dict(explicit or {})
    unknown = sorted(set(explicit) - set(parameter_names(notebook)))
    if unknown:
        raise ParameterError(f"{notebook}: unknown parameter(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(parameter_names(notebook))}")
    values = {**profile_values(profile, notebook), **explicit}
    return validated(chapter_class(notebook), f"{notebook}: ", **values)


def _injected_names(namespace: Mapping[str, Any]) -> set[str]:
    """Names assigned by papermill's injected-parameters cell(s), read from IPython's history."""
    names: set[str] = set()
    for source in namespace.get("In", []) or []:
        if not source.startswith("# Parameters\n"):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names |= {t.id for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name)}
    return names


def load(notebook: str, namespace: Mapping[str, Any], show: bool = True) -> Chapter:
    """The notebook's parameters from its namespace: called in the cell after the parameters.

    ``namespace`` is the notebook's ``globals()``: ``profile`` names the profile and every
    parameter that is not ``None`` overrides it. A name that papermill injected but the
    notebook does not have is warned about (papermill runs it anyway); through
    ``python -m analysis run`` it is an error before the notebook starts. Prints the
    profile and every effective value (``show``).
    """
    set_threads()
    profile = namespace.get("profile") or DEFAULT_PROFILE
    names = parameter_names(notebook)
    explicit = {k: namespace[k] for k in names if namespace.get(k) is not None}
    stray = sorted(_injected_names(namespace) - set(names) - {"profile"})
    if stray:
        warnings.warn(f"{notebook} has no parameter(s) {', '.join(stray)}: ignored. "
                      f"Its parameters: {', '.join(names)}", stacklevel=2)
    chapter = resolve(notebook, profile, explicit)
    if show:
        print(summary(chapter, profile, explicit))
    return chapter


NONE_WORDS = {_full_batch: "full", _all: "all"}


def none_word(notebook: str, name: str) -> str | None:
    """The word that stands for ``None`` in a parameter (``"full"``, ``"all"``), if any.

    ``None`` in a parameters cell means "the profile's value", so a parameter whose value
    may be ``None`` is written with its word instead (e.g. ``batch_size = "full"``).
    """
    info = chapter_class(notebook).__pydantic_fields__[name]
    for meta in info.metadata:
        if isinstance(meta, BeforeValidator) and meta.func in NONE_WORDS:
            return NONE_WORDS[meta.func]
    return None


def injectable(notebook: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated values as a notebook's parameters cell takes them (``None`` as its word)."""
    out = {}
    for name, value in values.items():
        value = none_word(notebook, name) if value is None else value
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _shown(value: Any) -> str:
    return repr(list(value) if isinstance(value, tuple) else value)


def summary(chapter: Chapter, profile: str, explicit: Mapping[str, Any] = ()) -> str:
    """``profile: NAME`` and every effective value; values set explicitly are marked ``*``."""
    shown = injectable(chapter.NOTEBOOK, chapter.values())
    items = [f"{k} = {_shown(v)}{' *' if k in explicit else ''}" for k, v in shown.items()]
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 2 > 88:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {item}" if line else item
    note = " (* set here)" if explicit else ""
    return f"profile: {profile}{note}\n" + "\n".join([*lines, line])


def describe_type(notebook: str, name: str) -> str:
    """The type and bounds of a parameter in words, from its declaration."""
    schema = TypeAdapter(chapter_class(notebook)).json_schema()
    return _schema_words(schema["properties"][name], none_word(notebook, name))


def _schema_words(schema: dict[str, Any], none: str | None = None) -> str:
    if "anyOf" in schema:
        return " or ".join(_schema_words(s, none) for s in schema["anyOf"])
    if "description" in schema:
        return schema["description"]
    if schema.get("type") == "null":
        return repr(none)
    if "enum" in schema or "const" in schema:
        return " | ".join(repr(v) for v in schema.get("enum", [schema.get("const")]))
    kind = {"integer": "int", "number": "float", "string": "str", "boolean": "bool",
            "null": "None"}.get(schema.get("type", ""), schema.get("type", "value"))
    if kind == "array":
        inner = schema.get("items") or (schema.get("prefixItems") or [{}])[0]
        return f"list of {_schema_words(inner, none)}"
    bounds = [f"{op} {schema[key]:g}" for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                       ("maximum", "<="), ("exclusiveMaximum", "<"))
              if key in schema]
    return " ".join([kind, ", ".join(bounds)]).strip()


PARAMETERS_HEADER = (
    "# Parameters (papermill: -p NAME VALUE; CLI: python -m analysis run NN -p NAME=VALUE).\n"
    "# None takes the profile's value; the profiles are in profiles/*.yml, and \"default\"\n"
    "# (what the book shows) is the defaults of analysis/chapters.py. Generated by\n"
    "# `python -m analysis params --write`: edit the values, not the names.\n")


def parameters_cell(notebook: str) -> str:
    """The source of the notebook's parameters cell, generated from its class."""
    names = parameter_names(notebook)
    width = max(len(n) for n in names)
    defaults = injectable(notebook, chapter_class(notebook)().values())
    lines = [PARAMETERS_HEADER + f'profile = "{DEFAULT_PROFILE}"']
    for name in names:
        lines.append(f"{name:<{width}} = None  # {describe_type(notebook, name)}; "
                     f"default {_shown(defaults[name])}")
    return "\n".join(lines)


INSTALL_MARK = "# Install the book's package where it is missing"


def install_cell(repository: str = "") -> str:
    """The first code cell of every notebook (hidden in the book): where the ``analysis``
    package is missing — Colab, a downloaded notebook — install it from the repository
    configured in ``_config.yml``."""
    return (
        f"{INSTALL_MARK} (Colab, a downloaded notebook).\n"
        "import importlib.util, subprocess, sys\n\n"
        f'REPOSITORY = "{repository}"  # _config.yml: repository.url\n'
        'if importlib.util.find_spec("analysis") is None:\n'
        "    if not REPOSITORY:\n"
        '        raise ModuleNotFoundError("this notebook needs the ib-book package: clone the "\n'
        '                                  "book\'s repository and pip install -e it")\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
        '                    f"ib-book @ git+{REPOSITORY}"], check=True)')


def load_cell(notebook: str) -> str:
    """The source of the cell after the parameters cell: load, validate and show them."""
    return ("from analysis.chapters import load\n\n"
            f'p = load("{notebook}", globals())')
