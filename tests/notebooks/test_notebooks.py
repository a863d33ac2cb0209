"""Every notebook executes under the smoke profile and reproduces its reference verdicts.

The references in tests/notebooks/references are also re-executed cell by cell by nbval
(``--nbval`` in the pytest options), which compares every text output.
"""
import nbformat
import pytest

from analysis import cli
from analysis.claims import VERDICTS
from analysis.execute import Run

NAMES = cli.notebook_names()


def verdict_text(nb) -> str:
    """The text of the verdict table the notebook displays."""
    texts = [o.data["text/plain"] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if o.output_type in ("display_data", "execute_result")
             and "verdicts" in o.get("data", {}).get("application/json", {})]
    return "".join(texts)


def test_every_notebook_has_a_reference():
    assert NAMES
    assert sorted(p.stem for p in cli.REFERENCES.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_source_notebook_has_parameters_and_no_outputs(name):
    nb = nbformat.read(cli.NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any("parameters" in c.metadata.get("tags", []) for c in code)
    assert all(not c.outputs for c in code)
    assert sum("show_verdicts(" in c.source for c in code) == 1


@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_smoke_execution_reproduces_reference_verdicts(name, tmp_path):
    source = cli.NOTEBOOKS / f"{name}.ipynb"
    run = Run(source, tmp_path / f"{name}.ipynb", cli.parameters_for(source, "smoke"))
    out = cli.execute(run, progress=False, cwd=cli.ROOT)
    executed = nbformat.read(out, as_version=4)
    reference = nbformat.read(cli.REFERENCES / f"{name}.ipynb", as_version=4)
    verdicts = verdict_text(executed)
    assert any(v in verdicts for v in VERDICTS)   # a verdict table was printed
    assert verdicts == verdict_text(reference)


def figure_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"
            and ("plt.show()" in c.source or "HTML(" in c.source)]


@pytest.mark.parametrize("name", NAMES)
def test_every_figure_has_a_caption_and_alt_text(name):
    for folder in (cli.NOTEBOOKS, cli.CHAPTERS, cli.REFERENCES):
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        for cell in figure_cells(nb):
            meta = cell.metadata.get("mystnb", {})
            assert meta.get("figure", {}).get("caption"), (folder.name, cell.source[:60])
            assert meta.get("image", {}).get("alt"), (folder.name, cell.source[:60])
