"""Claims of the papers, the statistic we compute for each, and the verdict table.

Every chapter ends with one table: the claim and its source, our statistic, its value,
the threshold the claim implies, and the verdict. Values are rounded before they are
compared with the threshold, so the printed value always explains the verdict and a rerun
on another machine prints the same text.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Claim:
    """One claim put to the test.

    Attributes
    ----------
    source : str
        Paper and figure or section, e.g. "Shwartz-Ziv & Tishby 2017, Fig. 3".
    statement : str
        The claim in a sentence.
    statistic : str
        What we compute to test it, with its unit.
    value : float
        The statistic's value, rounded to ``digits``.
    threshold : str
        The condition the value must meet, e.g. "> 0.1".
    passes : bool
        Whether the rounded value meets the threshold.
    """

    source: str
    statement: str
    statistic: str
    value: float
    threshold: str
    passes: bool

    @classmethod
    def test(cls, source: str, statement: str, statistic: str, value: float,
             op: str, bound: float, digits: int = 2) -> "Claim":
        """Build a claim whose verdict is ``round(value, digits) <op> bound``."""
        if op not in _COMPARE:
            raise ValueError(f"unknown comparison {op!r}; allowed: {', '.join(_COMPARE)}")
        rounded = float(np.round(value, digits)) if np.isfinite(value) else float("nan")
        passes = bool(np.isfinite(rounded) and _COMPARE[op](rounded, bound))
        return cls(source, statement, statistic, rounded, f"{op} {bound:g}", passes)


def verdict_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """The verdict table of a chapter as a DataFrame (one row per claim)."""
    return pd.DataFrame({
        "claim": [c.statement for c in claims],
        "source": [c.source for c in claims],
        "statistic": [c.statistic for c in claims],
        "value": [f"{c.value + 0.0:g}" for c in claims],
        "threshold": [c.threshold for c in claims],
        "verdict": ["supported" if c.passes else "not supported" for c in claims],
    })


def show_verdicts(claims: Sequence[Claim]) -> None:
    """Print the verdict table as plain text: what the book shows and nbval compares."""
    with pd.option_context("display.max_colwidth", 90, "display.width", 250):
        print(verdict_table(claims).to_string(index=False))
