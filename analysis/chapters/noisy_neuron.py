"""Chapter 11: one noisy tanh neuron (exact and SP), the SP estimator's errors against n_MC
and against the sample size, and the estimators on a random tanh layer."""
from __future__ import annotations

import dataclasses
from typing import Annotated, ClassVar

from pydantic import Field

from ..config import (AtLeastTwo, Count, Positive, config)
from .base import Chapter


@config
class Parameters(Chapter):
    """Chapter 11: one noisy tanh neuron (exact and SP), the SP estimator's errors against
    n_MC and against the sample size, and the estimators on a random tanh layer."""

    NOTEBOOK: ClassVar[str] = "11_noisy_neuron"
    betas: Annotated[list[Positive], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [0.01, 0.1])
    bias: float = 0.0
    w_min: Positive = 0.01
    w_max: Positive = 100.0
    n_weights: AtLeastTwo = 120
    n_mc: Count = 5000
    mc_weight: Positive = 1.0
    mc_beta: Positive = 0.1
    n_mcs: Annotated[list[Count], Field(min_length=2)] = dataclasses.field(
        default_factory=lambda: [1, 4, 16, 64, 256])
    mc_repeats: AtLeastTwo = 400
    sample_sizes: Annotated[list[AtLeastTwo], Field(min_length=2)] = dataclasses.field(
        default_factory=lambda: [16, 64, 256, 1024])
    size_dims: Annotated[list[Count], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [1, 3])
    size_repeats: AtLeastTwo = 30
    size_n_mc: Count = 10
    layer_inputs: Annotated[int, Field(ge=8)] = 512
    layer_width: Count = 3
    comparison_betas: AtLeastTwo = 10
    comparison_n_mc: Count = 20
    knn_draws: Count = 8

    def __post_init__(self) -> None:
        if not self.w_min < self.w_max:
            raise ValueError(f"w_min ({self.w_min}) must be below w_max ({self.w_max})")
        super().__post_init__()
