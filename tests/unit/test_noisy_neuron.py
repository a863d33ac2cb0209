"""Chapter 11: the noisy single neuron and the SP validation helpers, against closed forms."""
import math

import numpy as np
import pytest

from analysis.experiments import noisy_neuron as nn
from analysis.info.kde import gaussian_noise_entropy
from analysis.info.sp import mixture_entropy_quadrature


def test_quadrature_of_one_gaussian_and_of_separated_components():
    assert mixture_entropy_quadrature([0.3], 0.2) == pytest.approx(
        gaussian_noise_entropy(1, 0.04), abs=1e-9)
    assert mixture_entropy_quadrature([0.0, 5.0, 10.0, 15.0], 0.1) == pytest.approx(
        2.0 + gaussian_noise_entropy(1, 0.01), abs=1e-9)


def test_quadrature_weights_repeated_centres():
    # centres 0, 0, 0, 10: weights 3/4 and 1/4 -> H = h(Z) + H(3/4, 1/4)
    h_bern = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert mixture_entropy_quadrature([0.0, 0.0, 0.0, 10.0], 0.1) == pytest.approx(
        gaussian_noise_entropy(1, 0.01) + h_bern, abs=1e-9)


def test_quadrature_rejects_bad_input():
    with pytest.raises(ValueError, match="beta"):
        mixture_entropy_quadrature([0.0], 0.0)
    with pytest.raises(ValueError, match="centre"):
        mixture_entropy_quadrature([], 0.1)


def test_neuron_curve_limits():
    # w -> 0: all four centres at 0, nothing to resolve; w = 100: two clusters at +-1;
    # beta tiny and w = 0.5: four centres far apart at the noise scale -> 2 bits
    curve = nn.exact_curve([1e-6, 0.5, 100.0], beta=1e-3)
    assert curve == pytest.approx([0.0, 2.0, 1.0], abs=1e-3)


def test_sp_curve_matches_quadrature():
    weights = np.logspace(-1, 1, 7)
    exact = nn.exact_curve(weights, 0.1)
    assert np.abs(nn.sp_curve(weights, 0.1, n_mc=4000) - exact).max() < 0.05


def test_sp_curve_reproducible():
    a = nn.sp_curve([0.5, 2.0], 0.05, n_mc=100, seed=3)
    assert np.array_equal(a, nn.sp_curve([0.5, 2.0], 0.05, n_mc=100, seed=3))


def test_mc_error_shrinks_with_draws():
    rms = nn.rms(nn.mc_errors(1.0, 0.1, [2, 200], repeats=10))
    assert rms[1] < rms[0] / 3          # 1/sqrt(100) predicts a factor 10


def test_comparison_on_separated_rows_gives_log_n():
    angle = 2 * np.pi * np.arange(8) / 8
    s = 10.0 * np.stack([np.cos(angle), np.sin(angle)], 1)   # 8 rows at least 7.6 apart
    out = nn.estimator_comparison(s, [0.05], n_mc=4000, knn_draws=200)
    # SP's Monte Carlo error here: sqrt(d/2) / ln 2 / sqrt(8 * 4000) = 0.008 bits
    assert out["sp"][0] == pytest.approx(3.0, abs=0.05)
    for key in ("kde_upper", "kde_lower"):
        assert out[key][0] == pytest.approx(3.0, abs=1e-6), key
    assert out["knn"][0] == pytest.approx(3.0, abs=0.1)


def test_random_layer_has_distinct_bounded_rows():
    s = nn.random_tanh_layer(64, width=3, seed=1)
    assert s.shape == (64, 3) and np.all(np.abs(s) < 1)
    assert len(np.unique(s.round(12), axis=0)) == 64


def signed(scale, repeats=20, seed=0):
    """Errors of magnitude ``scale`` (per column) with random signs: their RMS is ``scale``."""
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(repeats, len(scale)))
    return signs * np.asarray(scale, dtype=float)


def test_validation_claims_detect_wrong_slopes():
    n_mcs, sizes = [1, 4, 16, 64], [16, 64, 256, 1024]
    good = nn.validation_claims(n_mcs, signed(0.3 / np.sqrt(n_mcs)), sizes,
                                {1: signed(2.0 / np.asarray(sizes, float))}, 0.1)
    assert good[0].value == pytest.approx(0.0, abs=1e-12) and good[0].passes
    assert good[1].value == pytest.approx(-1.0) and good[1].passes
    assert good[1].bound == pytest.approx(round(nn.bound_slope(sizes, 1), 2))
    flat = nn.validation_claims(n_mcs, signed(np.full(4, 0.3)), sizes,
                                {3: signed(np.full(4, 0.1))}, 0.1)
    assert flat[0].value == pytest.approx(0.5) and flat[0].verdict == "not supported"
    assert flat[1].value == pytest.approx(0.0, abs=1e-12)
    assert flat[1].verdict == "not supported"


