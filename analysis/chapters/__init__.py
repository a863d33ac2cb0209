"""The parameters of every notebook: one validated class per chapter, one source of truth.

Each module of this package declares, in its class ``Parameters``, every parameter of one
notebook with its type, bounds and default; the defaults *are* the ``default`` profile,
the one the published book shows. ``profiles/smoke.yml`` and ``profiles/paper.yml``
override some of them per notebook. A notebook's parameters cell is generated from its
class (:mod:`analysis.chapters.cells`; a test checks that every notebook's cell is
current) and holds ``None`` for every parameter: ``None`` takes the profile's value,
anything else overrides it. The next cell calls :func:`load`, which merges defaults,
profile and explicit values, validates them all (every element of every list included)
before any network trains, and prints the profile and the effective values. The same
happens whether the notebook runs through ``python -m analysis run``,
``papermill NB OUT -p profile smoke -p seeds 2``, or in Jupyter after editing the
parameters cell.

The experiments' configurations are built from a chapter's parameters by
:meth:`~analysis.chapters.base.Chapter.pick`, which takes every field of the
configuration class from the parameter of the same name (or ``prefix + name``), so a
notebook never lists them by hand.
"""
from __future__ import annotations

import ast
import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import yaml

from ..cache import PACKAGE_ROOT
from ..config import ParameterError, validated
from ..threads import set_threads
from . import (activations, batch_vs_stochastic, depth, gradient_noise, gradient_phases,
               ib_bound, information_plane, irrelevant_inputs, linear_networks, mnist_networks,
               noisy_networks, noisy_neuron, orthonormality, saturation, training_size)
from . import cells
from .base import Chapter
from .cells import DEFAULT_PROFILE, INSTALL_MARK, install_cell, load_cell, shown

__all__ = ["CHAPTERS", "Chapter", "load", "resolve", "profile_names", "profile_values",
           "parameter_names", "chapter_class", "injectable", "none_word", "summary",
           "parameters_cell", "load_cell", "install_cell", "INSTALL_MARK", "describe_type"]

PROFILES = PACKAGE_ROOT.parent / "profiles"
CHAPTERS: dict[str, type[Chapter]] = {m.Parameters.NOTEBOOK: m.Parameters for m in (
    information_plane, gradient_phases, depth, ib_bound, training_size, activations,
    saturation, linear_networks, batch_vs_stochastic, irrelevant_inputs, noisy_neuron,
    noisy_networks, orthonormality, mnist_networks, gradient_noise)}
"""The parameter class of every notebook, by notebook name."""


def profile_names() -> list[str]:
    """The profiles: ``default`` (the classes' defaults) and every ``profiles/*.yml``."""
    return sorted({DEFAULT_PROFILE, *(p.stem for p in PROFILES.glob("*.yml"))})


def chapter_class(notebook: str) -> type[Chapter]:
    """The parameter class of ``notebook`` (its name, e.g. ``"01_information_plane"``)."""
    if notebook not in CHAPTERS:
        raise ParameterError(f"no parameters for notebook {notebook!r}; known: "
                             f"{', '.join(CHAPTERS)}")
    return CHAPTERS[notebook]


def profile_values(profile: str, notebook: str) -> dict[str, Any]:
    """The values ``profiles/<profile>.yml`` sets for ``notebook`` (none for ``default``).

    Raises
    ------
    ParameterError
        For an unknown profile, or a key the notebook does not have (with the allowed keys).
    """
    fields = parameter_names(notebook)
    path = PROFILES / f"{profile}.yml"
    if profile == DEFAULT_PROFILE and not path.is_file():
        return {}
    if not path.is_file():
        raise ParameterError(f"unknown profile {profile!r}; available: "
                             f"{', '.join(profile_names())}")
    values = (yaml.safe_load(path.read_text()) or {}).get(notebook) or {}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParameterError(f"{path.name}, {notebook}: unknown parameter(s) "
                             f"{', '.join(unknown)}; allowed: {', '.join(fields)}")
    return values


def parameter_names(notebook: str) -> list[str]:
    """The parameters of ``notebook``, in declaration order."""
    return [f.name for f in dataclasses.fields(chapter_class(notebook))]


def resolve(notebook: str, profile: str = DEFAULT_PROFILE,
            explicit: Mapping[str, Any] | None = None) -> Chapter:
    """Defaults, then the profile's values, then ``explicit`` ones, validated.

    Raises
    ------
    ParameterError
        Naming the notebook and each parameter that is unknown, of the wrong type or out of
        bounds, before any work starts.
    """
    explicit = dict(explicit or {})
    unknown = sorted(set(explicit) - set(parameter_names(notebook)))
    if unknown:
        raise ParameterError(f"{notebook}: unknown parameter(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(parameter_names(notebook))}")
    values = {**profile_values(profile, notebook), **explicit}
    return validated(chapter_class(notebook), f"{notebook}: ", **values)


def _injected_names(namespace: Mapping[str, Any]) -> set[str]:
    """Names assigned by papermill's injected-parameters cell(s), read from IPython's history."""
    names: set[str] = set()
    for source in namespace.get("In", []) or []:
        if not source.startswith("# Parameters\n"):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names |= {t.id for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name)}
    return names


def load(notebook: str, namespace: Mapping[str, Any], show: bool = True) -> Chapter:
    """The notebook's parameters from its namespace: called in the cell after the parameters.

    ``namespace`` is the notebook's ``globals()``: ``profile`` names the profile and every
    parameter that is not ``None`` overrides it. A name that papermill injected but the
    notebook does not have is warned about (papermill runs it anyway); through
    ``python -m analysis run`` it is an error before the notebook starts. Prints the
    profile and every effective value (``show``).
    """
    set_threads()
    profile = namespace.get("profile") or DEFAULT_PROFILE
    names = parameter_names(notebook)
    explicit = {k: namespace[k] for k in names if namespace.get(k) is not None}
    stray = sorted(_injected_names(namespace) - set(names) - {"profile"})
    if stray:
        warnings.warn(f"{notebook} has no parameter(s) {', '.join(stray)}: ignored. "
                      f"Its parameters: {', '.join(names)}", stacklevel=2)
    chapter = resolve(notebook, profile, explicit)
    if show:
        print(summary(chapter, profile, explicit))
    return chapter


def none_word(notebook: str, name: str) -> str | None:
    """The word that stands for ``None`` in a parameter of ``notebook``, if any."""
    return cells.none_word(chapter_class(notebook), name)


def injectable(notebook: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated values as ``notebook``'s parameters cell takes them (``None`` as its word)."""
    return cells.injectable(chapter_class(notebook), values)


def describe_type(notebook: str, name: str) -> str:
    """The type and bounds of a parameter of ``notebook`` in words."""
    return cells.describe_type(chapter_class(notebook), name)


def parameters_cell(notebook: str) -> str:
    """The source of ``notebook``'s parameters cell, generated from its class."""
    return cells.parameters_cell(chapter_class(notebook))


def summary(chapter: Chapter, profile: str, explicit: Mapping[str, Any] = ()) -> str:
    """``profile: NAME`` and every effective value; values set explicitly are marked ``*``."""
    values = injectable(chapter.NOTEBOOK, chapter.values())
    items = [f"{k} = {shown(v)}{' *' if k in explicit else ''}" for k, v in values.items()]
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 3 > 88:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {item}" if line else item
    note = " (* set here)" if explicit else ""
    return f"profile: {profile}{note}\n" + "\n".join([*lines, line])
