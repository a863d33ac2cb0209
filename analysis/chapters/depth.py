"""Chapter 3: networks of 1-6 hidden layers; ``information_fraction`` of I(X;Y) to reach."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..experiments.depth import depth_widths
from ..config import (Activation, Count, Fraction, config)
from .base import Training


@config
class Parameters(Training):
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
