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


def test_a_curve_flat_but_for_rounding_has_no_correlation():
    # I(X;T) at its cap, log2(96), differing by rounding only: no ranking of those errors
    cap = np.log2(96.0) + np.array([0, 8e-16, -8e-16, 0, 8e-16, 0])
    sil = np.linspace(-0.004, 0.002, 6)
    x, y = cap[None, :, None], sil[None, :, None]
    assert np.isnan(nw.correlations(x, y)[0])
    assert np.isnan(nw.correlations(x, y, from_peak=True)[0])
    assert nw.correlations(x + np.linspace(0, 1e-6, 6)[None, :, None], y)[0] == pytest.approx(1.0)


def fake(i_xt, silhouette, clusters, acc, orthonormal=0.0, reps=None, n_inputs=8,
         beta=0.01, activation="tanh", members=1):
    """A Result with hand-made curves: every member gets the same curve (shape (records,)
    or (records, layers)) unless a (members, records, layers) array is given."""
    def arr(v):
        v = np.asarray(v, dtype=float)
        v = v[:, None] if v.ndim == 1 else v
        return np.broadcast_to(v, (members, *v.shape)).copy() if v.ndim == 2 else v
    i_xt = arr(i_xt)
    layers = i_xt.shape[2]
    rng = np.random.default_rng(0)
    reps = reps or {f"rep_{k + 1}": rng.normal(size=(members, n_inputs, 3))
                    for k in range(layers)}
    arrays = {"i_xt": i_xt, "silhouette": arr(silhouette), "log2_clusters": arr(clusters),
              "test_acc": np.full((members, i_xt.shape[1]), acc), "h_bin": i_xt,
              "subset": np.arange(n_inputs), **reps}
    return Result("noisy_networks", {"beta": beta, "cluster_scale": 3.0,
                                     "orthonormal": orthonormal, "widths": [12, 3, 2],
                                     "activation": activation, "binning": "auto",
                                     "n_bins": 30}, arrays)


RISE_FALL = [1, 2, 2.5, 2.4, 2.0, 1.5]          # 8 inputs: cap 3 bits, start far below


def test_clustering_claims_pass_and_fail():
    good = fake(RISE_FALL, [0, 0, 0, 0.2, 0.4, 0.6], RISE_FALL, 0.9, members=5)
    det = fake(RISE_FALL, [0] * 6, RISE_FALL, 0.91, beta=0.0, members=5,
               reps={"rep_1": good["rep_1"] * 2.0 + 1.0})     # same representation, rescaled
    rows = nw.clustering_claims({"tanh": good}, {"tanh": det})
    assert [r.verdict for r in rows] == ["supported"] * 6
    assert rows[0].value == pytest.approx(1 - 1.5 / 2.5)
    assert rows[4].value == pytest.approx(1.0)                   # CKA of a rescaled copy
    unrelated = fake(RISE_FALL, [0, 0, 0, 0.6, 0.4, 0.2], -np.array(RISE_FALL), 0.7,
                     members=5, reps={"rep_1": np.random.default_rng(5).normal(size=(5, 8, 3))})
    rows = nw.clustering_claims({"tanh": unrelated}, {"tanh": det})
    assert [r.verdict for r in rows[1:4]] == ["not supported"] * 3
    assert rows[4].value < 0.9       # independent random representations


def test_a_layer_that_starts_at_the_cap_is_not_testable_for_compression():
    # 8 inputs: cap log2 8 = 3 bits. Layer 1 starts at the cap and falls by a third;
    # layer 2 peaks at the start; neither can be tested, so the row is not testable
    curves = np.stack([[3.0, 3.0, 2.5, 2.0], [2.0, 1.8, 1.5, 1.0]], axis=1)
    r = fake(curves, np.zeros((4, 2)), curves, 0.9, members=2)
    fall, ok = nw.falls(r["i_xt"], nw.cap(r))
    assert nw.cap(r) == 3.0
    assert fall == pytest.approx([1 / 3, 0.5]) and not ok.any()
    assert np.isnan(nw.largest_fall(r["i_xt"], 3.0))
    row = nw.compression_claim(r, "tanh", "source")
    assert row.verdict == "not testable"
    # just below the cap's 1% tolerance, the same layer is testable
    curves[0, 0] = 2.9
    curves[1, 0] = 2.95
    r = fake(curves, np.zeros((4, 2)), curves, 0.9, members=2)
    assert nw.falls(r["i_xt"], 3.0)[1].tolist() == [True, False]
    assert nw.largest_fall(r["i_xt"], 3.0) == pytest.approx(1 - 2.0 / 2.95)
    assert [row["why"] for row in nw.layer_summary(r)] == ["", "peak at start"]


