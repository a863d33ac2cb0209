"""Notebook execution: serial, N at a time, and on a Dask cluster give the same notebooks."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from analysis import execute
from analysis.execute import Run, execute_runs, longest_first, threads_per_job


def _notebook(path, seed):
    cells = [
        new_code_cell("seed = 0", metadata={"tags": ["parameters"]}),
        new_code_cell("import os, numpy as np\n"
                      "from analysis.threads import set_threads\n"
                      "threads = set_threads()\n"
                      "print(np.random.default_rng(seed).normal(size=3).round(6))"),
        new_code_cell("print('threads', threads)", metadata={"tags": ["remove-stderr"]}),
    ]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                            "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, path)
    return path


def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    return [[o.get("text") for o in c.outputs] for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("execute")


@pytest.fixture(scope="module")
def runs(folder):
    sources = [_notebook(folder / f"{i}_nb.ipynb", 0) for i in range(2)]

    def make(name):
        return [Run(s, folder / name / s.name, {"seed": 7 + i}) for i, s in enumerate(sources)]
    return make


@pytest.fixture(scope="module")
def serial(runs, folder):
    return execute_runs(runs("serial"), jobs=1, cwd=folder, log=lambda _: None)


def test_parallel_and_serial_executions_give_the_same_notebooks(runs, serial, folder):
    tmp_path = folder
    lines = []
    parallel = execute_runs(runs("parallel"), jobs=2, cwd=tmp_path, log=lines.append)
    for a, b in zip(serial, parallel):
        out_a, out_b = _outputs(a), _outputs(b)
        assert out_a[-2] == out_b[-2] != [[]]                       # the computed values
        assert out_b[-1] == [f"threads {threads_per_job(2)}\n"]  # N-aware thread counts
    assert any("0_nb done in" in line for line in lines) and "2 at a time" in lines[0]
    cells = nbformat.read(parallel[0], as_version=4).cells
    assert "remove-cell" in cells[0].metadata["tags"]      # parameters hidden in the book
    assert "remove-cell" in cells[1].metadata["tags"]      # so is papermill's injected cell
    assert nbformat.read(parallel[0], as_version=4).metadata["papermill"]["input_path"] \
        == "0_nb.ipynb"                                   # no absolute path published


def test_a_dask_cluster_gives_the_same_notebooks_as_a_serial_run(runs, serial, folder):
    distributed = pytest.importorskip("distributed")
    tmp_path = folder
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = execute_runs(runs("dask"), scheduler=cluster.scheduler_address, cwd=tmp_path,
                              log=lambda _: None)
    for a, b in zip(serial, remote):
        assert _outputs(a)[-2] == _outputs(b)[-2]
    assert _outputs(remote[0])[-1] == ["threads 1\n"]


def test_longest_notebooks_go_first(tmp_path):
    made = []
    for name, seconds in (("a", 5.0), ("b", 50.0), ("c", None)):
        path = tmp_path / f"{name}.ipynb"
        nb = new_notebook()
        if seconds is not None:
            nb.metadata["papermill"] = {"duration": seconds}
        nbformat.write(nb, path)
        made.append(Run(path, path))
    assert [r.name for r in longest_first(made, lambda r: r.output)] == ["b", "a", "c"]
    assert threads_per_job(2, cores=2) == 1 and threads_per_job(1, cores=2) == 2
    assert threads_per_job(4, cores=2) == 1
    with pytest.raises(ValueError, match="jobs"):
        execute_runs(made, jobs=0)
    assert execute.recorded_seconds(tmp_path / "missing.ipynb") == 0.0


def test_a_failed_execution_leaves_the_previous_output_untouched(tmp_path):
    source = tmp_path / "fails.ipynb"
    nbformat.write(new_notebook(
        cells=[new_code_cell("x = 1"), new_code_cell("raise RuntimeError('cell 2 fails')")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}}), source)
    output = tmp_path / "out" / "fails.ipynb"
    output.parent.mkdir()
    output.write_text("the published notebook")
    with pytest.raises(Exception, match="cell 2 fails"):
        execute.execute(Run(source, output, {}), progress=False, cwd=tmp_path)
    assert output.read_text() == "the published notebook"
    partial = nbformat.read(execute.partial_path(output), as_version=4)
    errors = [o for c in partial.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["RuntimeError"]


def test_a_successful_execution_replaces_the_output_and_names_it(runs, serial, folder):
    for path in serial:
        assert path.is_file() and not execute.partial_path(path).exists()
        meta = nbformat.read(path, as_version=4).metadata["papermill"]
        assert meta["output_path"] == path.name
