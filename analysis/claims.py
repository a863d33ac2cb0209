"""Claims of the papers, the statistic we compute for each, its interval, and the verdict.

Every chapter ends with one table: the claim and the paper that made it, our statistic,
its value with a 95% interval, the threshold the claim implies, and one of four verdicts:

* **supported** — the value and its whole interval meet the threshold;
* **not supported** — the value and its whole interval miss it;
* **inconclusive** — the interval straddles the threshold, or the row has no interval
  because it rests on fewer than :data:`analysis.stats.MIN_UNITS` seeds: the evidence
  cannot decide;
* **not testable** — the statistic cannot move whatever the networks do (ties, a grid cap,
  a ceiling at the start, too few points), with the reason.

Verdicts are decided on unrounded values; values are printed rounded, so that a rerun on
another machine prints the same text. Checks of the book's own code are tests, not claims.
"""
from __future__ import annotations

import html
import json
import math
import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .stats import MIN_UNITS

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_SHOWN_OP = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTABLE = (
    "supported", "not supported", "inconclusive", "not testable")
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTABLE)
COLUMNS = ("claim", "source", "statistic", "value", "threshold", "verdict")


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating, np.integer)) \
        and math.isfinite(float(x))


@dataclass(frozen=True)
class Claim:
    """One claim put to the test.

    Attributes
    ----------
    source : str
        The paper that made the claim, and where: "Shwartz-Ziv & Tishby 2017, Fig. 3".
    statement : str
        The claim in a sentence.
    statistic : str
        What we compute to test it, with its unit.
    value : float
        The statistic (unrounded).
    low, high : float
        Its 95% interval (NaN where the statistic has no sampling noise).
    interval : str
        What the interval is over ("bootstrap over 50 seeds", "exact", ...).
    op, bound : str, float
        The claim holds when ``value <op> bound``.
    verdict : str
        One of :data:`VERDICTS`.
    reason : str
        Why a row is not testable (empty otherwise).
    digits : int
        Decimals shown.
    """

    source: str
    statement: str
    statistic: str
    value: float
    low: float
    high: float
    interval: str
    op: str
    bound: float
    verdict: str
    reason: str = ""
    digits: int = 2

    @classmethod
    def test(cls, source: str, statement: str, statistic: str, value: float, op: str,
             bound: float, interval: tuple[float, float] | None = None,
             over: str = "exact", digits: int = 2, untestable: str | None = None) -> "Claim":
        """Decide a claim: ``value <op> bound``, with the interval ``(low, high)`` if any.

        Parameters
        ----------
        interval : (low, high), optional
            The statistic's 95% interval; None where it has no sampling noise. An interval
            that is NaN (fewer than :data:`~analysis.stats.MIN_UNITS` units, or a statistic
            undefined in every resample) makes the row *inconclusive*: the value alone
            cannot decide a claim that has sampling noise.
        over : str
            What the interval is over, shown with the value.
        untestable : str, optional
            Why the statistic cannot decide the claim whatever the data: the row becomes
            *not testable* with this reason. A NaN value is not testable too.
        """
        if op not in _COMPARE:
            raise ValueError(f"unknown comparison {op!r}; allowed: {', '.join(_COMPARE)}")
        low, high = (float("nan"), float("nan")) if interval is None else map(float, interval)
        value = float(value)
        if untestable is None and not _finite(value):
            untestable = "the statistic is undefined for these runs"
        if untestable is not None:
            verdict = NOT_TESTABLE
        else:
            points = [value] + ([low, high] if interval is not None else [])
            meets = [_COMPARE[op](p, bound) for p in points]
            verdict = SUPPORTED if all(meets) else NOT_SUPPORTED if not any(meets) \
                else INCONCLUSIVE
            if interval is not None and not all(map(_finite, (low, high))):
                verdict = INCONCLUSIVE
                over = f"{over}; no 95% interval (it needs {MIN_UNITS} units or more)"
        return cls(source, statement, statistic, value, low, high,
                   over if interval is not None else "exact", op, float(bound), verdict,
                   untestable or "", digits)

    @property
    def threshold(self) -> str:
        return f"{_SHOWN_OP[self.op]} {self.bound:g}"

    def shown_value(self) -> str:
        """The value rounded, with its interval when there is one."""
        if not _finite(self.value):
            return "—"
        fmt = f"{{:.{self.digits}f}}"
        text = fmt.format(self.value + 0.0)
        if _finite(self.low) and _finite(self.high):
            text += f" [{fmt.format(self.low + 0.0)}, {fmt.format(self.high + 0.0)}]"
        return text

    @property
    def passes(self) -> bool:
        return self.verdict == SUPPORTED


