from dataclasses import dataclass

import numpy as np
import pytest

from analysis import cache, cli
from analysis.cache import Result, cached, result_key
from analysis.claims import Claim, show_verdicts, verdict_table


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
    monkeypatch.setattr(cache, "code_version", lambda: "changed source")
    assert result_key("demo", Cfg()) != k


def test_code_version_covers_the_computing_modules_only():
    assert len(cache.code_version()) == 64
    names = {p.relative_to(cache.PACKAGE_ROOT).as_posix() for p in cache.hashed_sources()}
    assert {"train.py", "nets.py", "cache.py", "info/binning.py", "data/spherical.py",
            "experiments/information_plane.py"} <= names
    assert not names & {"plots.py", "claims.py", "cli.py", "__main__.py"}


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


def test_interrupted_run_leaves_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached("demo", Cfg(), interrupted)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_savez(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    target = tmp_path / "r.npz"
    with pytest.raises(OSError):
        cache.save(make(), target)
    assert list(tmp_path.iterdir()) == []


def test_claim_verdict_uses_rounded_value():
    c = Claim.test("Paper 2017, Fig. 1", "It rises.", "rise (bits)", 0.0996, ">=", 0.1)
    assert c.value == 0.1 and c.passes and c.threshold == ">= 0.1"
    assert not Claim.test("P", "s", "t", 0.094, ">=", 0.1).passes
    assert not Claim.test("P", "s", "t", float("nan"), "<", 1.0).passes
    with pytest.raises(ValueError, match="comparison"):
        Claim.test("P", "s", "t", 1.0, "=", 1.0)


def test_verdict_table_text(capsys):
    claims = [Claim.test("A 2017", "up", "x", 1.234, ">", 1), Claim.test("B", "down", "y", -0.001, "<", 0)]
    table = verdict_table(claims)
    assert table["verdict"].tolist() == ["supported", "not supported"]
    assert table["value"].tolist() == ["1.23", "0"]
    show_verdicts(claims)
    out = capsys.readouterr().out
    assert "supported" in out and "A 2017" in out


def test_cli_overrides_and_profiles():
    assert cli.parse_overrides(["seeds=5", "train_fractions=[0.1, 0.5]", "data=generated"]) == {
        "seeds": 5, "train_fractions": [0.1, 0.5], "data": "generated"}
    with pytest.raises(SystemExit, match="key=value"):
        cli.parse_overrides(["seeds"])
    nb = cli.resolve_notebook("01")
    assert nb.name == "01_information_plane.ipynb"
    params = cli.parameters_for(nb, "smoke", {"seeds": 2})
    assert params["profile"] == "smoke" and params["seeds"] == 2 and "epochs" in params
    with pytest.raises(SystemExit, match="unknown profile"):
        cli.load_profile("nonexistent")
    with pytest.raises(SystemExit, match="no single notebook"):
        cli.resolve_notebook("99")


def test_every_profile_names_only_existing_notebooks_and_parameters():
    import nbformat

    for profile in cli.profile_names():
        for name, params in cli.load_profile(profile).items():
            path = cli.NOTEBOOKS / f"{name}.ipynb"
            assert path.is_file(), f"{profile}: no notebook {name}"
            nb = nbformat.read(path, as_version=4)
            cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
            for key in params:
                assert f"\n{key} = " in "\n" + cell.source, f"{profile}/{name}: unknown {key}"


def test_cli_list(capsys):
    assert cli.main(["list"]) == 0
    assert "01_information_plane" in capsys.readouterr().out
