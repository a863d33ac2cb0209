"""Chapter 3: networks of 1-6 hidden layers, trained with Adam and with plain SGD."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..config import Activation, Count, Fraction, Positive, config
from ..experiments import information_plane as ip
from ..experiments.depth import depth_widths
from .base import Training


@config
class Parameters(Training):
    """Chapter 3: networks of 1-6 hidden layers; ``information_fraction`` of I(X;Y) to reach.

    The Adam runs use ``lr`` and ``epochs``; the SGD runs (same networks, same batches)
    use each learning rate of ``sgd_lrs`` for the matching number of ``sgd_epochs``.
    """

    NOTEBOOK: ClassVar[str] = "03_depth"
    seeds: Count = 15
    epochs: Count = 2500
    n_records: Count = 100
    train_fraction: Fraction = 0.8
    activation: Activation = "tanh"
    depths: Annotated[list[Annotated[int, Field(ge=1, le=6)]], Field(min_length=2)] = \
        dataclasses.field(default_factory=lambda: [1, 2, 3, 4, 5, 6])
    information_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.95
    sgd_lrs: Annotated[list[Positive], Field(min_length=0)] = dataclasses.field(
        default_factory=lambda: [0.01, 0.1])
    sgd_epochs: list[Count] = dataclasses.field(default_factory=lambda: [6000, 1200])

    def __post_init__(self) -> None:
        if len(self.sgd_epochs) != len(self.sgd_lrs):
            raise ValueError(f"sgd_epochs ({self.sgd_epochs}) needs one number of epochs per "
                             f"learning rate of sgd_lrs ({self.sgd_lrs})")
        if sorted(set(self.depths)) != list(self.depths):
            raise ValueError(f"depths must be distinct and ascending, got {self.depths}")
        super().__post_init__()

    def adam(self) -> ip.Config:
        """The Adam configuration (widths are set per depth)."""
        return self.network()

    def sgd(self) -> dict[float, ip.Config]:
        """The SGD configuration of every learning rate of ``sgd_lrs``."""
        return {lr: self.network(optimizer="sgd", lr=lr, epochs=e)
                for lr, e in zip(self.sgd_lrs, self.sgd_epochs)}

    def experiments(self) -> dict[str, Any]:
        runs = {f"{d} hidden, Adam": self.network(widths=depth_widths(d)) for d in self.depths}
        for lr, c in self.sgd().items():
            runs |= {f"{d} hidden, SGD {lr:g}": dataclasses.replace(c, widths=depth_widths(d))
                     for d in self.depths}
        return runs
