"""Chapter 15: the replication's measurement on ``datasets``, a small-training-set control"""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..experiments import gradient_noise as gn
from ..config import (Activation, AtLeastTwo, Count, Device, Optimizer, Positive, config)
from ..nets import SZT_WIDTHS
from .base import (Chapter, ImageSet)


@config
class Parameters(Chapter):
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
