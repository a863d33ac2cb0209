"""The IB solver against curves known in closed form."""
import numpy as np
import pytest
from scipy.optimize import brentq

from analysis.data import spherical_rule
from analysis.info import entropy_bits
from analysis.info.ib import ib_curve, iterate_ib, layer_beta, merge_equal_conditionals

BETAS = np.geomspace(0.1, 200, 120)


def h2(p):
    return float(entropy_bits(np.array([p, 1 - p])))


def test_deterministic_label_curve_is_min_of_ixt_and_hy():
    p_x = np.full(8, 1 / 8)
    pyx = np.eye(2)[np.arange(8) % 2]
    curve = ib_curve(p_x, pyx, BETAS)
    assert np.allclose(curve.i_ty, np.minimum(curve.i_xt, 1.0), atol=1e-6)
    assert curve.i_ty.max() == pytest.approx(1.0, abs=1e-6) and curve.i_xy == pytest.approx(1.0)
    assert curve.value_at(0.5) == pytest.approx(0.5, abs=1e-6)
    assert curve.value_at(3.0) == pytest.approx(1.0)


def test_binary_symmetric_channel_follows_mrs_gerbers_lemma():
    eps = 0.1
    pyx = np.array([[1 - eps, eps], [eps, 1 - eps]])
    curve = ib_curve(np.array([0.5, 0.5]), pyx, BETAS)
    inside = (curve.i_xt > 0.02) & (curve.i_xt < 0.98)
    assert inside.sum() >= 10  # the sweep traces the curve, not just its ends
    for ixt, ity in zip(curve.i_xt[inside], curve.i_ty[inside]):
        delta = brentq(lambda d: h2(d) - (1 - ixt), 1e-12, 0.5)
        conv = delta * (1 - eps) + eps * (1 - delta)
        assert ity == pytest.approx(1 - h2(conv), abs=1e-4)
    assert curve.i_ty.max() == pytest.approx(1 - h2(eps), abs=1e-6)


def test_fixed_point_satisfies_self_consistent_equations():
    rng = np.random.default_rng(0)
    p_x = rng.dirichlet(np.ones(6))
    pyx = rng.dirichlet(np.ones(3), size=6)
    enc = iterate_ib(p_x, pyx, 3.0, rng.dirichlet(np.ones(4), size=6))
    p_t = p_x @ enc
    p_y_t = (enc * p_x[:, None]).T @ pyx / p_t[:, None]
    kl = np.array([[np.sum(pyx[i] * np.log(pyx[i] / p_y_t[t])) for t in range(4)] for i in range(6)])
    expected = p_t * np.exp(-3.0 * kl)
    assert np.allclose(enc, expected / expected.sum(1, keepdims=True), atol=1e-8)


def test_merging_keeps_the_label_information():
    task = spherical_rule()
    p_x = np.full(task.n_samples, 1 / task.n_samples)
    p_z, p_y_z, z_of_x = merge_equal_conditionals(p_x, task.p_y_given_x)
    assert len(p_z) < 20 and np.allclose(p_y_z[z_of_x], task.p_y_given_x)


def test_every_deterministic_partition_lies_below_the_curve():
    task = spherical_rule()
    n = task.n_samples
    p_x = np.full(n, 1 / n)
    curve = ib_curve(p_x, task.p_y_given_x, np.geomspace(0.1, 500, 150))
    rng = np.random.default_rng(1)
    partitions = [task.x.sum(1), task.x[:, :6] @ (2 ** np.arange(6)), rng.integers(0, 64, n),
                  np.arange(n)]
    for part in partitions:
        _, t = np.unique(part, return_inverse=True)
        counts = np.bincount(t)
        q = np.stack([np.bincount(t, weights=task.p_y_given_x[:, c]) for c in range(2)], 1) / counts[:, None]
        i_xt = float(entropy_bits(counts))
        i_ty = float(entropy_bits(task.p_y_given_x.mean(0)) - counts / n @ entropy_bits(q, axis=1))
        assert i_ty <= curve.value_at(i_xt) + 1e-6
    # the number of ones is nearly sufficient: close to the curve
    assert curve.value_at(float(entropy_bits(np.bincount(task.x.sum(1).astype(int))))) - 0.99 < 0.01


def test_layer_beta_orders_coarse_and_fine_layers():
    task = spherical_rule()
    n = task.n_samples
    p_x = np.full(n, 1 / n)
    betas = np.geomspace(0.01, 1000, 200)
    _, _, z = merge_equal_conditionals(p_x, task.p_y_given_x)
    fine, _ = layer_beta(p_x, task.p_y_given_x, z, betas)
    coarse, _ = layer_beta(p_x, task.p_y_given_x, z // 4, betas)
    single, objective = layer_beta(p_x, task.p_y_given_x, np.zeros(n), betas)
    assert np.allclose(objective, 0.0) and single == betas[0]
    assert fine > coarse > single
