"""Chapters 6-7: every estimator on a short run, and the compression statistics."""
import numpy as np
import pytest

from analysis.cache import Result
from analysis.experiments import estimators as es
from analysis.experiments import information_plane as ip

NET = ip.Config(seeds=2, epochs=20, n_records=8, activation="relu")


@pytest.fixture(scope="module")
def result():
    return es.run(es.Config(network=NET, kde_members=1, kde_records=3), progress=False)


def test_every_estimator_has_its_shape_and_the_bounds_are_ordered(result):
    n_members, n_epochs, n_layers = result["i_xt_original"].shape
    assert (n_members, n_layers) == (2, 6)
    for scheme in es.BINNINGS:
        assert result[f"i_xt_{scheme}"].shape == (n_members, n_epochs, n_layers)
        assert np.all(result[f"i_xt_{scheme}"] <= 12 + 1e-9)
        assert np.all(result[f"i_ty_{scheme}"] <= result[f"i_xt_{scheme}"] + 1e-9)
    assert result["i_xt_kde_upper"].shape == (2, 1, 3, n_layers)
    assert np.all(result["i_xt_kde_lower"] <= result["i_xt_kde_upper"] + 1e-9)
    assert np.all(result["i_ty_kde_lower"] <= result["i_ty_kde_upper"] + 1e-9)
    assert np.all(result["i_xt_kde_upper"] <= 12 + 1e-9)
    # finer bins never merge more inputs: machine precision keeps the most
    assert np.all(result["i_xt_machine"] >= result["i_xt_original"] - 1e-9)
    assert np.all(result["i_xt_machine"] >= result["i_xt_range"] - 1e-9)
    # the second training run reproduced the first exactly
    assert result.meta["range_mismatch"] == 0.0
    # range binning spans each member's extremes: a ReLU layer's max reaches the last bin
    assert np.all(result["layer_max"] > result["layer_min"])


def test_estimates_lists_binnings_kde_and_knn(result):
    est = es.estimates(result)
    assert set(es.BINNINGS) <= set(est)
    for name in ("kde_upper@0.1", "kde_lower@0.001", "knn@0.1"):
        epochs, i_xt, i_ty = est[name]
        assert i_xt.shape == (1, len(epochs), 6)
    assert np.isnan(est["knn@0.1"][2]).all()


def test_relative_compression_on_hand_curves():
    i_xt = np.zeros((2, 4, 3))
    i_xt[:, :, 0] = [2, 4, 3, 3]      # falls 1 of a peak of 4
    i_xt[:, :, 1] = [1, 2, 3, 4]      # never falls
    np.testing.assert_allclose(es.relative_compression(i_xt), [0.25, 0.0, 0.0])


def _fake(drop: float) -> Result:
    """A result whose every estimator's hidden I(X;T) rises to 10 bits then falls by ``drop``."""
    curve = np.array([2.0, 10.0, 10.0 - 10 * drop])
    arr = np.broadcast_to(curve[None, :, None], (2, 3, 3)).copy()
    kde = np.broadcast_to(arr[None, :1], (2, 1, 3, 3)).copy()
    arrays = {"epochs": np.arange(3), "kde_epochs": np.arange(3),
              **{f"i_{q}_{s}": arr for s in es.BINNINGS for q in ("xt", "ty")},
              **{f"i_{q}_kde_{b}": kde for q in ("xt", "ty") for b in ("lower", "upper")},
              "i_xt_knn": kde}
    return Result(name="estimators", config={"kde_variances": [0.1, 0.001]}, arrays=arrays)


def test_claims_pass_when_each_activation_behaves_as_the_paper_says():
    rows = es.claims({"tanh": _fake(0.3), "relu": _fake(0.0)})
    assert len(rows) == 2 * len(es.VERDICT_ESTIMATORS)
    assert all(r.passes for r in rows)
    rows = es.claims({"tanh": _fake(0.0), "relu": _fake(0.3)})
    assert not any(r.passes for r in rows)


def test_binning_claims_read_the_schemes():
    fake = _fake(0.3)
    fake.arrays["i_xt_tanh_spaced"] = np.full((2, 3, 3), 5.0)
    fake.arrays["i_xt_machine"] = np.full((2, 3, 3), 12.0)
    assert [c.passes for c in es.binning_claims(fake)] == [True, True, True]
    fake.arrays["i_xt_machine"] = np.full((2, 3, 3), 11.0)
    assert [c.passes for c in es.binning_claims(fake)] == [True, True, False]


@pytest.mark.parametrize("kwargs, match", [
    (dict(range_bins=1), "range_bins"),
    (dict(kde_variances=(0.1, 0.0)), "kde_variances"),
    (dict(kde_members=3), "kde_members"),
    (dict(kde_members=1, kde_records=1), "kde_records"),
])
def test_bad_config_fails_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        es.Config(network=NET, **kwargs)
