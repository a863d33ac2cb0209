"""The verdict ledger and the landing page's chapter list are read from the executed chapters."""
import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis import cli
from analysis.claims import Claim, show_verdicts
from analysis.ledger import (END, START, chapter_claim, chapter_list, chapter_rows,
                             ledger_markdown, part_list, write_ledger)

CLAIMS = [
    Claim.test("Paper A 2017, Fig. 3", "Layers compress.", "fall of I(X;T) | share", 0.83,
               ">=", 0.05, interval=(0.7, 0.9), over="bootstrap over 5 seeds"),
    Claim.test("Paper B 2018, section 6", "A <much> longer statement.", "share of layers", 0.4,
               ">=", 1.0),
    Claim.test("Paper C", "Tiny.", "x", 0.5, "<", 1.0, untestable="ties at a grid cap"),
    Claim.test("Paper D", "Straddles.", "y", 0.06, ">=", 0.05, interval=(0.01, 0.1), over="z"),
]


def executed(path, claims, claim_line="> The one-line claim."):
    table = show_verdicts(claims)
    out = new_output("display_data", data={"text/plain": repr(table),
                                           "text/html": table._repr_html_(),
                                           "application/json": table._repr_json_()})
    nb = new_notebook(cells=[new_markdown_cell(f"# 1. A\n\n{claim_line}\n\n**Claim** ..."),
                             new_code_cell("show_verdicts(...)", outputs=[out])])
    nbformat.write(nb, path)
    return path


def test_rows_come_back_from_the_stored_json(tmp_path):
    path = executed(tmp_path / "01_x.ipynb", CLAIMS)
    rows = chapter_rows(path)
    assert [r["verdict"] for r in rows] == ["supported", "not supported", "not testable",
                                            "inconclusive"]
    assert rows[0]["value_shown"] == "0.83 [0.70, 0.90]" and rows[2]["reason"]
    assert chapter_claim(path) == "The one-line claim."
    nbformat.write(new_notebook(cells=[new_code_cell("show_verdicts(...)")]), path)
    with pytest.raises(ValueError, match="execute it first"):
        chapter_rows(path)


@pytest.fixture
def book(tmp_path):
    (tmp_path / "book" / "chapters").mkdir(parents=True)
    executed(tmp_path / "book" / "chapters" / "01_a.ipynb", CLAIMS[:1])
    executed(tmp_path / "book" / "chapters" / "02_b.ipynb", CLAIMS[1:])
    toc = {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "Summary", "chapters": [{"file": "book/ledger"}]},
        {"caption": "Paper A", "chapters": [
            {"file": "book/parts/a", "sections": [
                {"file": "book/chapters/01_a", "title": "1. A"},
                {"file": "book/chapters/02_b", "title": "2. B"}]}]}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    (tmp_path / "book" / "intro.md").write_text("# Intro\n\nText.\n")
    (tmp_path / "book" / "parts").mkdir()
    (tmp_path / "book" / "parts" / "a.md").write_text("# Part A\n\nWhat it claims.\n")
    return tmp_path


def test_ledger_page_counts_the_four_verdicts_links_and_escapes(book):
    page = ledger_markdown(book)
    assert ("**4 claims: 1 supported, 1 not supported, 1 inconclusive, 1 not testable.**"
            in page)
    assert "## Paper A" in page and "## Summary" not in page
    assert '<a href="chapters/01_a.html">1</a>' in page
    assert "A &lt;much&gt; longer statement." in page and "fall of I(X;T) | share" in page
    assert page.count('class="verdict verdict-') == 4
    assert "ties at a grid cap" in page and "0.83 [0.70, 0.90]" in page


def test_the_landing_page_lists_every_chapter_with_its_claim_and_counts(book):
    write_ledger(book)
    intro = (book / "book" / "intro.md").read_text()
    assert intro.startswith("# Intro\n\nText.") and START in intro and END in intro
    assert "| [1. A](chapters/01_a.ipynb) | The one-line claim. | 1 ✓ |" in intro
    assert "**4 claims tested: 1 supported" in intro
    write_ledger(book)   # regenerating replaces the block, it does not add another
    assert (book / "book" / "intro.md").read_text().count(START) == 1
    assert chapter_list(book) in (book / "book" / "intro.md").read_text()


def test_a_part_page_gets_its_own_chapters_and_counts(book):
    write_ledger(book)
    write_ledger(book)
    page = (book / "book" / "parts" / "a.md").read_text()
    assert page.startswith("# Part A\n\nWhat it claims.") and page.count(START) == 1
    assert "| [2. B](../chapters/02_b.ipynb) | The one-line claim. | 1 ✗ 1 ? 1 – |" in page
    assert "**In this part, 4 claims: 1 supported, 1 not supported" in page


def test_committed_ledger_and_landing_page_are_what_the_executed_chapters_give():
    committed = (cli.ROOT / "book" / "ledger.md").read_text()
    assert committed == ledger_markdown(cli.ROOT), \
        "book/ledger.md is stale: run python -m analysis ledger"
    assert chapter_list(cli.ROOT) in (cli.ROOT / "book" / "intro.md").read_text(), \
        "book/intro.md's chapter list is stale: run python -m analysis ledger"
    toc = yaml.safe_load((cli.ROOT / "_toc.yml").read_text())
    for part in toc["parts"]:
        for entry in part["chapters"]:
            if entry.get("sections") and "/chapters/" not in entry["file"]:
                block = part_list(cli.ROOT, entry["sections"])
                assert block in (cli.ROOT / f"{entry['file']}.md").read_text(), \
                    f"{entry['file']}.md's chapter block is stale: run python -m analysis ledger"
