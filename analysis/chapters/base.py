"""What the chapters' parameters share: the base class, common types, and the networks
and estimators that several chapters configure alike."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field

from ..config import (Activation, AtLeastTwo, Count, Device, Fraction, Optimizer, Positive,
                      config)
from ..data.images import LOADERS
from ..experiments import estimators as es
from ..experiments import information_plane as ip
from ..nets import SZT_WIDTHS

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
    kde_members: Annotated[int, Field(ge=0)] = 10
    kde_records: AtLeastTwo = 10

    def estimators(self, network: ip.Config | None = None, **changes: Any) -> es.Config:
        """The estimator configuration for ``network`` (default: :meth:`network`)."""
        return self.pick(es.Config, network=network or self.network(), **changes)

    def experiments(self) -> dict[str, Any]:
        return {"estimators": self.estimators()}
