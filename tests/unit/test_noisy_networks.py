"""Chapters 12-13: noisy ensembles, SP over training, clustering, the Parseval step."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from analysis.cache import Result
from analysis.experiments import noisy_networks as nw
from analysis.train import parseval_step

SMALL = nw.Config(seeds=2, epochs=4, n_records=3, n_inputs=32, n_conditional=4, n_mc=40)


@pytest.fixture(scope="module")
def noisy():
    return nw.run(SMALL, progress=False, use_cache=False)


@pytest.fixture(scope="module")
def deterministic():
    return nw.run(replace(SMALL, beta=0.0), progress=False, use_cache=False)


def test_noisy_run_shapes_and_bounds(noisy):
    e = len(noisy["epochs"])
    for key in ("i_xt", "silhouette", "distance_ratio", "log2_clusters"):
        assert noisy[key].shape == (2, e, 5), key
    # X is uniform over 32 inputs: I(X;T) <= 5 bits up to Monte Carlo error, whose standard
    # deviation is at most sqrt(d / 2) / ln 2 / sqrt(32 * 40) = 0.09 bits (d = 10)
    assert np.all(noisy["i_xt"] < math.log2(32) + 0.4)
    assert np.all(noisy["log2_clusters"] <= math.log2(32))
    assert np.isnan(noisy["h_bin"]).all()
    assert len(np.unique(noisy["subset"])) == 32


def test_noisy_run_is_reproducible(noisy):
    again = nw.run(SMALL, progress=False, use_cache=False)
    for key in ("i_xt", "silhouette", "test_acc"):
        assert np.array_equal(noisy[key], again[key]), key


def test_deterministic_binned_mi_is_the_entropy_of_the_bins(deterministic):
    assert np.abs(deterministic["i_xt"] - deterministic["h_bin"]).max() < 1e-9
    assert deterministic["i_xt"].max() <= 12.0 + 1e-9


def test_first_layer_sp_matches_the_mixture_of_its_noiseless_outputs(noisy):
    # a random 10-unit tanh layer resolves 32 inputs at beta = 0.01: about log2 32 bits
    assert noisy["i_xt"][:, 0, 0] == pytest.approx(5.0, abs=0.35)


def test_balanced_subset():
    labels = np.repeat([0, 1], [700, 300])
    sub = nw.balanced_subset(labels, 101, seed=0)
    assert np.array_equal(sub, np.unique(sub)) and len(sub) == 101
    assert sorted(np.bincount(labels[sub]).tolist()) == [50, 51]
    assert np.array_equal(nw.balanced_subset(labels, 5000, 0), np.arange(1000))
    with pytest.raises(ValueError, match="class 1"):
        nw.balanced_subset(np.repeat([0, 1], [700, 3]), 100, 0)


def test_parseval_step_converges_to_orthonormal_rows():
    w = [torch.randn(3, 4, 12, generator=torch.Generator().manual_seed(0)) * 0.3]
    for _ in range(3000):
        parseval_step(w, 0.01)
    assert torch.allclose(w[0] @ w[0].transpose(1, 2), torch.eye(4).expand(3, 4, 4), atol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(beta=-0.1), "beta"), (dict(activation="swish"), "unknown activation"),
    (dict(n_inputs=2), "n_inputs"), (dict(orthonormal=-1.0), "orthonormal"),
    (dict(cluster_scale=0.0), "cluster_scale"), (dict(n_mc=0), "n_mc"),
])
def test_bad_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nw.Config(**kwargs)


def test_correlations_over_all_records_and_from_the_peak():
    up = np.linspace(0, 1, 10)
    x = np.stack([np.r_[up[:5], up[5:][::-1]], up], 1)[None]      # layer 0 peaks mid-way
    y = np.stack([np.r_[up[:5], up[:5]], -up], 1)[None]
    rho = nw.correlations(x, y)
    assert rho[1] == pytest.approx(-1.0)
    from_peak = nw.correlations(x, y, from_peak=True)
    assert from_peak[0] == pytest.approx(-1.0)
    assert np.isnan(nw.correlations(x[:, :3], y[:, :3], from_peak=True)).all()


def fake(i_xt, silhouette, clusters, acc, h_bin=None, orthonormal=0.0):
    i_xt = np.asarray(i_xt, dtype=float)[None, :, None]
    arrays = {"i_xt": i_xt, "silhouette": np.asarray(silhouette, float)[None, :, None],
              "log2_clusters": np.asarray(clusters, float)[None, :, None],
              "test_acc": np.full((1, i_xt.shape[1]), acc),
              "h_bin": i_xt if h_bin is None else np.asarray(h_bin, float)[None, :, None]}
    return Result("noisy_networks", {"beta": 0.01, "cluster_scale": 3.0,
                                     "orthonormal": orthonormal}, arrays)


def test_clustering_claims_pass_and_fail():
    rise_fall = [1, 3, 5, 4, 3, 2]
    good = fake(rise_fall, [0, 0, 0, 0.2, 0.4, 0.6], rise_fall, 0.9)
    det = fake(rise_fall, [0] * 6, rise_fall, 0.91)
    rows = nw.clustering_claims({"tanh": good}, {"tanh": det})
    assert [r.passes for r in rows] == [True] * len(rows)
    unrelated = fake(rise_fall, [0, 0, 0, 0.6, 0.4, 0.2], [6, 5, 4, 3, 2, 1], 0.7)
    wrong_bins = fake(rise_fall, [0] * 6, rise_fall, 0.91, h_bin=np.array(rise_fall) + 0.5)
    rows = nw.clustering_claims({"tanh": unrelated}, {"tanh": wrong_bins})
    assert [r.passes for r in rows] == [False, False, False, False, True]


def test_constraint_claims_pass_and_fail():
    free = fake([1, 5, 2], [0, 0.3, 0.6], [1, 2, 3], 0.9)
    limited = fake([1, 5, 4], [0, 0.1, 0.2], [1, 2, 3], 0.88, orthonormal=0.001)
    assert all(r.passes for r in nw.constraint_claims(free, limited))
    worse = fake([1, 5, 1], [0, 0.5, 0.9], [1, 2, 3], 0.5, orthonormal=0.001)
    assert not any(r.passes for r in nw.constraint_claims(free, worse))


def test_median_of_finite_values_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nw.median(np.array([np.nan, 1.0, 3.0])) == 2.0
        assert np.isnan(nw.median(np.array([np.nan, np.nan])))
