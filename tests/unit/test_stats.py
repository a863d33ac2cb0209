"""The verdict statistics against hand-computed cases."""
import numpy as np
import pytest
from scipy.stats import norm

from analysis.claims import (INCONCLUSIVE, NOT_SUPPORTED, NOT_TESTABLE, SUPPORTED, Claim,
                             show_verdicts)
from analysis.stats import (COMPRESSION, MIN_UNITS, best_spearman, bootstrap, largest_fall,
                            layer_fall, relative_fall)


def curves(*layers):
    """(members=1, records, layers) from per-layer lists."""
    return np.array(layers, dtype=float).T[None]


def test_relative_fall_is_measured_from_a_peak_after_the_start():
    i_xt = curves([2, 6, 8, 6], [12, 12, 12, 12], [9, 8, 7, 6])
    f = relative_fall(i_xt)
    assert np.allclose(f.fall, [0.25, 0.0, 1 / 3])
    assert f.peak.tolist() == [2, 0, 0]
    assert f.at_start.tolist() == [False, True, True]   # a ceiling, a pure decline
    assert largest_fall(i_xt) == pytest.approx(0.25)     # only the layer that fitted first
    assert np.isnan(largest_fall(curves([5, 4, 3])))


def test_a_flat_ceiling_has_its_peak_at_the_start_despite_rounding_noise():
    i_xt = curves([12.0, 12.0 + 1e-12, 12.0, 11.0])
    assert relative_fall(i_xt).peak[0] == 0


def test_bootstrap_interval_of_a_mean_matches_the_normal_theory():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=400)
    low, high = bootstrap(np.mean, x, n_boot=2000, seed=0)
    se = x.std(ddof=1) / np.sqrt(len(x))
    assert low == pytest.approx(x.mean() - norm.ppf(0.975) * se, abs=0.15 * se * 2)
    assert high == pytest.approx(x.mean() + norm.ppf(0.975) * se, abs=0.15 * se * 2)
    assert bootstrap(np.mean, x, n_boot=200, seed=5) == bootstrap(np.mean, x, n_boot=200, seed=5)


def test_bootstrap_pairs_arrays_member_by_member_and_needs_two_members():
    a = np.arange(10.0)
    low, high = bootstrap(lambda u, v: float(np.mean(u - v)), a, a.copy())
    assert low == high == 0.0                     # resampled together: the difference is 0
    assert np.isnan(bootstrap(np.mean, np.ones(1))[0])


def test_below_min_units_the_percentile_interval_would_be_the_range():
    # why the rule exists: with 3 units, "all three resamples are the smallest" has
    # probability 1/27 > 2.5%, so the 95% percentile interval is exactly (min, max)
    x = np.array([0.01, 0.04, 0.09])
    rng = np.random.default_rng(0)
    means = x[rng.integers(0, 3, (20000, 3))].mean(axis=1)
    assert np.quantile(means, [0.025, 0.975]) == pytest.approx([0.01, 0.09], abs=1e-12)
    low, high = bootstrap(np.mean, x)
    assert np.isnan(low) and np.isnan(high)
    assert MIN_UNITS == 5
    low, high = bootstrap(np.mean, np.array([0.01, 0.04, 0.09, 0.05, 0.06]))
    assert 0.01 < low < high < 0.09                 # from 5 units on: inside the range
    with pytest.raises(ValueError, match="first"):
        bootstrap(lambda u, v: 0.0, np.ones(3), np.ones(4))


def test_bootstrap_of_the_compression_of_a_layer():
    members = np.stack([curves([2, 8, 8 - k])[0] for k in (1.0, 2.0, 3.0, 4.0, 5.0)])
    low, high = bootstrap(lambda x: layer_fall(x, 0), members)
    assert layer_fall(members, 0) == pytest.approx(3 / 8)
    assert 1 / 8 < low < 3 / 8 < high < 5 / 8


def test_the_best_spearman_that_ties_allow():
    # four of five layers at a grid cap: the best possible correlation is -0.707
    assert best_spearman([1, 2, 3, 4, 5], [2000, 2000, 2000, 2000, 10]) == pytest.approx(
        -0.7071, abs=1e-4)
    assert best_spearman([1, 2, 3], [1, 2, 3], negative=False) == pytest.approx(1.0)
    assert np.isnan(best_spearman([1, 2, 3], [5, 5, 5]))


@pytest.mark.parametrize("value, interval, verdict", [
    (0.10, (0.07, 0.12), SUPPORTED),
    (0.02, (0.01, 0.04), NOT_SUPPORTED),
    (0.06, (0.03, 0.09), INCONCLUSIVE),
    (0.06, None, SUPPORTED),
    (float("nan"), None, NOT_TESTABLE),
    (0.50, (float("nan"), float("nan")), INCONCLUSIVE),   # no interval: too few units
    (0.01, (float("nan"), float("nan")), INCONCLUSIVE),
])
def test_four_verdicts(value, interval, verdict):
    c = Claim.test("P 2017", "s", "t", value, ">=", COMPRESSION, interval=interval,
                   over="bootstrap over 5 seeds")
    assert c.verdict == verdict


def test_a_row_without_its_interval_says_why():
    c = Claim.test("P", "s", "t", 0.5, ">=", COMPRESSION, interval=bootstrap(np.mean, np.ones(3)),
                   over="bootstrap over 3 seeds")
    assert c.verdict == INCONCLUSIVE
    assert c.interval == f"bootstrap over 3 seeds; no 95% interval (it needs {MIN_UNITS} units or more)"


def test_verdicts_are_decided_on_unrounded_values():
    c = Claim.test("P", "s", "t", 0.0496, ">=", 0.05)      # prints as 0.05 but misses
    assert c.verdict == NOT_SUPPORTED and c.shown_value() == "0.05"


def test_not_testable_carries_its_reason_into_the_table():
    c = Claim.test("P", "s", "t", 0.9, ">=", 0.1, untestable="ceiling at epoch 0")
    table = show_verdicts([c])
    assert c.verdict == NOT_TESTABLE and "not testable: ceiling at epoch 0" in repr(table)
    assert 'verdict-not-testable' in table._repr_html_()
    row = table._repr_json_()["verdicts"][0]
    assert row["verdict"] == NOT_TESTABLE and row["reason"] == "ceiling at epoch 0"


def test_shown_value_has_the_interval_and_json_is_rounded():
    c = Claim.test("P", "s", "t", 0.123456789, ">", 0, interval=(0.1000001, 0.15), over="x")
    assert c.shown_value() == "0.12 [0.10, 0.15]"
    assert show_verdicts([c])._repr_json_()["verdicts"][0]["value"] == 0.12346
    with pytest.raises(ValueError, match="comparison"):
        Claim.test("P", "s", "t", 1.0, "=", 1.0)
