import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from analysis.info.gaussian import gaussian_entropy, linear_gaussian_mi
from analysis.info.knn import knn_entropy

COV = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, -0.4], [0.0, -0.4, 0.5]])


def test_gaussian_entropy_matches_scipy():
    assert gaussian_entropy(COV) == pytest.approx(multivariate_normal(cov=COV).entropy() / math.log(2))
    with pytest.raises(ValueError):
        gaussian_entropy(np.zeros((2, 2)))


def test_linear_channel_closed_form_in_one_dimension():
    assert linear_gaussian_mi([[2.0]], [[1.5]], 0.5) == pytest.approx(0.5 * math.log2(1 + 4 * 1.5 / 0.5))


def test_linear_channel_against_monte_carlo():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 3))
    noise = 0.3
    n = 200_000
    x = rng.multivariate_normal(np.zeros(3), COV, size=n)
    t = x @ w.T + rng.normal(scale=math.sqrt(noise), size=(n, 2))
    cov_t = w @ COV @ w.T + noise * np.eye(2)
    log_p_t_given_x = multivariate_normal(cov=noise * np.eye(2)).logpdf(t - x @ w.T)
    log_p_t = multivariate_normal(cov=cov_t).logpdf(t)
    monte_carlo = np.mean(log_p_t_given_x - log_p_t) / math.log(2)
    assert linear_gaussian_mi(w, COV, noise) == pytest.approx(monte_carlo, abs=0.01)
    with pytest.raises(ValueError):
        linear_gaussian_mi(w, COV, 0.0)


@pytest.mark.parametrize("d", [1, 3])
def test_knn_entropy_of_gaussians(d):
    rng = np.random.default_rng(d)
    cov = COV[:d, :d]
    samples = rng.multivariate_normal(np.zeros(d), cov, size=20_000)
    assert knn_entropy(samples, k=2) == pytest.approx(gaussian_entropy(cov), abs=0.05)


def test_knn_entropy_of_uniform_cube():
    samples = np.random.default_rng(5).uniform(0, 2, size=(20_000, 2))
    assert knn_entropy(samples, k=3) == pytest.approx(2.0, abs=0.05)  # log2(area 4)


def test_knn_refuses_duplicates_and_bad_k():
    with pytest.raises(ValueError, match="duplicate"):
        knn_entropy(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="k must"):
        knn_entropy(np.random.default_rng(0).normal(size=(5, 1)), k=5)
