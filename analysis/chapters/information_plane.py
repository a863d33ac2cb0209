"""Chapter 1: ``train_fractions`` are further training sizes beside ``train_fraction``."""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal


from ..config import (AtLeastTwo, Fraction, config)
from .base import (Epochs, Network)


@config
class Parameters(Network):
    """Chapter 1: ``train_fractions`` are further training sizes beside ``train_fraction``;
    ``snapshot_epochs`` the epochs of the snapshot panels (``"auto"``: start, 1/20, end);
    ``binning`` how layers are binned (``information_plane.Config``: ``"fixed"`` edges on
    [-1, 1], refused for activations not bounded there; ``"range"``; ``"auto"``)."""

    NOTEBOOK: ClassVar[str] = "01_information_plane"
    train_fractions: list[Fraction] = dataclasses.field(default_factory=lambda: [0.05, 0.45])
    snapshot_epochs: Epochs | Literal["auto"] = "auto"
    animation_frames: AtLeastTwo = 24
    binning: Literal["auto", "fixed", "range"] = "auto"

    def __post_init__(self) -> None:
        if self.snapshot_epochs != "auto" and max(self.snapshot_epochs) > self.epochs:
            raise ValueError(f"snapshot_epochs {self.snapshot_epochs} go beyond epochs = "
                             f"{self.epochs}; pass epochs up to {self.epochs}, or \"auto\"")
        super().__post_init__()

    @property
    def fractions(self) -> list[float]:
        """Every training fraction run, ascending (``train_fraction`` included)."""
        return sorted({*self.train_fractions, self.train_fraction})

    @property
    def snapshots(self) -> list[int]:
        """The epochs of the snapshot panels."""
        if self.snapshot_epochs == "auto":
            return sorted({0, self.epochs // 20, self.epochs})
        return list(self.snapshot_epochs)

    def experiments(self) -> dict[str, Any]:
        return {f"{f:.0%}": self.network(train_fraction=f) for f in self.fractions}
