import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from analysis.info.gaussian import (gaussian_entropy, gaussian_mi, linear_channel_mi,
                                   linear_gaussian_mi)
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


def test_gaussian_mi_of_a_correlated_pair():
    rho = 0.8
    cov = np.array([[1.0, rho], [rho, 1.0]])
    assert gaussian_mi(cov, [0], [1]) == pytest.approx(-0.5 * math.log2(1 - rho**2))
    with pytest.raises(ValueError, match="disjoint"):
        gaussian_mi(cov, [0], [0, 1])


def test_linear_channel_mi_agrees_with_the_closed_form_and_the_chain_rule():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(2, 3))
    whole = linear_channel_mi(w, COV, 0.3, inputs=np.arange(3))
    assert whole == pytest.approx(linear_gaussian_mi(w, COV, 0.3))
    # chain rule: I(X;T) = I(X_0;T) + I(X_12;T | X_0) >= I(X_0;T), and with
    # independent inputs the information about one part is that of a channel with more noise
    part = linear_channel_mi(w, np.eye(3), 0.3, inputs=[0])
    noise_from_rest = w[:, 1:] @ w[:, 1:].T + 0.3 * np.eye(2)
    w0 = w[:, :1]
    expected = 0.5 * math.log2(np.linalg.det(np.eye(2) + w0 @ w0.T @ np.linalg.inv(noise_from_rest)))
    assert part == pytest.approx(expected)
    assert part < linear_channel_mi(w, np.eye(3), 0.3, inputs=[0, 1, 2])


def test_linear_channel_mi_with_a_teacher_in_one_dimension():
    # T = w X + Z, Y = a X + E: I(T;Y) = -1/2 log2(1 - corr(T, Y)^2)
    w, a, sx, sz, se = 1.5, 0.7, 2.0, 0.4, 0.9
    corr2 = (w * a * sx) ** 2 / ((w * w * sx + sz) * (a * a * sx + se))
    got = linear_channel_mi([[w]], [[sx]], sz, readout=[[a]], readout_noise=se)
    assert got == pytest.approx(-0.5 * math.log2(1 - corr2))


@pytest.mark.parametrize("kwargs, match", [
    (dict(noise_var=0.0, inputs=[0]), "noise_var"),
    (dict(noise_var=1.0), "exactly one"),
    (dict(noise_var=1.0, inputs=[0], readout=[[1.0, 0.0, 0.0]]), "exactly one"),
    (dict(noise_var=1.0, readout=[[1.0, 0.0, 0.0]]), "readout_noise"),
])
def test_linear_channel_mi_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        linear_channel_mi(np.ones((2, 3)), COV, **kwargs)
