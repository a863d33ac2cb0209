"""Chapter 4: the IB curve over ``n_betas`` log-spaced beta in [beta_min, beta_max]."""
from __future__ import annotations

from typing import ClassVar


from ..config import (AtLeastTwo, Positive, config)
from .base import Network


@config
class Parameters(Network):
    """Chapter 4: the IB curve over ``n_betas`` log-spaced beta in [beta_min, beta_max]."""

    NOTEBOOK: ClassVar[str] = "04_ib_bound"
    beta_min: Positive = 0.05
    beta_max: Positive = 2000.0
    n_betas: AtLeastTwo = 300

    def __post_init__(self) -> None:
        if not self.beta_min < self.beta_max:
            raise ValueError(f"beta_min ({self.beta_min}) must be below beta_max ({self.beta_max})")
        super().__post_init__()
