"""Chapters 8-10: exact information of linear layers and the student-teacher training."""

import numpy as np
import pytest
import torch

from analysis.cache import Result
from analysis.claims import INCONCLUSIVE, NOT_SUPPORTED, NOT_TESTABLE, SUPPORTED
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
    # excess over the noise floor 1: 2.0 at the start, 0.5 at the best, 0.8 at the end
    assert ln.generalisation_gain(test_error) == pytest.approx(1 - 0.5 / 2.0)
    assert ln.generalisation_gain(test_error, "end") == pytest.approx(1 - 0.8 / 2.0)
    assert ln.generalisation_gain(np.array([[2.0, 1.5, 9.0]]), "end") == pytest.approx(-7.0)
    assert ln.overtraining(test_error) == pytest.approx(1.8 / 1.5 - 1)
    assert ln.rise_to_peak(np.array([[0.1, 0.4, 0.2], [0.1, 0.6, 0.2]])) == pytest.approx(0.8)
    assert ln.rise_to_peak(np.array([[0.5, 0.4, 0.2]])) == 0.0
    with pytest.raises(ValueError, match="best"):
        ln.generalisation_gain(test_error, "last")


def test_fitting_ends_when_99_percent_of_the_training_error_fall_is_done():
    # falls 10 -> 0: 99% of the fall is done at 0.1, first reached at record 3
    train = np.array([[10.0, 5.0, 1.0, 0.1, 0.05, 0.0]])
    assert ln.fitting_end(train) == 3
    assert ln.fitting_end(train, share=0.5) == 1
    assert ln.fitting_end(np.array([[1.0, 1.0, 1.0]])) == 0      # nothing to fit


@pytest.mark.parametrize("irr, share", [
    # fitting ends at record 3 (train below); the fall of I(X_irr;T) is 0.8 - 0.2 = 0.6
    ([0.0, 0.8, 0.5, 0.2, 0.2, 0.2], 1.0),           # all of it while fitting
    ([0.0, 0.8, 0.6, 0.5, 0.3, 0.2], 0.5),           # half of it: 0.3 of 0.6
    ([0.0, 0.2, 0.4, 0.8, 0.5, 0.2], 0.0),           # peak when fitting ends: none of it
    ([0.0, 0.1, 0.2, 0.3, 0.8, 0.2], 0.0),           # after fitting: two phases
    ([0.0, 0.8, 0.1, 0.1, 0.1, 0.2], 1.0),           # overshoot: clipped to 1
])
def test_fall_while_fitting_on_hand_curves(irr, share):
    train = np.array([[10.0, 5.0, 1.0, 0.1, 0.05, 0.0]] * 2)
    irr = np.array([irr] * 2)
    assert ln.fall_while_fitting(irr, train) == pytest.approx(share)


def test_fall_while_fitting_is_undefined_without_a_fall_after_a_peak():
    train = np.array([[10.0, 5.0, 1.0, 0.1]])
    assert np.isnan(ln.fall_while_fitting(np.array([[0.9, 0.5, 0.4, 0.3]]), train))
    assert np.isnan(ln.fall_while_fitting(np.array([[0.1, 0.5, 0.6, 0.7]]), train))
    row = ln.while_fitting_claim(Result("ln", {}, {
        "i_x_irrelevant": np.array([[0.9, 0.5, 0.4, 0.3]] * 2)[..., None],
        "train_error": np.array([[10.0, 5.0, 1.0, 0.1]] * 2)}))
    assert row.verdict == NOT_TESTABLE and "peak" in row.reason


def test_while_fitting_claim_decides_on_the_share():
    train = np.array([[10.0, 5.0, 1.0, 0.1, 0.05, 0.0]] * 5)
    def row(irr):
        return ln.while_fitting_claim(Result("ln", {}, {
            "i_x_irrelevant": np.array([irr] * 5)[..., None], "train_error": train}), "GD")
    assert row([0.0, 0.8, 0.5, 0.2, 0.2, 0.2]).verdict == SUPPORTED
    assert row([0.0, 0.1, 0.2, 0.3, 0.8, 0.2]).verdict == NOT_SUPPORTED
    assert row([0.0, 0.8, 0.5, 0.2, 0.2, 0.2]).statement.startswith("GD: ")


