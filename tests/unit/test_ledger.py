"""The verdict ledger is read back exactly from the printed verdict tables."""
import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook, new_output

from analysis import cli
from analysis.claims import Claim, show_verdicts, verdict_table
from analysis.ledger import chapter_verdicts, ledger_markdown, parse_verdict_table

CLAIMS = [
    Claim.test("Paper A 2017, Fig. 3", "Layers compress.", "|fall| of I(X;T) (bits)", 0.83,
               ">=", 0.05),
    Claim.test("Paper B 2018, section 6", "A much longer statement, with commas, and a ratio.",
               "share of layers", 0.4, ">=", 1.0),
    Claim.test("Paper C", "Tiny.", "x", float("nan"), "<", 1e-9, digits=12),
    Claim.test("Paper D", "A claim long enough to be cut by a display width:" + " words" * 25,
               "statistic", 1.0, ">", 0.0),
]


def printed(capsys, claims) -> str:
    show_verdicts(claims)
    return capsys.readouterr().out


def test_round_trip_of_the_printed_table(capsys):
    parsed = parse_verdict_table(printed(capsys, CLAIMS))
    assert parsed.to_dict("records") == verdict_table(CLAIMS).to_dict("records")
    assert parsed["verdict"].tolist() == ["supported", "not supported", "not supported",
                                          "supported"]
    assert parsed["claim"].iloc[-1] == CLAIMS[-1].statement    # printed in full


def test_text_that_is_no_verdict_table_is_refused():
    with pytest.raises(ValueError, match="column 'claim' missing"):
        parse_verdict_table("epoch  loss\n1  0.5\n")
    with pytest.raises(ValueError, match="no verdict table"):
        parse_verdict_table("\n\n")


def executed(path, text):
    nb = new_notebook(cells=[new_code_cell("show_verdicts(...)", outputs=[
        new_output("stream", name="stdout", text=text)])])
    nbformat.write(nb, path)
    return path


def test_chapter_verdicts_reads_the_last_cell(tmp_path, capsys):
    path = executed(tmp_path / "01_x.ipynb", printed(capsys, CLAIMS[:1]))
    assert chapter_verdicts(path)["value"].tolist() == ["0.83"]
    nbformat.write(new_notebook(cells=[new_code_cell("show_verdicts(...)")]), path)
    with pytest.raises(ValueError, match="execute it first"):
        chapter_verdicts(path)


def test_ledger_page_links_chapters_counts_and_escapes(tmp_path, capsys):
    (tmp_path / "book" / "chapters").mkdir(parents=True)
    executed(tmp_path / "book" / "chapters" / "01_a.ipynb", printed(capsys, CLAIMS[:1]))
    executed(tmp_path / "book" / "chapters" / "02_b.ipynb", printed(capsys, CLAIMS[1:3]))
    toc = {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "Summary", "chapters": [{"file": "book/ledger"}]},
        {"caption": "Paper A", "chapters": [
            {"file": "book/parts/a", "sections": [
                {"file": "book/chapters/01_a", "title": "1. A"},
                {"file": "book/chapters/02_b", "title": "2. B"}]}]}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    page = ledger_markdown(tmp_path)
    assert "**1 of 3 claims supported.**" in page
    assert "## Paper A" in page and "## Summary" not in page
    assert "| [1](chapters/01_a.ipynb) | Layers compress." in page
    assert r"\|fall\| of I(X;T) (bits)" in page
    assert page.count("*not supported*") == 2


def test_committed_ledger_is_what_the_executed_chapters_give():
    committed = (cli.ROOT / "book" / "ledger.md").read_text()
    assert committed == ledger_markdown(cli.ROOT), \
        "book/ledger.md is stale: run python -m analysis ledger"
