"""Chapter 6: the same network with each activation of ``activations``."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..config import (Activation, config)
from .base import Estimators


@config
class Parameters(Estimators):
    """Chapter 6: the same network with each activation of ``activations``."""

    NOTEBOOK: ClassVar[str] = "06_activations"
    activations: Annotated[list[Activation], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: ["tanh", "relu", "softsign", "softplus"])

    def experiments(self) -> dict[str, Any]:
        return {a: self.estimators(self.network(activation=a)) for a in self.activations}
