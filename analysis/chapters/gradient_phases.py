"""Chapter 2: ``smooth_window`` is the width (records) of the running mean of log SNR."""
from __future__ import annotations

from typing import ClassVar


from ..config import (Count, config)
from .base import Network


@config
class Parameters(Network):
    """Chapter 2: ``smooth_window`` is the width (records) of the running mean of log SNR."""

    NOTEBOOK: ClassVar[str] = "02_gradient_phases"
    smooth_window: Count = 9