def test_map_gradient_over_the_training_set_is_w_sxx_minus_syx():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 9, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 9, 1, generator=gen, dtype=torch.float64)
    w = torch.randn(2, 1, 4, generator=gen, dtype=torch.float64)
    sxx, syx = x.transpose(1, 2) @ x / 9, y.transpose(1, 2) @ x / 9
    assert torch.allclose(ln.map_gradient(w, x, y), w @ sxx - syx)


@pytest.mark.parametrize("widths", [(7, 1), (7, 5, 1), (1, 1, 1), (7, 4, 3, 6, 1)])
def test_chain_gradients_and_step_equal_autograd(widths):
    gen = torch.Generator().manual_seed(len(widths))
    ws = [torch.randn(3, o, i, generator=gen, dtype=torch.float64, requires_grad=True)
          for i, o in zip(widths[:-1], widths[1:])]
    x = torch.randn(3, 5, widths[0], generator=gen, dtype=torch.float64)
    y = torch.randn(3, 5, 1, generator=gen, dtype=torch.float64)
    out = x
    for w in ws:
        out = out @ w.transpose(1, 2)
    (0.5 * ((out - y) ** 2).mean((1, 2)).sum()).backward()
    plain = [w.detach().clone() for w in ws]
    grad_map = ln.map_gradient(ln.end_to_end(plain), x, y)
    for mine, w in zip(ln.gradients(plain, grad_map), ws):
        assert torch.allclose(mine, w.grad)
    ln.descend(plain, grad_map, lr=0.3)
    for moved, w in zip(plain, ws):
        assert torch.allclose(moved, w.detach() - 0.3 * w.grad)


def _curves(**curves):
    """A Result whose arrays are the given curves (records) for 5 identical members."""
    def arr(c):
        c = np.asarray(c, float)
        return np.broadcast_to(c[None, :, None] if c.ndim == 1 else c[None],
                               (5, *(c.shape if c.ndim > 1 else (len(c), 1)))).copy()
    return Result("ln", {}, {k: (np.array([v] * 5, float) if k.endswith("error") or
                                 k.endswith("loss") else arr(v)) for k, v in curves.items()})


def test_irrelevant_input_claims_on_hand_curves():
    rows = ln.irrelevant_input_claims(_curves(
        i_xt=[0.1, 1.0, 2.0], i_x_relevant=[0.1, 1.0, 2.0], i_x_irrelevant=[0.01, 0.5, 0.2]))
    assert [r.verdict for r in rows] == [SUPPORTED] * 4
    assert rows[2].value == pytest.approx(0.98) and rows[3].value == pytest.approx(0.6)
    rows = ln.irrelevant_input_claims(_curves(
        i_xt=[0.1, 2.0, 1.0], i_x_relevant=[0.1, 2.0, 1.0], i_x_irrelevant=[0.5, 0.4, 0.2]),
        "SGD")
    # I(X;T) falls by half; I(X_irr;T) is highest at the start: no rise, and its fall
    # cannot be compression after fitting (not testable)
    assert [r.verdict for r in rows] == [NOT_SUPPORTED, NOT_SUPPORTED, NOT_SUPPORTED,
                                         NOT_TESTABLE]
    assert all(r.statement.startswith("SGD: ") for r in rows)


def test_irrelevant_input_fall_interval_is_over_members():
    # five teachers: I(X_irr;T) falls by 60% in two and not at all in three; their mean
    # falls by 24%; resampling only the flat ones (0.6^5 = 7.8% > 2.5%) gives no fall
    irr = np.array([[0.0, 1.0, 0.4]] * 2 + [[0.0, 1.0, 1.0]] * 3)[..., None]
    rows = ln.irrelevant_input_claims(Result("ln", {}, {
        "i_xt": np.ones((5, 3, 1)) * [[[0.1], [1.0], [2.0]]],
        "i_x_relevant": np.ones((5, 3, 1)) * [[[0.1], [1.0], [2.0]]],
        "i_x_irrelevant": irr}))
    assert rows[3].value == pytest.approx(0.24)
    assert rows[3].low == pytest.approx(0.0) and 0.24 < rows[3].high < 0.6
    assert rows[3].verdict == INCONCLUSIVE


