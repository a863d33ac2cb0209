"""Chapters 8-10: exact information of linear layers and the student-teacher training."""

import numpy as np
import pytest
import torch

from analysis.experiments import linear_networks as ln
from analysis.info import linear_channel_mi


def test_layer_information_matches_the_reference_formulas():
    gen = torch.Generator().manual_seed(0)
    n_in, relevant = 6, 2
    product = torch.randn(3, 4, n_in, generator=gen, dtype=torch.float64)
    w0 = torch.randn(3, 1, n_in, generator=gen, dtype=torch.float64)
    got = ln.layer_information(product, w0, noise=0.5, relevant=relevant)
    cov_x = np.eye(n_in) / n_in
    for m in range(3):
        p = product[m].numpy()
        assert got["i_xt"][m] == pytest.approx(linear_channel_mi(p, cov_x, 0.5, inputs=np.arange(n_in)))
        assert got["i_ty"][m] == pytest.approx(linear_channel_mi(
            p, cov_x, 0.5, readout=w0[m].numpy(), readout_noise=ln.NOISE_VAR))
        assert got["i_x_relevant"][m] == pytest.approx(
            linear_channel_mi(p, cov_x, 0.5, inputs=np.arange(relevant)))
        assert got["i_x_irrelevant"][m] == pytest.approx(
            linear_channel_mi(p, cov_x, 0.5, inputs=np.arange(relevant, n_in)))


def test_teacher_puts_its_signal_on_the_relevant_inputs_only():
    cfg = ln.Config(n_inputs=1000, n_relevant=300, snr=4.0)
    w0 = ln.teacher(cfg, torch.Generator().manual_seed(1))
    assert torch.all(w0[0, 300:] == 0)
    # Var(W0 x) = |W0|^2 / Ni is the SNR (the noise has variance 1)
    assert (w0 ** 2).sum().item() / 1000 == pytest.approx(4.0, rel=0.15)


@pytest.fixture(scope="module")
def scalar_gd():
    """A 1-1-1 chain trained to convergence by gradient descent."""
    cfg = ln.Config(n_inputs=1, hidden=(1,), n_train=50, init_scale=0.5, lr=0.3,
                    epochs=1000, n_records=20, seeds=3)
    return cfg, ln.run(cfg, progress=False)


def test_gradient_descent_reaches_least_squares_and_the_exact_test_error(scalar_gd):
    cfg, result = scalar_gd
    for m, seed in enumerate(cfg.seed_list):
        gen = torch.Generator().manual_seed(seed)
        w0 = ln.teacher(cfg, gen)
        x = torch.randn(cfg.n_train, 1, generator=gen, dtype=torch.float64)
        y = x @ w0.T + torch.randn(cfg.n_train, 1, generator=gen, dtype=torch.float64)
        w_ls = float((x * y).sum() / (x * x).sum())     # x scaled by 1/sqrt(1): unchanged
        residual = float(((y - w_ls * x) ** 2).mean())
        assert result["train_error"][m, -1] == pytest.approx(residual, rel=1e-3)
        assert result["test_error"][m, -1] == pytest.approx((w_ls - float(w0)) ** 2 + 1.0, rel=1e-3)
        # the exact generalisation error agrees with fresh samples
        xs = np.random.default_rng(seed).standard_normal(400_000)
        ys = float(w0) * xs + np.random.default_rng(seed + 1).standard_normal(400_000)
        assert np.mean((w_ls * xs - ys) ** 2) == pytest.approx(result["test_error"][m, -1], rel=0.01)


def test_records_have_their_shapes_and_gradient_moments(scalar_gd):
    cfg, result = scalar_gd
    E = len(result["epochs"])
    assert result["i_xt"].shape == (3, E, 2) and result["test_error"].shape == (3, E)
    assert np.isnan(result["grad_mean"][:, 0]).all()
    # full batch: one gradient per epoch, so its std over minibatches is exactly 0
    assert np.all(result["grad_std"][:, 1:] == 0)
    assert np.all(result["grad_mean"][:, 1:] >= 0)
    # the output layer's information about X grows with the weights and stays finite
    assert np.all(result["i_xt"][:, -1, -1] > result["i_xt"][:, 0, -1])


def test_statistics_on_hand_curves():
    test_error = np.array([[3.0, 2.0, 1.5, 1.8]])
    assert ln.generalisation_gain(test_error) == pytest.approx(1 - 0.5 / 2.0)
    assert ln.overtraining(test_error) == pytest.approx(1.8 / 1.5 - 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(hidden=()), "hidden"),
    (dict(n_relevant=100), "n_relevant"),
    (dict(batch_size=101), "batch_size"),
    (dict(lr=0.0), "lr"),
    (dict(device="tpu"), "device"),
])
def test_bad_config_fails_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ln.Config(**kwargs)


def test_divergence_is_reported():
    with pytest.warns(RuntimeWarning, match="diverged"):
        ln.run(ln.Config(n_inputs=1, hidden=(1,), n_train=20, init_scale=0.5, lr=50.0,
                         epochs=50, n_records=5, seeds=1), progress=False, use_cache=False)
