"""Chapter 12: noisy 12-bit networks (see ``noisy_networks.Config``) per activation."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..experiments import noisy_networks as nw
from ..config import (Activation, Count, Device, Positive, config)
from .base import (Chapter, DataSource)


@config
class Parameters(Chapter):
    """Chapter 12: noisy 12-bit networks (see ``noisy_networks.Config``) per activation."""

    NOTEBOOK: ClassVar[str] = "12_noisy_networks"
    activations: Annotated[list[Activation], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["tanh", "relu"])
    beta: Positive = 0.01
    seeds: Count = 10
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
