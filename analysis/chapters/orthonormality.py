"""Chapter 13: the noisy tanh network with and without the Parseval step of size"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..experiments import noisy_networks as nw
from ..config import (Activation, Count, Device, Positive, config)
from .base import (Chapter, DataSource)


@config
class Parameters(Chapter):
    """Chapter 13: the noisy tanh network with and without the Parseval step of size
    ``orthonormal``."""

    NOTEBOOK: ClassVar[str] = "13_orthonormality"
    activation: Activation = "tanh"
    beta: Positive = 0.01
    seeds: Count = 10
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
