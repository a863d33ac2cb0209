"""Bibliography labels in the author-year form the text uses ("Saxe et al. 2018").

sphinxcontrib-bibtex labels bibliography entries with pybtex's label style, "alpha" by
default ([SBD+18]), while the book cites author-year ("Saxe et al. (2018)"). This Sphinx
extension registers a pybtex formatting style, ``authoryear``, whose labels are the
authors' last names (one, two joined by "&", or the first and "et al.") and the year;
``_config.yml`` selects it with ``bibtex_default_style``.
"""
from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def author_year(entry) -> str:
    """``Last 2017``, ``Last & Other 2017`` or ``Last et al. 2017`` for a bibliography entry."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(p.last_names) for p in people]
    if len(names) > 2:
        who = f"{names[0]} et al."
    else:
        who = " & ".join(names) or entry.fields.get("title", "?")
    return f"{who} {entry.fields.get('year', '')}".strip()


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels; a letter tells apart two works of the same authors and year."""

    def format_labels(self, sorted_entries):
        labels = [author_year(e) for e in sorted_entries]
        for i, label in enumerate(labels):
            same = [j for j, other in enumerate(labels) if other == label]
            yield label if len(same) == 1 else f"{label}{'abcdefgh'[same.index(i)]}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
