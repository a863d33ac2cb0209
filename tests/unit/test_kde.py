"""KDE pairwise-distance bounds against mixtures whose entropy is known."""
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.stats import norm

from analysis.info.kde import (_square_chains, gaussian_noise_entropy, kde_mutual_information,
                               kde_mutual_information_many,
                               mixture_entropy_bd, mixture_entropy_kl)


def exact_mixture_entropy_1d(centres, var):
    """Entropy (bits) of an equal-weight 1-D Gaussian mixture by quadrature."""
    sd = math.sqrt(var)

    def density(x):
        return np.mean(norm.pdf(x, centres, sd))

    def integrand(x):
        p = density(x)
        return -p * math.log2(p) if p > 0 else 0.0

    lo, hi = min(centres) - 12 * sd, max(centres) + 12 * sd
    points = sorted(centres) if len(centres) < 50 else None
    return quad(integrand, lo, hi, points=points, limit=500)[0]


def test_noise_entropy_closed_form():
    assert gaussian_noise_entropy(1, 1.0) == pytest.approx(0.5 * math.log2(2 * math.pi * math.e))
    assert gaussian_noise_entropy(3, 0.1) == pytest.approx(3 * gaussian_noise_entropy(1, 0.1))


def test_identical_centres_carry_nothing():
    t = np.zeros((50, 3))
    res = kde_mutual_information(t, 0.1)
    assert res["i_xt_upper"] == pytest.approx(0.0, abs=1e-9)
    assert res["i_xt_lower"] == pytest.approx(0.0, abs=1e-9)
    assert mixture_entropy_kl(t, 0.1) == pytest.approx(gaussian_noise_entropy(3, 0.1))


def test_well_separated_centres_give_log_n():
    t = np.arange(16, dtype=float)[:, None] * 100.0
    res = kde_mutual_information(t, 0.1)
    assert res["i_xt_upper"] == pytest.approx(4.0, abs=1e-6)
    assert res["i_xt_lower"] == pytest.approx(4.0, abs=1e-6)


@pytest.mark.parametrize("spread", [0.3, 1.0, 3.0])
def test_bounds_bracket_the_exact_entropy_in_one_dimension(spread):
    rng = np.random.default_rng(0)
    centres = rng.normal(0, spread, 12)
    var = 0.5
    exact = exact_mixture_entropy_1d(centres, var) - gaussian_noise_entropy(1, var)
    res = kde_mutual_information(centres[:, None], var)
    assert -1e-9 <= res["i_xt_lower"] <= exact + 1e-6
    assert exact - 1e-6 <= res["i_xt_upper"] <= math.log2(12) + 1e-9


def test_label_information_of_separated_pure_classes():
    t = np.r_[np.zeros(20), np.full(20, 50.0)][:, None] + np.linspace(0, 0.01, 40)[:, None]
    labels = np.r_[np.zeros(20), np.ones(20)]
    res = kde_mutual_information(t, 0.1, labels)
    assert res["i_ty_upper"] == pytest.approx(1.0, abs=1e-6)
    assert res["i_ty_lower"] == pytest.approx(1.0, abs=1e-6)
    mixed = kde_mutual_information(t, 0.1, np.arange(40) % 2)
    assert abs(mixed["i_ty_upper"]) < 0.05


def test_chunking_does_not_change_the_value():
    t = np.random.default_rng(1).normal(size=(300, 4))
    assert mixture_entropy_kl(t, 0.2, chunk=7) == pytest.approx(mixture_entropy_kl(t, 0.2))
    assert mixture_entropy_bd(t, 0.2, chunk=64) == pytest.approx(mixture_entropy_bd(t, 0.2))


def test_bad_input():
    with pytest.raises(ValueError, match="variance"):
        mixture_entropy_kl(np.zeros((3, 1)), 0.0)
    with pytest.raises(ValueError, match="one label per sample"):
        kde_mutual_information(np.zeros((3, 1)), 0.1, labels=np.zeros(2))