def test_curve_claims_fail_when_the_curve_does_not_fall():
    weights = np.array([0.1, 1.0, 10.0])
    rising = {0.1: np.array([0.5, 1.9, 2.0])}
    rows = nn.curve_claims(weights, rising)
    assert [r.verdict for r in rows] == ["supported", "not supported", "not supported"]
    falling = {0.1: np.array([0.5, 2.0, 1.02])}
    rows = nn.curve_claims(weights, falling)
    assert [r.verdict for r in rows] == ["supported"] * 3
    assert rows[1].value == pytest.approx(0.49)
    # a curve highest at the smallest weight has no rise to compress after
    rows = nn.curve_claims(weights, {0.1: np.array([2.0, 1.5, 1.0])})
    assert rows[1].verdict == "not testable"


def test_mc_errors_are_unbiased_and_shrink_as_one_over_root_n_mc():
    err = nn.mc_errors(1.0, 0.1, [1, 100], repeats=2000)
    assert err.shape == (2000, 2)
    # SP is unbiased for the entropy of the given mixture: the mean error is within four
    # standard errors of 0
    for j in range(2):
        assert abs(err[:, j].mean()) < 4 * err[:, j].std() / np.sqrt(2000)
    ratio = nn.rms(err)[0] / nn.rms(err)[1]
    assert ratio == pytest.approx(10.0, rel=0.15)     # sqrt(100 / 1)


def test_log_slope_and_the_bound_slope_by_hand():
    assert nn.log_slope([1, 4, 16], 3.0 / np.sqrt([1, 4, 16])) == pytest.approx(-0.5)
    # d = 4: log((ln n) / sqrt(n)) at ln n = 2 and 4 is ln 2 - 1 and ln 4 - 2, two units
    # of ln n apart: slope (ln 2 - 1) / 2
    sizes = [math.exp(2.0), math.exp(4.0)]
    assert nn.bound_slope(sizes, 4) == pytest.approx((math.log(2) - 1) / 2)


def test_uniform_smoothed_entropy_limits():
    # small noise: the entropy of U[-1, 1] (1 bit) plus a vanishing correction
    assert nn.uniform_smoothed_entropy(1e-4) == pytest.approx(1.0, abs=1e-3)
    # large noise: nearly Gaussian with variance beta² + 1/3, and never above it
    big = nn.uniform_smoothed_entropy(5.0)
    gauss = gaussian_noise_entropy(1, 25.0 + 1.0 / 3.0)
    assert big <= gauss and big == pytest.approx(gauss, abs=1e-3)
    with pytest.raises(ValueError, match="beta"):
        nn.uniform_smoothed_entropy(0.0)


def test_sample_size_errors_shrink_and_vanish_under_wide_noise():
    err = nn.sample_size_errors(2, 0.1, [16, 256], repeats=8, n_mc=10)
    assert err.shape == (8, 2)
    assert nn.rms(err)[1] < nn.rms(err)[0] / 4
    # noise far wider than the cube: every sample gives nearly the same mixture
    wide = nn.sample_size_errors(1, 3.0, [64], repeats=8, n_mc=200)
    assert nn.rms(wide)[0] < 0.01


def test_sp_lies_between_the_kde_bounds_on_a_tanh_layer():
    # The KL and Bhattacharyya bounds bracket the entropy of the same Gaussian mixture
    # (Kolchinsky & Tracey 2017); SP estimates that entropy with Monte Carlo error at most
    # sqrt(d / 2) / ln 2 / sqrt(n n_mc) = 0.01 bits here: a check of our code, not a claim.
    layer = nn.random_tanh_layer(128, width=3, seed=2)
    out = nn.estimator_comparison(layer, np.logspace(-3, 0, 6), n_mc=200, knn_draws=2)
    assert np.all(out["kde_lower"] <= out["kde_upper"] + 1e-12)
    assert np.all(out["sp"] >= out["kde_lower"] - 0.05)
    assert np.all(out["sp"] <= out["kde_upper"] + 0.05)
