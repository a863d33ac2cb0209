import re
from dataclasses import dataclass

import numpy as np
import pytest

from analysis import cache, cli
from analysis.cache import Result, cached, result_key


@dataclass(frozen=True)
class Cfg:
    a: int = 1
    b: tuple = (1, 2)


def make(value=1.0):
    return Result("demo", {"a": 1}, {"x": np.arange(3) * value}, {"note": "hi"})


def test_key_changes_with_config_and_code(monkeypatch):
    k = result_key("demo", Cfg())
    assert result_key("demo", Cfg()) == k
    assert result_key("demo", Cfg(a=2)) != k
    assert result_key("other", Cfg()) != k
    monkeypatch.setattr(cache, "code_version", lambda module=None: "changed source")
    assert result_key("demo", Cfg()) != k


def test_code_version_covers_the_computing_modules_only():
    assert len(cache.code_version()) == 64
    names = {p.relative_to(cache.PACKAGE_ROOT).as_posix() for p in cache.hashed_sources()}
    assert {"train.py", "nets.py", "cache.py", "info/binning.py", "data/spherical.py",
            "experiments/information_plane.py"} <= names
    assert not names & {"plots.py", "claims.py", "cli.py", "__main__.py", "chapters/__init__.py", "chapters/cells.py"}


def test_an_experiment_hashes_the_modules_it_imports_and_no_other():
    deps = set(cache.dependencies("experiments.information_plane"))
    assert {"experiments.information_plane", "info.binning", "train", "nets", "data.spherical",
            "data", "info", ""} <= deps
    assert not deps & {"info.sp", "info.kde", "experiments.noisy_networks", "plots", "claims"}
    assert "info.sp" in cache.dependencies("experiments.noisy_networks")


def _package(root, files):
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_code_version_changes_with_a_used_module_only(tmp_path):
    root = _package(tmp_path / "pkg", {
        "__init__.py": "", "a.py": "from .b import f\nfrom . import c\n",
        "b.py": "def f():\n    return 1\n", "c.py": "import pkg.e\nfrom .plots import show\n",
        "e.py": "X = 1\n", "plots.py": "show = 1\n", "unused.py": "Y = 1\n"})
    assert cache.dependencies("a", root) == ["", "a", "b", "c", "e"]
    before = cache.code_version("a", root)
    (root / "unused.py").write_text("Y = 2\n")
    (root / "plots.py").write_text("show = 2\n")
    cache.code_version.cache_clear()
    assert cache.code_version("a", root) == before  # unused and presentation modules
    (root / "e.py").write_text("X = 2\n")  # imported two steps away
    cache.code_version.cache_clear()
    assert cache.code_version("a", root) != before
    cache.code_version.cache_clear()


def test_the_key_follows_the_module_that_computes():
    compute = make
    assert cache.caller_module(compute) == ""
    from analysis.experiments import information_plane as ip
    assert cache.caller_module(ip.run) == "experiments.information_plane"


def test_cached_computes_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return make()

    first = cached("demo", Cfg(), compute)
    second = cached("demo", Cfg(), compute)
    assert len(calls) == 1
    assert first.meta["cache"]["status"] == "computed" and second.meta["cache"]["status"] == "loaded"
    assert np.array_equal(second["x"], [0, 1, 2]) and second.meta["note"] == "hi"
    cached("demo", Cfg(a=5), compute)
    assert len(calls) == 2  # a new parameter is never served the old result
    cached("demo", Cfg(), compute, use_cache=False)
    assert len(calls) == 3


@pytest.mark.parametrize("damage", [b"", b"garbage, not a zip file", "truncate"])
def test_a_corrupt_entry_is_reported_set_aside_and_recomputed(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return make(float(len(calls)))

    cached("demo", Cfg(), compute)
    [entry] = tmp_path.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100] if damage == "truncate" else damage)
    with pytest.warns(UserWarning, match=str(entry)):
        again = cached("demo", Cfg(), compute)
    assert len(calls) == 2 and again.meta["cache"]["status"] == "computed"
    assert list(tmp_path.glob("*.npz.corrupt-*"))  # kept for inspection, out of the way
    assert cached("demo", Cfg(), compute).meta["cache"]["status"] == "loaded"
    assert len(calls) == 2


def test_an_unwritable_cache_returns_the_result_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))

    def read_only(result, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "save", read_only)
    with pytest.warns(UserWarning, match="could not store"):
        result = cached("demo", Cfg(), make)
    assert np.array_equal(result["x"], [0, 1, 2]) and result.meta["cache"]["path"] is None
    assert not list(tmp_path.glob("*.npz"))


