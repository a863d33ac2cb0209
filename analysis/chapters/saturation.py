"""Chapter 7: one tanh/ReLU neuron over ``n_weights`` weights up to ``max_weight``."""
from __future__ import annotations

import dataclasses
from typing import Annotated, ClassVar

from pydantic import Field

from ..config import (AtLeastTwo, Positive, config)
from .base import Estimators


@config
class Parameters(Estimators):
    """Chapter 7: one tanh/ReLU neuron over ``n_weights`` weights up to ``max_weight``."""

    NOTEBOOK: ClassVar[str] = "07_saturation"
    n_weights: AtLeastTwo = 300
    max_weight: Annotated[float, Field(gt=0.01)] = 1000.0
    simulated_weights: Annotated[list[Positive], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [0.1, 0.9, 5.0, 50.0])
    n_simulated: Annotated[int, Field(ge=100)] = 200_000