def test_cap_is_log2_of_the_inputs():
    assert nw.cap(fake(RISE_FALL, [0] * 6, RISE_FALL, 0.9, n_inputs=512)) == 9.0
    det = fake(RISE_FALL, [0] * 6, RISE_FALL, 0.9, beta=0.0)
    assert det.config["widths"][0] == 12 and nw.cap(det) == 12.0


def test_constraint_claims_pass_and_fail():
    free = fake([1, 2.5, 1.5], [0, 0.3, 0.6], [1, 2, 3], 0.9, members=5)
    limited = fake([1, 2.5, 2.45], [0, 0.1, 0.2], [1, 2, 3], 0.88, orthonormal=0.001,
                   members=5)
    rows = nw.constraint_claims(free, limited)
    assert [r.verdict for r in rows] == ["supported"] * 4
    assert rows[1].value == pytest.approx(0.02 - 0.4)
    worse = fake([1, 2.5, 1.0], [0, 0.5, 0.9], [1, 2, 3], 0.5, orthonormal=0.001, members=5)
    assert [r.verdict for r in nw.constraint_claims(free, worse)] == ["not supported"] * 4


def test_linear_cka_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert nw.linear_cka(a, 3.0 * a @ rot + 5.0) == pytest.approx(1.0)
    # A = the four points above (centred, A^T A = 2 I); B = their first coordinate only:
    # |A^T B|² = 4, |A^T A| = sqrt(8), |B^T B| = 2 -> CKA = 4 / (2 sqrt(8)) = 1 / sqrt(2)
    assert nw.linear_cka(a, a[:, :1]) == pytest.approx(1 / math.sqrt(2))
    assert np.isnan(nw.linear_cka(a, np.ones((4, 2))))
    batch = nw.linear_cka(np.stack([a, a]), np.stack([a, a[:, ::-1] * [1, 0]]))
    assert batch == pytest.approx([1.0, 1 / math.sqrt(2)])


def test_twin_and_seed_cka():
    rng = np.random.default_rng(1)
    reps = {"rep_1": rng.normal(size=(3, 8, 4))}
    r = fake(RISE_FALL, [0] * 6, RISE_FALL, 0.9, members=3, reps=reps)
    assert nw.twin_cka(r, r) == pytest.approx(np.ones((3, 1)))
    same = fake(RISE_FALL, [0] * 6, RISE_FALL, 0.9, members=3,
                reps={"rep_1": np.repeat(reps["rep_1"][:1], 3, axis=0)})
    assert nw.seed_cka(same) == pytest.approx([1.0])
    assert nw.seed_cka(r)[0] < 0.9
    other = fake(RISE_FALL, [0] * 6, RISE_FALL, 0.9, members=3, reps=reps, n_inputs=8)
    other.arrays["subset"] = np.arange(1, 9)
    with pytest.raises(ValueError, match="subset"):
        nw.twin_cka(r, other)


def test_spearman_with_ties_by_hand():
    assert nw.average_ranks(np.array([3.0, 1, 3, 2])).tolist() == [3.5, 1.0, 3.5, 2.0]
    # ranks (1, 2, 3, 4) against (1.5, 1.5, 3, 4): Pearson of the ranks
    a, b = np.array([1.0, 2, 3, 4]), np.array([5.0, 5, 6, 7])
    ra, rb = np.array([1, 2, 3, 4]) - 2.5, np.array([1.5, 1.5, 3, 4]) - 2.5
    assert nw.spearman(a, b) == pytest.approx(ra @ rb / math.sqrt((ra @ ra) * (rb @ rb)))
    assert nw.spearman(a, -a) == pytest.approx(-1.0)


def test_unbounded_activations_refuse_fixed_bins_and_get_range_bins(deterministic):
    with pytest.raises(ValueError, match="binning"):
        nw.Config(activation="relu", beta=0.0, binning="fixed")
    assert nw.Config(activation="relu", beta=0.0).bins == "range"
    assert nw.Config(activation="tanh", beta=0.0).bins == "fixed"
    relu = nw.run(replace(SMALL, beta=0.0, activation="relu"), progress=False,
                  use_cache=False)
    assert "not bounded" in relu.meta["binning"]
    assert np.abs(relu["i_xt"] - relu["h_bin"]).max() < 1e-9
    assert relu["rep_5"].shape == (2, 32, 3)
    assert deterministic.meta["binning"].startswith("30 fixed edges")


def test_median_of_finite_values_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nw.median(np.array([np.nan, 1.0, 3.0])) == 2.0
        assert np.isnan(nw.median(np.array([np.nan, np.nan])))
