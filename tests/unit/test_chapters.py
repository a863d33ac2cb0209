"""The notebooks' parameters: one declaration each, validated profiles, and the load cell."""
import dataclasses
import re

import nbformat
import papermill
import pytest

from analysis import chapters, cli
from analysis.chapters import Chapter
from analysis.config import ParameterError

NAMES = cli.notebook_names()


def test_every_notebook_has_a_parameter_class_and_back():
    assert sorted(chapters.CHAPTERS) == NAMES


@pytest.mark.parametrize("profile", chapters.profile_names())
@pytest.mark.parametrize("name", NAMES)
def test_every_profile_is_valid_for_every_notebook(profile, name):
    chapter = chapters.resolve(name, profile)
    assert chapter.experiments() is not None


def test_the_parameters_cells_are_generated_from_the_declarations():
    assert cli.sync_parameters(write=False) == []


@pytest.mark.parametrize("name", NAMES)
def test_papermill_reads_every_declared_parameter_from_the_cell(name):
    # papermill warns "Passed unknown parameter" for any name it cannot parse, e.g. a line
    # with a second "=" in its comment
    inferred = papermill.inspect_notebook(str(cli.NOTEBOOKS / f"{name}.ipynb"))
    assert set(inferred) == set(chapters.parameter_names(name)) | {"profile"}


def _code(name: str) -> str:
    nb = nbformat.read(cli.NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code"
                     and "parameters" not in c.metadata.get("tags", []))


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_is_used(name, monkeypatch):
    """Each parameter is read while the configurations are built, by a property, or as
    ``p.<name>`` in the notebook: none is declared and then silently ignored."""
    cls = chapters.chapter_class(name)
    chapter = chapters.resolve(name)
    names = set(chapters.parameter_names(name))
    read: set[str] = set()

    def recording(self, attr):
        if attr in names:
            read.add(attr)
        return object.__getattribute__(self, attr)

    monkeypatch.setattr(cls, "__getattribute__", recording)
    chapter.experiments()
    for attr, value in vars(cls).items():
        if isinstance(value, property):
            getattr(chapter, attr)
    monkeypatch.undo()
    code = _code(name)
    unused = sorted(k for k in names - read if not re.search(rf"\bp\.{k}\b", code))
    assert unused == [], f"{name}: parameters read by nothing: {unused}"


def test_prefixed_runs_take_their_own_values():
    ch10 = chapters.resolve("10_irrelevant_inputs")
    assert ch10.tanh().lr == 4e-4 and ch10.linear("GD").lr == ch10.lr == 0.5
    assert ch10.linear("SGD").batch_size == ch10.sgd_batch_size
    ch14 = chapters.resolve("14_mnist_networks", "smoke")
    assert ch14.saxe("relu").seeds == ch14.saxe_seeds and ch14.cnn().seeds == ch14.cnn_seeds
    assert ch14.cnn().mi_inputs == ch14.cnn_mi_inputs and ch14.saxe("tanh").mi_inputs == 100


def test_explicit_values_win_over_the_profile_and_are_typed(capsys):
    ns = {"profile": "smoke", "seeds": 2, "lr": "1e-3", "batch_size": "full", "epochs": None}
    p = chapters.load("01_information_plane", ns)
    assert (p.seeds, p.lr, p.batch_size, p.epochs) == (2, 0.001, None, 60)
    out = capsys.readouterr().out
    assert out.startswith("profile: smoke (* set here)") and "seeds = 2 *" in out
    assert "batch_size = 'full' *" in out and "epochs = 60," in out


def test_a_jupyter_user_who_edits_the_profile_gets_its_sizes():
    names = chapters.parameter_names("12_noisy_networks")
    ns = {"profile": "smoke", **{k: None for k in names}}
    p = chapters.load("12_noisy_networks", ns, show=False)
    assert (p.seeds, p.epochs) == (2, 60)
    assert chapters.load("12_noisy_networks", {**ns, "profile": "default"}, show=False).seeds == 10


def test_a_parameter_injected_by_papermill_that_does_not_exist_is_warned_about():
    history = ["", chapters.parameters_cell("01_information_plane"),
               '# Parameters\nprofile = "smoke"\nseeds = 2\nsedes = 4\n']
    ns = {"In": history, "profile": "smoke", "seeds": 2, "sedes": 4}
    with pytest.warns(UserWarning, match="01_information_plane has no parameter\\(s\\) sedes"):
        assert chapters.load("01_information_plane", ns, show=False).seeds == 2


@pytest.mark.parametrize("text, message", [
    ("01_information_plane:\n  sedes: 3\n", "smoke.yml, 01_information_plane: unknown "
                                            "parameter\\(s\\) sedes; allowed: seeds, epochs"),
    ("01_information_plane:\n  seeds: many\n", "01_information_plane: seeds: Input should be "
                                               "a valid integer"),
    ("03_depth:\n  depths: [1, 2, 0]\n", "03_depth: depths.2: Input should be greater than"),
    ("05_training_size:\n  train_fractions: [0.2, 0.85]\n", "must include 0.05 and 0.85"),
])
def test_a_bad_profile_names_the_notebook_the_key_and_the_allowed_values(
        tmp_path, monkeypatch, text, message):
    (tmp_path / "smoke.yml").write_text(text)
    monkeypatch.setattr(chapters, "PROFILES", tmp_path)
    name = text.split(":")[0]
    with pytest.raises(ParameterError, match=message):
        chapters.resolve(name, "smoke")


def test_the_parameters_cell_documents_types_and_defaults():
    cell = chapters.parameters_cell("01_information_plane")
    assert 'profile = "default"' in cell
    assert re.search(r"^batch_size\s+= None  # int ≥ 1 or 'full'; default 512$", cell, re.M)
    assert re.search(r"^train_fraction\s+= None  # float > 0, ≤ 1; default 0.85$", cell, re.M)
    compile(cell, "parameters", "exec")
