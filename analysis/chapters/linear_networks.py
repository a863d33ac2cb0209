"""Chapter 8: deep linear student-teacher networks (see ``linear_networks.Config``); the"""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..experiments import linear_networks as ln
from ..config import (Count, Device, Positive, config)
from .base import Chapter


@config
class Parameters(Chapter):
    """Chapter 8: deep linear student-teacher networks (see ``linear_networks.Config``); the
    ``sgd_*`` parameters make the minibatch run, the ``deep_*`` ones the deep network."""

    NOTEBOOK: ClassVar[str] = "08_linear_networks"
    seeds: Count = 20
    epochs: Count = 3000
    n_records: Count = 100
    n_inputs: Count = 100
    n_train: Count = 100
    hidden: Annotated[list[Count], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [100])
    snr: Positive = 1.0
    init_scale: Positive = 0.01
    lr: Positive = 0.5
    sgd_batch_size: Count = 5
    sgd_lr: Positive = 0.1
    deep_hidden: Annotated[list[Count], Field(min_length=1)] = dataclasses.field(
        default_factory=lambda: [50, 50, 50, 50, 50])
    deep_init_scale: Positive = 1.0
    deep_lr: Positive = 0.1
    mi_noise: Positive = 1.0
    device: Device = "cpu"

    def experiments(self) -> dict[str, Any]:
        runs = [self.pick(ln.Config, prefix=prefix) for prefix in ("", "sgd_", "deep_")]
        return {c.label: c for c in runs}
