import numpy as np
import pytest
from scipy.io import savemat

from analysis.data import load_original, load_spherical, spherical_rule
from analysis.data.spherical import (all_patterns, icosahedron_rotations, icosahedron_vertices,
                                     rotation_invariant_function)
from analysis.info import mutual_information_xy


@pytest.fixture(scope="module")
def task():
    return spherical_rule()


def test_vertices_are_an_icosahedron():
    v = icosahedron_vertices()
    dots = np.round(v @ v.T, 9)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    # each vertex has 5 neighbours at cos = 1/sqrt(5), 5 at -1/sqrt(5) and one antipode
    assert all(np.sum(np.isclose(row, 1 / np.sqrt(5))) == 5 for row in dots)
    assert all(np.sum(np.isclose(row, -1.0)) == 1 for row in dots)


def test_sixty_rotations_form_a_group():
    perms = icosahedron_rotations()
    as_set = {tuple(p) for p in perms}
    assert len(as_set) == 60
    for a in perms[:12]:
        for b in perms[::7]:
            assert tuple(a[b]) in as_set  # closed under composition


def test_rule_is_invariant_under_all_rotations(task):
    f = rotation_invariant_function(task.x)
    for perm in icosahedron_rotations():
        assert np.allclose(rotation_invariant_function(task.x[:, perm]), f)


def test_rule_is_not_invariant_under_arbitrary_permutations(task):
    f = rotation_invariant_function(task.x)
    swap = np.arange(12)
    swap[[0, 1]] = [1, 0]  # exchanging two adjacent vertices is no rotation
    assert not np.allclose(rotation_invariant_function(task.x[:, swap]), f)


def test_task_statistics(task):
    assert task.x.shape == (4096, 12)
    assert len(np.unique(task.x, axis=0)) == 4096
    assert 0.98 <= mutual_information_xy(task.p_y_given_x) <= 1.0
    assert 0.45 <= task.p_y_given_x[:, 1].mean() <= 0.55
    assert np.array_equal(task.y, task.p_y_given_x.argmax(1))


def test_patterns_count_in_binary():
    x = all_patterns(3)
    assert x.tolist()[:3] == [[0, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_target_beyond_label_entropy_is_refused():
    with pytest.raises(ValueError, match="target_mi_bits"):
        spherical_rule(target_mi_bits=1.2)


def test_load_original_roundtrip(tmp_path, task):
    path = tmp_path / "var_u.mat"
    savemat(path, {"F": task.x, "y": task.y[None, :]})
    data = load_original(path)
    assert np.array_equal(data.x, task.x) and np.array_equal(data.y, task.y)
    assert data.source["mi_xy_bits"] == pytest.approx(
        mutual_information_xy(np.eye(2)[task.y]))
    assert load_spherical(str(path)).n_samples == 4096


def test_missing_data_file_names_path_and_origin(tmp_path):
    missing = tmp_path / "nowhere" / "var_u.mat"
    with pytest.raises(FileNotFoundError, match="nowhere.*IDNNs"):
        load_original(missing)


def test_malformed_data_file(tmp_path):
    path = tmp_path / "bad.mat"
    savemat(path, {"F": np.zeros((10, 12)), "y": np.zeros((1, 10))})
    with pytest.raises(ValueError, match="4096"):
        load_original(path)
    savemat(path, {"X": np.zeros((10, 12))})
    with pytest.raises(ValueError, match="'F' and 'y'"):
        load_original(path)


@pytest.mark.parametrize("change, message", [
    (lambda f, y: (np.full_like(f, np.nan), y), "binary patterns"),
    (lambda f, y: (f * 2, y), "binary patterns"),
    (lambda f, y: (np.zeros_like(f), y), "distinct patterns"),
    (lambda f, y: (f, np.zeros_like(y)), "one class only"),
    (lambda f, y: (f, y + 1), "labels 0 and 1 only"),
    (lambda f, y: (f, np.where(y == 1, np.nan, y)), "labels 0 and 1 only"),
])
def test_bad_data_files_are_refused_naming_the_file(tmp_path, task, change, message):
    f, y = change(task.x.astype(float), task.y[None, :].astype(float))
    path = tmp_path / "var_u.mat"
    savemat(path, {"F": f, "y": y})
    with pytest.raises(ValueError, match=message) as err:
        load_original(path)
    assert str(path) in str(err.value)


def test_truncated_data_file_names_the_file(tmp_path, task):
    path = tmp_path / "var_u.mat"
    savemat(path, {"F": task.x, "y": task.y[None, :]})
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(ValueError, match="truncated") as err:
        load_original(path)
    assert str(path) in str(err.value)


def test_data_fingerprint_follows_the_contents_not_the_path(tmp_path, task):
    a, b = tmp_path / "a.mat", tmp_path / "b.mat"
    savemat(a, {"F": task.x, "y": task.y[None, :]})
    savemat(b, {"F": task.x, "y": task.y[None, :]})
    first = load_original(a).fingerprint
    assert load_original(b).fingerprint == first  # same contents elsewhere: same key
    savemat(a, {"F": task.x, "y": 1 - task.y[None, :]})  # replaced at the same path
    assert load_original(a).fingerprint != first
    assert "path" not in first and load_spherical().fingerprint["kind"] == "generated"


def test_rule_takes_eleven_values_and_merges_into_six_groups(task):
    """The rotation-invariant function takes 11 values; with the gain that sets
    I(X;Y) = 0.99 bits six of them give p(y=1|x) within 1e-12 of 0 and merge, so the IB
    problem of the task has 6 groups (book/methods.md). A softer rule keeps more apart."""
    from analysis.info.ib import merge_equal_conditionals

    f = rotation_invariant_function(task.x)
    assert len(np.unique(np.round(f, 9))) == 11
    p_x = np.full(4096, 1 / 4096)
    assert len(merge_equal_conditionals(p_x, task.p_y_given_x)[0]) == 6
    softer = spherical_rule(target_mi_bits=0.6)
    assert mutual_information_xy(softer.p_y_given_x) == pytest.approx(0.6)
    assert len(merge_equal_conditionals(p_x, softer.p_y_given_x)[0]) > 6
    # the softer rule is softer: its least certain pattern is less certain
    assert softer.p_y_given_x.min(1).max() > task.p_y_given_x.min(1).max()
