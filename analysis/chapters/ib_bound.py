"""Chapter 4: the IB curve over ``n_betas`` log-spaced beta in [beta_min, beta_max]."""
from __future__ import annotations

import dataclasses
from typing import Annotated, ClassVar

from pydantic import Field

from ..config import AtLeastTwo, Positive, config
from .base import Network


@config
class Parameters(Network):
    """Chapter 4: the IB curve over ``n_betas`` log-spaced beta in [beta_min, beta_max]
    (beta* also tries beta = infinity); ``softer_rules`` are the I(X;Y) (bits) of softer
    versions of the 12-bit rule whose IB curves are drawn for comparison."""

    NOTEBOOK: ClassVar[str] = "04_ib_bound"
    beta_min: Positive = 0.05
    beta_max: Positive = 1e5
    n_betas: AtLeastTwo = 300
    softer_rules: list[Annotated[float, Field(gt=0, lt=0.99)]] = dataclasses.field(
        default_factory=lambda: [0.9, 0.6])

    def __post_init__(self) -> None:
        if not self.beta_min < self.beta_max:
            raise ValueError(f"beta_min ({self.beta_min}) must be below beta_max ({self.beta_max})")
        super().__post_init__()
