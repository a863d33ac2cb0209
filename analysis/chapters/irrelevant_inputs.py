"""Chapter 10: linear networks with ``n_relevant`` of ``n_inputs`` inputs relevant (GD and"""
from __future__ import annotations

from typing import Any, ClassVar


from ..experiments import information_plane as ip
from ..experiments import linear_networks as ln
from ..config import (Count, Device, Fraction, Positive, config)
from .base import (Chapter, DataSource)


@config
class Parameters(Chapter):
    """Chapter 10: linear networks with ``n_relevant`` of ``n_inputs`` inputs relevant (GD and
    SGD), and the tanh network on ``tanh_train_fraction`` of the 12-bit data."""

    NOTEBOOK: ClassVar[str] = "10_irrelevant_inputs"
    seeds: Count = 50
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
    tanh_seeds: Count = 20
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
