"""Chapters 6-7: every estimator on a short run, and the compression statistics."""
import math

import numpy as np
import pytest
import torch

from analysis import stats
from analysis.cache import Result
from analysis.data import load_spherical
from analysis.experiments import activations as av
from analysis.experiments import estimators as es
from analysis.experiments import information_plane as ip

NET = ip.Config(seeds=2, epochs=20, n_records=8, activation="relu")


@pytest.fixture(scope="module")
def result():
    return es.run(es.Config(network=NET, kde_members=1, kde_records=3), progress=False,
                  use_cache=False)


@pytest.fixture(scope="module")
def tanh():
    net = ip.Config(seeds=2, epochs=20, n_records=8, activation="tanh")
    return es.run(es.Config(network=net, kde_members=0), progress=False, use_cache=False)


def test_every_estimator_has_its_shape_and_the_bounds_are_ordered(result):
    n_members, n_epochs, n_layers = result["i_xt_machine"].shape
    assert (n_members, n_layers) == (2, 6)
    for scheme in es.BINNINGS:
        assert result[f"i_xt_{scheme}"].shape == (n_members, n_epochs, n_layers)
    # the bins on [-1, 1] do not fit ReLU: left out, not estimated
    for scheme in ("original", "tanh_spaced"):
        assert np.isnan(result[f"i_xt_{scheme}"]).all()
    for scheme in ("fixed_width", "range", "quantile", "machine", "machine_float32"):
        assert np.all(result[f"i_xt_{scheme}"] <= 12 + 1e-9)
        assert np.all(result[f"i_ty_{scheme}"] <= result[f"i_xt_{scheme}"] + 1e-9)
    assert result["i_xt_kde_upper"].shape == (2, 1, 3, n_layers)
    hidden = result["i_xt_kde_upper"][..., :-1]
    assert np.isfinite(hidden).all() and np.isnan(result["i_xt_kde_upper"][..., -1]).all()
    assert np.all(result["i_xt_kde_lower"][..., :-1] <= hidden + 1e-9)
    assert np.all(result["i_ty_kde_lower"][..., :-1] <= result["i_ty_kde_upper"][..., :-1] + 1e-9)
    assert np.all(hidden <= 12 + 1e-9)
    # finer bins never merge more inputs: machine precision keeps the most
    assert np.all(result["i_xt_machine"] >= result["i_xt_fixed_width"] - 1e-9)
    assert np.all(result["i_xt_machine"] >= result["i_xt_range"] - 1e-9)
    assert np.all(result["layer_max"] > result["layer_min"])


def test_tanh_gets_the_bins_on_minus_one_one(tanh):
    for scheme in ("original", "tanh_spaced"):
        assert np.isfinite(tanh[f"i_xt_{scheme}"]).all()
        assert np.all(tanh[f"i_xt_{scheme}"] <= tanh["i_xt_machine"] + 1e-9)
    assert np.all(tanh["preact_max"] > 0)


def test_the_kept_weights_give_the_networks_information_plane_trains():
    """train_and_keep trains what information_plane.train_and_record trains: the float64
    layers recomputed from the kept weights equal the float32 layers recorded there."""
    net = ip.Config(seeds=2, epochs=6, n_records=4, activation="tanh")
    data = load_spherical(net.data)
    recorded = []
    ip.train_and_record(net, data, lambda s: recorded.append([t.clone() for t in s.layers]),
                        progress=False)
    _, kept = es.train_and_keep(net, data, progress=False)
    assert len(kept) == len(recorded)
    for params, layers in zip(kept, recorded):
        mine, preacts = es.forward64(params, data.x, "tanh")
        for t64, z, t32 in zip(mine, preacts, layers):
            assert t64.dtype == torch.float64
            np.testing.assert_allclose(t64.numpy(), t32.transpose(1, 2).double().numpy(),
                                       atol=2e-6)
        np.testing.assert_allclose(torch.tanh(preacts[0]).numpy(), mine[0].numpy())


def test_relative_compression_is_the_books_criterion():
    i_xt = np.zeros((2, 4, 3))
    i_xt[:, :, 0] = [2, 4, 3, 3]      # falls 1 of a peak of 4
    i_xt[:, :, 1] = [1, 2, 3, 4]      # never falls
    i_xt[:, :, 2] = [4, 3, 2, 2]      # peak at the start: falls by half, but not testable
    fall = stats.relative_fall(i_xt)
    np.testing.assert_allclose(fall.fall, [0.25, 0.0, 0.5])
    assert fall.at_start.tolist() == [False, False, True]
    assert es.COMPRESSION == stats.COMPRESSION == 0.05


