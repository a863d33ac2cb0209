"""Validated configurations: every parameter with its type, bounds and default, in one place.

Experiment configurations (``analysis.experiments.*.Config``) and the parameters of the
notebooks (:mod:`analysis.chapters`) are frozen pydantic dataclasses built with
:func:`config`. A value is coerced to its declared type (``"1e-3"`` becomes the float
0.001, ``[0.1, 0.5]`` a tuple where a tuple is declared), every element of a list is
checked, and a wrong type, a value out of bounds or an unknown name raises a
:class:`pydantic.ValidationError` (a ``ValueError``) naming the parameter before any work
starts. :func:`explain` turns such an error into one readable line per parameter.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.dataclasses import dataclass as _pydantic_dataclass

from .nets import ACTIVATIONS, check_device

T = TypeVar("T")

STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


def config(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, validated dataclass that refuses unknown fields."""
    return _pydantic_dataclass(frozen=True, config=STRICT)(cls)


def _activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(sorted(ACTIVATIONS))}")
    return name


def _device(name: str) -> str:
    check_device(name)
    return name


Count = Annotated[int, Field(ge=1)]
"""A whole number >= 1 (seeds, epochs, records, widths, draws)."""
NonNegative = Annotated[int, Field(ge=0)]
"""A whole number >= 0 (a first seed, an optional count)."""
AtLeastTwo = Annotated[int, Field(ge=2)]
"""A whole number >= 2 (bin counts, minibatches to compare)."""
Positive = Annotated[float, Field(gt=0)]
"""A real number > 0 (learning rates, noise levels, variances)."""
NonNegativeReal = Annotated[float, Field(ge=0)]
"""A real number >= 0 (a noise level that may be off, a step size that may be zero)."""
Fraction = Annotated[float, Field(gt=0, le=1)]
"""A share in (0, 1] (training fractions)."""
Activation = Annotated[str, AfterValidator(_activation), WithJsonSchema(
    {"type": "string", "description": " | ".join(sorted(ACTIVATIONS))})]
"""A key of :data:`analysis.nets.ACTIVATIONS`."""
Device = Annotated[str, AfterValidator(_device), WithJsonSchema(
    {"type": "string", "description": "'cpu' or 'cuda[:N]'"})]
"""A torch device this machine has: ``"cpu"``, or ``"cuda"`` where CUDA is available."""
Optimizer = Literal["adam", "sgd"]
BatchSize = Count | Literal["full"]
"""A minibatch size, or ``"full"`` for full-batch gradient descent."""


def batch_or_none(batch_size: int | str | None) -> int | None:
    """The training code's form of a :data:`BatchSize`: ``None`` for full batch."""
    return None if batch_size in ("full", None) else int(batch_size)


def explain(error: ValidationError, where: str = "") -> str:
    """One line per invalid parameter: its name, what is wrong, and the value given."""
    lines = []
    for e in error.errors(include_url=False):
        name = ".".join(str(part) for part in e["loc"]) or "parameters"
        given = e.get("input")
        shown = "" if e["type"] in ("value_error", "assertion_error") else f" (got {given!r})"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "unexpected_keyword_argument":
            message = "unknown parameter"
        lines.append(f"{where}{name}: {message}{shown}")
    return "\n".join(lines)


class ParameterError(ValueError):
    """Parameters that cannot run, with a readable message naming each of them."""


def validated(build: Callable[..., T], where: str, /, **values: Any) -> T:
    """``build(**values)``, raising :class:`ParameterError` with :func:`explain`'s message."""
    try:
        return build(**values)
    except ValidationError as err:
        raise ParameterError(explain(err, where)) from None
