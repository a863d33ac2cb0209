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
    rms = nn.mc_error_curve(1.0, 0.1, [2, 200], repeats=10)
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


def test_validation_claims_detect_a_wrong_slope():
    n_mcs = [1, 4, 16, 64]
    comparison = {"sp": np.array([1.0]), "kde_lower": np.array([0.9]),
                  "kde_upper": np.array([1.1])}
    good = nn.validation_claims(n_mcs, 0.3 / np.sqrt(n_mcs), comparison)
    flat = nn.validation_claims(n_mcs, np.full(4, 0.3), comparison)
    assert good[0].value == pytest.approx(-0.5) and good[0].passes
    assert not flat[0].passes
    outside = dict(comparison, sp=np.array([1.5]))
    assert not nn.validation_claims(n_mcs, 0.3 / np.sqrt(n_mcs), outside)[1].passes


def test_curve_claims_fail_when_the_curve_does_not_fall():
    weights = np.array([0.1, 1.0, 10.0])
    rising = {0.1: np.array([0.5, 1.9, 2.0])}
    rows = nn.curve_claims(weights, rising, rising)
    assert rows[0].passes and not rows[1].passes and rows[2].passes
