"""Chapter 5: one ensemble per training fraction (must include 0.05 and 0.85)."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..config import Activation, Count, Fraction, config
from ..experiments import training_size as ts
from ..nets import SZT_WIDTHS
from .base import Training


@config
class Parameters(Training):
    """Chapter 5: one ensemble per training fraction (must include 0.05 and 0.85)."""

    NOTEBOOK: ClassVar[str] = "05_training_size"
    widths: tuple[Count, ...] = SZT_WIDTHS
    activation: Activation = "tanh"
    train_fractions: Annotated[list[Fraction], Field(min_length=2)] = dataclasses.field(
        default_factory=lambda: [0.03, 0.05, 0.1, 0.2, 0.45, 0.85])

    def __post_init__(self) -> None:
        missing = [f for f in (ts.SMALL, ts.LARGE) if f not in self.train_fractions]
        if missing:
            raise ValueError(f"train_fractions must include {ts.SMALL} and {ts.LARGE} for the "
                             f"verdicts; missing {missing}")
        super().__post_init__()

    def experiments(self) -> dict[str, Any]:
        return {f"{f:.0%}": self.network(train_fraction=f) for f in sorted(self.train_fractions)}
