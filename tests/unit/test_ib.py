"""The IB solver against curves known in closed form."""
import numpy as np
import pytest
from scipy.optimize import brentq

from analysis.data import spherical_rule
from analysis.info import entropy_bits
from analysis.info.ib import (distance_to_curve, ib_curve, iterate_ib, layer_beta,
                              merge_equal_conditionals, self_consistency)

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


# --- horizontal distance to the curve -------------------------------------------------

def _deterministic_curve():
    """8 equiprobable inputs, a deterministic balanced label: the curve is min(I(X;T), 1)."""
    p_x = np.full(8, 1 / 8)
    pyx = np.eye(2)[np.arange(8) % 2]
    return p_x, pyx, ib_curve(p_x, pyx, BETAS)


def test_distance_to_curve_of_a_known_curve():
    _, _, curve = _deterministic_curve()
    # on min(x, 1): I(T;Y) = y needs I(X;T) = y bits (y <= 1)
    assert distance_to_curve(curve, 3.0, 0.5) == pytest.approx(2.5, abs=1e-6)
    assert distance_to_curve(curve, 0.25, 0.25) == pytest.approx(0.0, abs=1e-6)
    assert distance_to_curve(curve, 3.0, 1.0) == pytest.approx(2.0, abs=1e-6)
    assert distance_to_curve(curve, 3.0, 0.0) == pytest.approx(3.0, abs=1e-6)
    # arrays broadcast; a point left of the curve has a negative distance
    d = distance_to_curve(curve, np.array([1.0, 2.0]), np.array([0.9, 1.0]))
    assert d == pytest.approx([0.1, 1.0], abs=1e-6)
    assert distance_to_curve(curve, 0.2, 0.5) == pytest.approx(-0.3, abs=1e-6)


def test_distance_to_the_binary_symmetric_channel_curve():
    """Mrs. Gerber's lemma: I(T;Y) = y needs I(X;T) = 1 - h(delta) with
    1 - h(delta * eps) = y, where a * b = a(1 - b) + b(1 - a)."""
    eps = 0.1
    pyx = np.array([[1 - eps, eps], [eps, 1 - eps]])
    curve = ib_curve(np.array([0.5, 0.5]), pyx, np.geomspace(0.1, 200, 400))
    for y in (0.1, 0.3, 0.45):
        conv = brentq(lambda c: 1 - h2(c) - y, eps, 0.5 - 1e-12)
        delta = (conv - eps) / (1 - 2 * eps)
        needed = 1 - h2(delta)
        assert distance_to_curve(curve, 1.0, y) == pytest.approx(1.0 - needed, abs=2e-3)


def test_raw_input_of_the_12_bit_task_is_ten_bits_from_the_curve():
    task = spherical_rule()
    p_x = np.full(task.n_samples, 1 / task.n_samples)
    curve = ib_curve(p_x, task.p_y_given_x, np.geomspace(0.05, 1e5, 300))
    # the identity keeps 12 bits and all of I(X;Y): vertically on the curve ...
    assert curve.value_at(12.0) == pytest.approx(curve.i_xy, abs=1e-6)
    # ... horizontally far from it
    assert distance_to_curve(curve, 12.0, curve.i_xy) >= 10.0
    # points of the curve (its rising part) are at distance 0; no solution lies left of it
    x = np.linspace(0.01, float(curve.i_xt_at(curve.i_xy)) - 0.01, 50)
    assert np.allclose(distance_to_curve(curve, x, curve.value_at(x)), 0.0, atol=1e-9)
    assert np.all(distance_to_curve(curve, curve.i_xt, curve.i_ty) > -1e-6)


# --- beta = infinity and the self-consistent equations --------------------------------

def test_infinite_beta_spreads_over_clusters_with_the_same_decoder():
    p_x = np.full(8, 1 / 8)
    pyx = np.array([[0.9, 0.1], [0.1, 0.9]])[np.arange(8) % 2]
    identity = np.arange(8)
    beta, objective = layer_beta(p_x, pyx, identity, np.array([0.5, 2.0, 5.0, np.inf]))
    # the limit encoder puts each x uniformly on the 4 clusters of its p(y|x): 2 bits of
    # KL; every finite beta also puts some mass on the other 4 clusters: worse
    assert beta == np.inf
    assert objective[-1] / np.log(2) == pytest.approx(2.0)
    assert np.all(np.diff(objective) < 0)
    encoder, decoder = self_consistency(p_x, pyx, identity, np.inf)
    assert encoder == pytest.approx(2.0) and decoder == pytest.approx(0.0, abs=1e-12)


def test_a_sufficient_two_cluster_layer_is_a_fixed_point():
    p_x, pyx, _ = _deterministic_curve()
    label = np.arange(8) % 2
    beta, _ = layer_beta(p_x, pyx, label, np.r_[np.geomspace(0.1, 1e3, 50), np.inf])
    assert np.isfinite(beta)  # a finite beta already matches it (ties: the smallest)
    assert self_consistency(p_x, pyx, label, beta) == pytest.approx((0.0, 0.0), abs=1e-8)
    assert self_consistency(p_x, pyx, np.zeros(8), 3.0) == pytest.approx((0.0, 0.0))


def test_self_consistency_of_a_mixed_layer_by_hand():
    """Three inputs, the first two merged into one cluster: the residuals follow from one
    step of the IB equations written out by hand."""
    p_x = np.array([0.25, 0.25, 0.5])
    pyx = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    t = np.array([0, 0, 1])
    beta = 2.0
    p_t = np.array([0.5, 0.5])
    p_y_t = np.array([(0.25 * pyx[0] + 0.25 * pyx[1]) / 0.5, pyx[2]])
    kl = np.array([[np.sum(pyx[i] * np.log(pyx[i] / p_y_t[j])) for j in range(2)]
                   for i in range(3)])
    enc = p_t * np.exp(-beta * kl)
    enc /= enc.sum(axis=1, keepdims=True)
    encoder = -np.sum(p_x * np.log2(enc[np.arange(3), t]))
    q_t = p_x @ enc
    q_y_t = (enc * p_x[:, None]).T @ pyx / q_t[:, None]
    decoder = float(p_t @ np.sum(p_y_t * np.log2(p_y_t / q_y_t), axis=1))
    got = self_consistency(p_x, pyx, t, beta)
    assert got == pytest.approx((encoder, decoder), rel=1e-9)
    assert got[0] > 0.1 and got[1] > 1e-3  # not a fixed point