def test_a_cache_folder_that_cannot_exist_warns_and_computes(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IB_BOOK_CACHE", str(blocker / "results"))
    with pytest.warns(UserWarning) as record:
        result = cached("demo", Cfg(), make)
    messages = [str(w.message) for w in record]
    assert any("not writable" in m for m in messages)
    assert all("not writable" in m or "could not store" in m for m in messages)
    assert result.meta["cache"]["status"] == "computed"


def test_entries_are_group_readable(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    cached("demo", Cfg(), make)
    [entry] = tmp_path.glob("*.npz")
    assert entry.stat().st_mode & 0o040


def _slow_compute(counter: str) -> Result:
    import time
    with open(counter, "a") as fh:
        fh.write("x")
    time.sleep(1.0)
    return make()


def _run_cached(folder: str, counter: str) -> str:
    import functools
    import os
    os.environ["IB_BOOK_CACHE"] = folder
    return cached("demo", Cfg(), functools.partial(_slow_compute, counter),
                  module="").meta["cache"]["status"]


def test_two_processes_on_one_key_compute_once(tmp_path):
    import multiprocessing

    counter = tmp_path / "calls"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        statuses = pool.starmap(_run_cached, [(str(tmp_path / "c"), str(counter))] * 2)
    assert sorted(statuses) == ["computed", "loaded"]
    assert counter.read_text() == "x"


def test_interrupted_run_leaves_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached("demo", Cfg(), interrupted)
    assert not list(tmp_path.glob("*.npz")) and not list(tmp_path.glob("*.tmp"))


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_savez(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    target = tmp_path / "r.npz"
    with pytest.raises(OSError):
        cache.save(make(), target)
    assert list(tmp_path.iterdir()) == []


def test_cli_overrides_are_typed_by_the_declaration():
    assert cli.parse_overrides(["seeds=5", "train_fractions=[0.1, 0.5]", "data=generated",
                                "batch_size=None"]) == {
        "seeds": 5, "train_fractions": [0.1, 0.5], "data": "generated", "batch_size": None}
    with pytest.raises(SystemExit, match="key=value"):
        cli.parse_overrides(["seeds"])
    nb = cli.resolve_notebook("01")
    assert nb.name == "01_information_plane.ipynb"
    params = cli.parameters_for(nb, "smoke", cli.parse_overrides(["lr=1e-3", "batch_size=None"]))
    assert params == {"profile": "smoke", "lr": 0.001, "batch_size": "full"}
    with pytest.raises(SystemExit, match="no single notebook"):
        cli.resolve_notebook("99")


@pytest.mark.parametrize("pairs, message", [
    (["sedes=3"], "01_information_plane: unknown parameter\\(s\\) sedes; allowed: seeds"),
    (["epochs=abc"], "epochs: Input should be a valid integer"),
    (["seeds=2.5"], "seeds: Input should be a valid integer, got a number with a fractional"),
    (["train_fractions=[0.05, 0.5, 1.5]"], "train_fractions.2: Input should be less than or "
                                            "equal to 1"),
    (["activation=gelu"], "unknown activation 'gelu'"),
    (["snapshot_epochs=[0, 400, 8000]", "epochs=200"], "go beyond epochs = 200"),
])
def test_bad_parameters_are_refused_before_anything_runs(pairs, message, capsys, monkeypatch):
    monkeypatch.setattr(cli, "execute", lambda *a, **k: pytest.fail("executed"))
    assert cli.main(["run", "01", "--profile", "smoke", *sum((["-p", p] for p in pairs), [])]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_unknown_profile_is_refused(capsys):
    assert cli.main(["run", "01", "--profile", "smok"]) == 2
    assert "unknown profile 'smok'; available: default, paper, smoke" in capsys.readouterr().err


def test_run_refuses_to_overwrite_a_source_notebook(monkeypatch):
    monkeypatch.setattr(cli, "execute", lambda *a, **k: pytest.fail("executed"))
    source = cli.NOTEBOOKS / "01_information_plane.ipynb"
    before = source.read_bytes()
    with pytest.raises(SystemExit, match="notebooks/ holds the source notebooks"):
        cli.main(["run", "01", "--profile", "smoke", "-o", str(source)])
    assert source.read_bytes() == before


def test_regress_names_each_notebook(tmp_path, monkeypatch, capsys):
    calls = []

    class Done:
        returncode, stdout = 0, ""

    monkeypatch.setattr(cli.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or Done())
    paths = [cli.REFERENCES / "01_information_plane.ipynb", cli.REFERENCES / "03_depth.ipynb"]
    assert cli.regress(paths, jobs=2) == 0
    out = capsys.readouterr().out
    assert "[1/2] 01_information_plane: same outputs" in out and "03_depth" in out
    assert "2 of 2 notebooks reproduce" in out and len(calls) == 2


def test_a_non_default_book_never_touches_the_published_chapters(tmp_path, monkeypatch):
    import shutil
    monkeypatch.setattr(cli, "BUILD", tmp_path)
    ledger = (cli.ROOT / "book" / "ledger.md").read_bytes()
    chapters = {p: p.read_bytes() for p in cli.CHAPTERS.glob("*.ipynb")}
    target = cli.profile_folder("smoke")
    shutil.copytree(cli.REFERENCES, target)
    stage = cli.stage_book("smoke")
    assert stage == tmp_path / "smoke"
    assert "`smoke` (not published)" in (stage / "book" / "ledger.md").read_text()
    assert (stage / "_toc.yml").is_file() and (stage / "book" / "intro.md").is_file()
    assert (cli.ROOT / "book" / "ledger.md").read_bytes() == ledger
    assert {p: p.read_bytes() for p in cli.CHAPTERS.glob("*.ipynb")} == chapters


def test_cli_list(capsys):
    assert cli.main(["list"]) == 0
    assert "01_information_plane" in capsys.readouterr().out


def test_buttons_and_install_cells_follow_the_configured_repository(tmp_path):
    import nbformat
    import yaml

    from analysis import chapters
    config = yaml.safe_load((cli.ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == ""                # no URL is invented
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    assert cli.repository_url(tmp_path) == "" and cli.book_config(tmp_path) is None
    config["repository"]["url"] = "https://github.com/someone/ib-book"
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    built = yaml.safe_load(cli.book_config(tmp_path).read_text())
    assert built["html"]["use_repository_button"] and built["html"]["use_issues_button"]
    assert built["launch_buttons"]["colab_url"] and built["launch_buttons"]["binderhub_url"]
    folder = tmp_path / "chapters"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(chapters.install_cell(""))])
    nbformat.write(nb, folder / "01_x.ipynb")
    cli.fill_install_cells(folder, cli.repository_url(tmp_path))
    source = nbformat.read(folder / "01_x.ipynb", as_version=4).cells[0].source
    assert 'REPOSITORY = "https://github.com/someone/ib-book"' in source
