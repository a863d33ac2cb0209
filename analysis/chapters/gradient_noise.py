"""Chapter 15: the replication's measurement on its ``datasets``, on the ``extension``
datasets (full and cut to ``control_train`` images, ``extension_seeds`` networks, measured
at the starts of epochs) and on the 12-bit network (``spherical_*``)."""
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
    """Chapter 15: the replication's measurement on its ``datasets``, on the ``extension``
    datasets (full and cut to ``control_train`` images, ``extension_seeds`` networks,
    measured at the starts of epochs) and on the 12-bit network (``spherical_*``)."""

    NOTEBOOK: ClassVar[str] = "15_gradient_noise"
    datasets: Annotated[list[ImageSet], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["mnist", "cifar100"])
    extension: list[ImageSet] = dataclasses.field(default_factory=lambda: ["fashion_mnist"])
    activation: Activation = "tanh"
    seeds: Count = 5
    epochs: Count = 20
    steps_per_epoch: Count = 100
    n_records: Count = 20
    batch_size: Count = 500
    n_batches: AtLeastTwo = 100
    measure_batch: Count = 500
    optimizer: Optimizer = "adam"
    lr: Positive = 4e-4
    extension_seeds: Count = 5
    control_train: AtLeastTwo = 4000
    spherical_epochs: Count = 100
    spherical_n_records: Count = 60
    allow_download: bool = True
    device: Device = "cpu"

    def image(self, dataset: str = "mnist") -> gn.Config:
        """The replication's measurement on ``dataset``."""
        return self.pick(gn.Config, dataset=dataset)

    def extended(self, dataset: str = "fashion_mnist", max_train: int | None = None
                 ) -> gn.Config:
        """The replication's measurement on other data, at the starts of epochs only."""
        return self.pick(gn.Config, dataset=dataset, seeds=self.extension_seeds, n_records=1,
                         max_train=max_train)

    def control(self, dataset: str = "fashion_mnist") -> gn.Config:
        """The same with the training set cut to ``control_train`` images."""
        return self.extended(dataset, self.control_train)

    def spherical(self) -> gn.Config:
        """The 12-bit network under the same measurement (log-spaced steps only)."""
        return self.pick(gn.Config, prefix="spherical_", dataset=gn.SPHERICAL,
                         hidden=SZT_WIDTHS[1:-1], every_epoch=False)

    def experiments(self) -> dict[str, Any]:
        return {**{d: self.image(d) for d in self.datasets},
                **{f"{d} extension": self.extended(d) for d in self.extension},
                **{f"{d} control": self.control(d) for d in self.extension},
                "spherical": self.spherical()}