def test_several_variances_in_one_pass_match_one_at_a_time():
    rng = np.random.default_rng(2)
    t = rng.normal(size=(200, 3))
    labels = rng.integers(0, 3, 200)
    many = kde_mutual_information_many(t, [0.05, 0.5], labels, chunk=33)
    for var, row in zip([0.05, 0.5], many):
        one = kde_mutual_information(t, var, labels)
        assert row == pytest.approx(one, abs=1e-9)
        assert row["i_xt_lower"] <= row["i_xt_upper"]
    # the class conditional part: H(T|Y) by the KL bound, class by class
    h_cond = sum(np.mean(labels == c) * mixture_entropy_kl(t[labels == c], 0.05) for c in range(3))
    assert many[0]["i_ty_upper"] == pytest.approx(mixture_entropy_kl(t, 0.05) - h_cond, abs=1e-9)
    with pytest.raises(ValueError, match="variances"):
        kde_mutual_information_many(t, [], labels)


def direct_mean_log_density(t, var, members=None):
    """(1/n) sum_i log((1/n) sum_j N(t_i; t_j, var I)) over ``members`` (all by default),
    from exact coordinate differences and a log-sum-exp: no matrix product, no clamp."""
    t = torch.as_tensor(t, dtype=torch.float64)
    if members is not None:
        t = t[torch.as_tensor(members)]
    n, d = t.shape
    sq = ((t[:, None, :] - t[None, :, :]) ** 2).sum(-1)
    log_g = torch.logsumexp(-sq / (2 * var), dim=1) - math.log(n)
    return float(log_g.mean()) - 0.5 * d * math.log(2 * math.pi * var)


def direct_kde(t, var, labels):
    """The four KDE values of Kolchinsky & Tracey / Saxe et al. from the direct sums (bits)."""
    d = t.shape[1]
    classes, counts = np.unique(labels, return_counts=True)
    weights = counts / len(labels)

    def h(v, members=None):
        return (0.5 * d - direct_mean_log_density(t, v, members)) / math.log(2)

    def h_cond(v):
        return sum(w * h(v, np.flatnonzero(labels == c)) for c, w in zip(classes, weights))

    shift = 0.5 * d * math.log2(0.25)
    noise = gaussian_noise_entropy(d, var)
    return {"i_xt_upper": h(var) - noise, "i_xt_lower": h(4 * var) + shift - noise,
            "i_ty_upper": h(var) - h_cond(var), "i_ty_lower": h(4 * var) - h_cond(4 * var)}


@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_blocked_symmetric_sums_match_the_direct_computation(chunk):
    # clusters of different tightness, classes of unequal size, the data far from the
    # origin (the distances come from a matrix product: centring keeps them accurate),
    # variances whose kernels are powers of one another and one that is not
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 1, (6, 4))
    t = 50.0 + centres[rng.integers(0, 6, 333)] + rng.normal(0, 0.05, (333, 4))
    labels = rng.choice([2, 5, 9], 333, p=[0.6, 0.3, 0.1])
    variances = [0.1, 0.025, 1e-3, 0.3]
    many = kde_mutual_information_many(t, variances, labels, chunk=chunk)
    for var, row in zip(variances, many):
        assert row == pytest.approx(direct_kde(t, var, labels), abs=1e-9)


def test_underflowing_kernels_leave_log_n():
    # 64 points a unit apart at variance 1e-4: every kernel between distinct points is
    # e^-5000 (clamped at e^-60 without changing the sums); I(X;T) = log2 64
    t = np.arange(64.0)[:, None] * np.ones((1, 2))
    res = kde_mutual_information(t, 1e-4, np.arange(64) % 2)
    for key in ("i_xt_upper", "i_xt_lower"):
        assert res[key] == pytest.approx(6.0, abs=1e-12)
    assert res["i_ty_upper"] == pytest.approx(1.0, abs=1e-12)


def test_variances_a_quarter_apart_form_chains():
    assert _square_chains([0.1, 0.4, 1e-3, 4e-3, 0.025]) == [[1, 0, 4], [3, 2]]
    assert _square_chains([0.3, 0.2]) == [[0], [1]]