def test_overfitting_claims_on_hand_curves():
    i_xt = np.broadcast_to(np.array([1.0, 3.0, 2.0])[None, :, None], (5, 3, 3))
    loss = np.array([[1.0, 0.5, 0.8]] * 5)
    rows = ln.overfitting_claims(Result("ip", {}, {"i_xt": i_xt, "test_loss": loss}))
    assert [r.verdict for r in rows] == [SUPPORTED, SUPPORTED]
    assert rows[0].value == pytest.approx(0.6) and rows[1].value == pytest.approx(1 / 3)
    i_xt = np.broadcast_to(np.array([1.0, 2.0, 3.0])[None, :, None], (5, 3, 3))
    loss = np.array([[1.0, 0.8, 0.5]] * 5)
    rows = ln.overfitting_claims(Result("ip", {}, {"i_xt": i_xt, "test_loss": loss}))
    assert [r.verdict for r in rows] == [NOT_SUPPORTED, NOT_SUPPORTED]
    # hidden layers highest at the start: compression after fitting is not testable
    i_xt = np.broadcast_to(np.array([3.0, 2.0, 1.0])[None, :, None], (5, 3, 3))
    rows = ln.overfitting_claims(Result("ip", {}, {"i_xt": i_xt, "test_loss": loss}))
    assert rows[1].verdict == NOT_TESTABLE


def test_overfitting_in_accuracy_is_the_fall_from_the_best_record():
    assert ln.accuracy_drop(np.array([[0.5, 0.9, 0.85], [0.5, 0.8, 0.75]])) == \
        pytest.approx(0.05)
    assert ln.accuracy_drop(np.array([[0.5, 0.9, 0.95]])) == 0.0
    i_xt = np.broadcast_to(np.array([1.0, 3.0, 2.0])[None, :, None], (5, 3, 3))
    loss = np.array([[1.0, 0.5, 0.8]] * 5)
    for acc, verdict in (([0.5, 0.99, 0.995], NOT_SUPPORTED), ([0.5, 0.99, 0.9], SUPPORTED)):
        rows = ln.overfitting_claims(Result("ip", {}, {
            "i_xt": i_xt, "test_loss": loss, "test_acc": np.array([acc] * 5)}))
        assert len(rows) == 3 and "accuracy" in rows[1].statistic
        assert rows[1].verdict == verdict


def test_chapter_8_claims_on_hand_curves():
    # P = Ni: the test error dips below its start (2.0 -> 1.5) and ends far above it
    err = np.array([[2.0, 1.5, 6.0]] * 5)
    rising = np.broadcast_to(np.array([0.1, 0.5, 0.9])[None, :, None], (5, 3, 2)).copy()
    rows = ln.claims({"GD": Result("ln", {}, {"test_error": err, "i_xt": rising})})
    assert [r.statement.split(":")[0] for r in rows] == ["GD"] * 4
    assert [r.verdict for r in rows] == [SUPPORTED, NOT_SUPPORTED, SUPPORTED, SUPPORTED]
    assert rows[0].value == pytest.approx(0.5) and rows[1].value == pytest.approx(-4.0)
    assert rows[3].value == pytest.approx(6.0 / 1.5 - 1)
    # a hidden layer that rises and falls by 40% compresses: "no compression" fails
    bump = rising.copy()
    bump[:, :, 0] = [0.1, 0.5, 0.3]
    rows = ln.claims({"GD": Result("ln", {}, {"test_error": err, "i_xt": bump})})
    assert rows[2].value == pytest.approx(0.4) and rows[2].verdict == NOT_SUPPORTED
    # every hidden layer highest at the start: not testable
    rows = ln.claims({"GD": Result("ln", {}, {"test_error": err, "i_xt": rising[:, ::-1]})})
    assert rows[2].verdict == NOT_TESTABLE


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