def verdict_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """The verdict table of a chapter as a DataFrame (one row per claim)."""
    return pd.DataFrame({
        "claim": [c.statement for c in claims],
        "source": [c.source for c in claims],
        "statistic": [c.statistic + (f" ({c.interval})" if c.interval != "exact" else "")
                      for c in claims],
        "value": [c.shown_value() for c in claims],
        "threshold": [c.threshold for c in claims],
        "verdict": [c.verdict + (f": {c.reason}" if c.reason else "") for c in claims],
    }, columns=list(COLUMNS))


def verdict_counts(verdicts: Sequence[str]) -> dict[str, int]:
    """How many rows have each of the four verdicts."""
    heads = [v.split(":")[0] for v in verdicts]
    return {v: heads.count(v) for v in VERDICTS}


def _html(claims: Sequence[Claim]) -> str:
    rows = []
    for c in claims:
        kind = c.verdict.replace(" ", "-")
        reason = f'<span class="verdict-reason">{html.escape(c.reason)}</span>' if c.reason else ""
        over = (f'<span class="verdict-over">95% interval: {html.escape(c.interval)}</span>'
                if c.interval != "exact" else "")
        rows.append(
            "<tr>"
            f'<td data-label="Claim">{html.escape(c.statement)}'
            f'<span class="verdict-source">{html.escape(c.source)}</span></td>'
            f'<td data-label="Statistic">{html.escape(c.statistic)}</td>'
            f'<td data-label="Value">{html.escape(c.shown_value())}{over}</td>'
            f'<td data-label="Threshold">{html.escape(c.threshold)}</td>'
            f'<td data-label="Verdict"><span class="verdict verdict-{kind}">'
            f"{html.escape(c.verdict)}</span>{reason}</td>"
            "</tr>")
    counts = verdict_counts([c.verdict for c in claims])
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return ('<table class="verdict-table"><thead><tr><th>Claim</th><th>Statistic</th>'
            "<th>Value [95% interval]</th><th>Threshold</th><th>Verdict</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody>"
            f'<caption>{len(claims)} claims: {summary}.</caption></table>')


def _text(claims: Sequence[Claim]) -> str:
    with pd.option_context("display.max_colwidth", 400, "display.width", 400):
        return verdict_table(claims).to_string(index=False)


class VerdictTable:
    """A chapter's verdicts: an HTML table in the book, text where nbval compares them, and
    the rows as JSON for the ledger."""

    def __init__(self, claims: Sequence[Claim]) -> None:
        self.claims = list(claims)

    def _repr_html_(self) -> str:
        return _html(self.claims)

    def __repr__(self) -> str:
        return _text(self.claims)

    def _repr_json_(self) -> dict:
        rows = []
        for c in self.claims:
            row = asdict(c) | {"value_shown": c.shown_value(), "threshold": c.threshold}
            for key in ("value", "low", "high"):  # a few digits past those shown, no more:
                v = row[key]                      # the last bits differ between machines
                row[key] = round(v, c.digits + 3) if _finite(v) else None
            rows.append(row)
        return {"verdicts": rows}


def show_verdicts(claims: Sequence[Claim]) -> VerdictTable:
    """The verdict table, for the last line of a chapter's last cell to display."""
    return VerdictTable(claims)


def rows_from_json(data: dict) -> list[dict]:
    """Verdict rows from a :class:`VerdictTable`'s JSON (as stored in an executed notebook)."""
    if isinstance(data, str):
        data = json.loads(data)
    return list(data["verdicts"])
