"""Chapter 14: Saxe's MNIST network (``saxe_*``, KDE and bins) and a noisy CNN (``cnn_*``,"""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..experiments import mnist_networks as mn
from ..config import (Activation, Count, Device, Positive, config)
from .base import (AllOr, BatchSize, Chapter, ImageSet)


@config
class Parameters(Chapter):
    """Chapter 14: Saxe's MNIST network (``saxe_*``, KDE and bins) and a noisy CNN (``cnn_*``,
    SP); ``mi_inputs``/``cnn_mi_inputs`` and ``max_train`` take ``"all"``."""

    NOTEBOOK: ClassVar[str] = "14_mnist_networks"
    dataset: ImageSet = "mnist"
    activations: Annotated[list[Activation], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["tanh", "relu"])
    saxe_seeds: Count = 5
    saxe_epochs: Count = 150
    saxe_n_records: Count = 20
    saxe_lr: Positive = 0.1
    saxe_batch_size: BatchSize = 128
    kde_var: Positive = 0.1
    bin_size: Positive = 0.5
    mi_inputs: AllOr[mn.MIInputs] = 1000
    cnn_seeds: Count = 5
    cnn_epochs: Count = 60
    cnn_n_records: Count = 12
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