def test_hidden_fall_skips_the_output_and_layers_peaking_at_the_start():
    i_xt = np.zeros((5, 4, 4))
    i_xt[:, :, 0] = [2, 4, 3, 3]      # 25%
    i_xt[:, :, 1] = [1, 2, 3, 4]      # 0%
    i_xt[:, :, 2] = [4, 3, 2, 1]      # peak at the start: excluded (would be 75%)
    i_xt[:, :, 3] = [1, 8, 1, 1]      # the output layer: excluded (87.5%)
    value, low, high = av.hidden_fall(i_xt)
    assert value == pytest.approx(0.25) and low == pytest.approx(0.25) == high
    # members that differ: member averages 2,4,3,3 -> one member 2,4,2,2 and one 2,4,4,4
    i_xt[0, :, 0], i_xt[1, :, 0] = [2, 4, 2, 2], [2, 4, 4, 4]
    value, low, high = av.hidden_fall(i_xt)
    assert value == pytest.approx(0.25) and low < 0.25 < high
    flat = np.full((3, 4, 3), 12.0)   # at its ceiling from the start: nothing to test
    assert math.isnan(av.hidden_fall(flat)[0])
    row = av.compression_claim("s", "x", flat, compresses=False)
    assert row.verdict == "not testable" and "initialisation" in row.reason


def _fake(drop: float, n_members: int = 5) -> Result:
    """A result whose every estimator's hidden I(X;T) rises to 10 bits then falls by ``drop``
    (members spread a little so that the intervals are not points)."""
    curve = np.array([2.0, 10.0, 10.0 - 10 * drop])
    spread = np.linspace(-0.02, 0.02, n_members)[:, None, None]
    arr = np.broadcast_to(curve[None, :, None], (n_members, 3, 3)) + spread
    arr = arr.copy()
    kde = np.broadcast_to(arr[None], (2, n_members, 3, 3)).copy()
    acc = np.full((n_members, 3), 0.99)
    arrays = {"epochs": np.arange(3), "kde_epochs": np.arange(3), "test_acc": acc,
              **{f"i_{q}_{s}": arr for s in es.BINNINGS for q in ("xt", "ty")},
              **{f"i_{q}_kde_{b}": kde for q in ("xt", "ty") for b in ("lower", "upper")},
              "i_xt_knn": kde}
    return Result(name="estimators", config={"kde_variances": [0.1, 0.001]}, arrays=arrays)


def test_claims_follow_the_paper_and_attribute_each_row():
    paper = {"tanh": _fake(0.3), "relu": _fake(0.0), "softsign": _fake(0.3),
             "softplus": _fake(0.0)}
    rows = av.claims(paper)
    assert len(rows) == len(av.CLAIMED) + 1
    verdicts = {r.statement: r.verdict for r in rows}
    # the adaptive-bin row is Chelombiev et al.'s claim: ReLU compresses; here it does not
    chelombiev = [r for r in rows if r.source.startswith("Chelombiev")]
    assert [r.verdict for r in chelombiev] == ["not supported"]
    assert sum(v == "supported" for v in verdicts.values()) == len(rows) - 1
    assert all(r.source.startswith(("Saxe", "Chelombiev")) for r in rows)
    # everything the other way round: every compression row fails but Chelombiev's
    rows = av.claims({"tanh": _fake(0.0), "relu": _fake(0.3), "softsign": _fake(0.0),
                      "softplus": _fake(0.3)})
    compress_rows = [r for r in rows if "compress" in r.statement
                     and not r.source.startswith("Chelombiev")
                     and not r.statement.startswith("tanh and ReLU")]
    assert compress_rows and all(r.verdict == "not supported" for r in compress_rows)


def test_generalisation_claim_on_hand_accuracies():
    a = Result("t", {}, {"test_acc": np.array([[0.5, 0.99]] * 5)})
    b = Result("r", {}, {"test_acc": np.array([[0.5, 0.985]] * 5)})
    row = av.generalisation_claim(a, b)
    assert row.value == pytest.approx(0.005) and row.verdict == "supported"
    b.arrays["test_acc"] = np.array([[0.5, 0.9]] * 5)
    row = av.generalisation_claim(a, b)
    assert row.value == pytest.approx(0.09) and row.verdict == "not supported"


def test_binning_claims_read_the_schemes():
    fake = _fake(0.3)
    rise = np.broadcast_to(np.array([5.0, 6.0, 6.0])[None, :, None], (5, 3, 3)).copy()
    fake.arrays["i_xt_tanh_spaced"] = rise
    fake.arrays["i_xt_machine"] = np.full((5, 3, 3), 12.0)
    assert [c.verdict for c in av.binning_claims(fake)] == ["supported", "supported"]
    fake.arrays["i_xt_machine"] = np.full((5, 3, 3), 11.0)
    fake.arrays["i_xt_tanh_spaced"] = fake.arrays["i_xt_original"]
    assert [c.verdict for c in av.binning_claims(fake)] == ["not supported", "not supported"]


def test_labels_name_every_estimator(result):
    for name in es.estimates(result):
        assert av.label(name) != name or name in av.LABELS
    assert av.label("kde_upper@0.001") == "KDE upper, σ² = 0.001"


@pytest.mark.parametrize("kwargs, match", [
    (dict(range_bins=1), "range_bins"),
    (dict(fixed_width=0.0), "fixed_width"),
    (dict(kde_variances=(0.1, 0.0)), "kde_variances"),
    (dict(kde_members=3), "kde_members"),
    (dict(kde_members=1, kde_records=1), "kde_records"),
])
def test_bad_config_fails_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        es.Config(network=NET, **kwargs)
