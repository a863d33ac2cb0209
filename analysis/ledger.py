"""The verdict ledger: every chapter's verdict table on one page, read from the executed notebooks.

Each chapter's last cell prints its verdict table (:func:`analysis.claims.show_verdicts`).
The ledger reads those printed tables back from the executed notebooks in
``book/chapters`` — the published numbers, never retyped — and writes ``book/ledger.md``:
per part of the book, one row per claim with its chapter, source, statistic, value,
threshold and verdict. ``python -m analysis ledger`` regenerates it; a test checks that
the committed page is what the executed chapters give.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import yaml

COLUMNS = ("claim", "source", "statistic", "value", "threshold", "verdict")


def parse_verdict_table(text: str) -> pd.DataFrame:
    """The rows of a verdict table printed by :func:`~analysis.claims.show_verdicts`.

    ``DataFrame.to_string`` right-aligns every column under its header, so each column
    ends where its header name ends; the text between the end of one header and the end
    of the next is that column's cell.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no verdict table in the text")
    header = lines[0]
    ends = []
    for name in COLUMNS:
        match = re.search(rf"\b{name}\b", header[ends[-1] if ends else 0:])
        if match is None:
            raise ValueError(f"not a verdict table: column {name!r} missing in {header!r}")
        ends.append((ends[-1] if ends else 0) + match.end())
    starts = [0] + ends[:-1]
    rows = [[line[a:b].strip() for a, b in zip(starts, ends)] for line in lines[1:]]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    bad = ~table["verdict"].isin(["supported", "not supported"])
    if bad.any():
        raise ValueError(f"unreadable verdict rows: {table[bad].to_dict('records')}")
    return table


def chapter_verdicts(notebook: Path) -> pd.DataFrame:
    """The verdict table printed by the last code cell of an executed notebook."""
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        raise ValueError(f"{notebook} has no code cells")
    text = "".join(o.get("text", "") for o in code[-1].get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    if not text.strip():
        raise ValueError(f"{notebook} has no printed verdict table in its last cell: "
                         "execute it first (python -m analysis run ...)")
    return parse_verdict_table(text)


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def _entries(entries: list[dict]) -> list[dict]:
    """TOC entries with their nested sections, in reading order."""
    out = []
    for entry in entries:
        out.append(entry)
        out += _entries(entry.get("sections", []))
    return out


def ledger_markdown(root: Path, profile: str = "default") -> str:
    """The ledger page for the book at ``root`` (its ``_toc.yml`` and executed chapters),
    whose chapters were executed under ``profile``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts, total, supported = [], 0, 0
    for part in toc.get("parts", []):
        chapters = [c for c in _entries(part.get("chapters", [])) if "/chapters/" in c["file"]]
        if not chapters:
            continue
        lines = [f"## {part['caption']}", "", ":::{div} ledger",
                 "| chapter | claim (source) | statistic | value | threshold | verdict |",
                 "|---|---|---|---|---|---|"]
        for chapter in chapters:
            notebook = root / f"{chapter['file']}.ipynb"
            number = chapter.get("title", notebook.stem).split(".")[0]
            link = f"[{number}]({Path(chapter['file']).relative_to('book')}.ipynb)"
            for row in chapter_verdicts(notebook).itertuples(index=False):
                mark = "**supported**" if row.verdict == "supported" else "*not supported*"
                claim = f"{_cell(row.claim)} <br>*{_cell(row.source)}*"
                lines.append("| " + " | ".join(
                    [link, claim, *(_cell(getattr(row, c)) for c in COLUMNS[2:-1]), mark])
                    + " |")
                total += 1
                supported += row.verdict == "supported"
        lines.append(":::")
        parts.append("\n".join(lines))
    run = "published (`default`)" if profile == "default" else f"`{profile}` (not published)"
    intro = (
        "---\nhtml_theme.sidebar_secondary.remove: true\n---\n\n"
        "# Verdict ledger\n\n"
        "Every claim put to the test in this book, with the statistic we computed, its "
        f"value in the {run} run, the threshold the claim implies and the "
        "verdict. The rows are read from the executed chapters by `python -m analysis "
        "ledger`, never typed by hand; the chapter number links to the chapter, where the "
        "figures and the reasons for every deviation are.\n\n"
        f"**{supported} of {total} claims supported.**\n")
    return intro + "\n" + "\n\n".join(parts) + "\n"


def write_ledger(root: Path, profile: str = "default") -> Path:
    """Regenerate ``book/ledger.md`` under ``root`` from its executed chapters."""
    path = root / "book" / "ledger.md"
    path.write_text(ledger_markdown(root, profile))
    return path
