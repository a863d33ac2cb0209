"""Chapter 9: the full-batch configuration and the verdicts on synthetic curves."""
import numpy as np
import pytest

from analysis.cache import Result
from analysis.experiments import batch_vs_stochastic as bs
from analysis.experiments import information_plane as ip
from analysis.experiments import linear_networks as ln


def test_full_batch_scales_the_learning_rate_by_the_minibatches_per_epoch():
    net = ip.Config(seeds=2, lr=4e-4, batch_size=512, train_fraction=0.85)
    gd = bs.full_batch(net)
    assert gd.batch_size is None and gd.lr == pytest.approx(4e-4 * 7)  # 3482 samples / 512
    assert bs.full_batch(gd) == gd


def _gradients(snr_curve: np.ndarray) -> Result:
    """Two members, two layers, a gradient SNR that follows ``snr_curve`` over epochs."""
    e = len(snr_curve)
    mean = np.broadcast_to(snr_curve[None, :, None], (2, e, 2)).copy()
    mean[:, 0] = np.nan
    return Result("fake", {}, {"epochs": np.arange(e) * 10, "grad_mean": mean,
                               "grad_std": np.ones((2, e, 2)), "weight_norm": np.ones((2, e, 2))})


def test_snr_transition_share():
    assert bs.snr_transition_share(_gradients(np.geomspace(10, 0.1, 40))) == 1.0
    assert bs.snr_transition_share(_gradients(np.full(40, 3.0))) == 0.0


def _est(fall: float) -> Result:
    curve = np.array([2.0, 10.0, 10.0 - 10 * fall])
    arr = np.broadcast_to(curve[None, :, None], (2, 3, 3)).copy()
    return Result("estimators", {}, {"i_xt_original": arr, "i_xt_range": arr})


def test_claims_compare_gd_with_sgd_and_pair_snr_with_compression():
    falling = np.broadcast_to(np.array([1.0, 3.0, 2.0])[None, :, None], (2, 3, 2))
    rising = np.broadcast_to(np.array([1.0, 2.0, 3.0])[None, :, None], (2, 3, 2))
    grads = _gradients(np.geomspace(10, 0.1, 3))
    grads.arrays["epochs"] = np.arange(3)
    crossing = _gradients(np.geomspace(10, 0.1, 40))
    rows = bs.claims(sgd={"tanh": _est(0.4), "relu": _est(0.0)},
                     gd={"tanh": _est(0.3), "relu": _est(0.0)},
                     gradients={"tanh": (crossing, falling, slice(0, 2)),
                                "linear": (crossing, rising, slice(None))})
    assert [r.passes for r in rows] == [True] * 6
    rows = bs.claims(sgd={"tanh": _est(0.4), "relu": _est(0.0)},
                     gd={"tanh": _est(0.1), "relu": _est(0.2)},
                     gradients={"linear": (_gradients(np.full(40, 3.0)), falling, slice(None))})
    assert [r.passes for r in rows] == [False, False, False, False]


def test_overfitting_claims():
    i_xt = np.broadcast_to(np.array([1.0, 3.0, 2.0])[None, :, None], (2, 3, 3))
    loss = np.array([[1.0, 0.5, 0.8], [1.0, 0.5, 0.8]])
    rows = ln.overfitting_claims(Result("ip", {}, {"i_xt": i_xt, "test_loss": loss}))
    assert [r.passes for r in rows] == [True, True]
    i_xt = np.broadcast_to(np.array([1.0, 2.0, 3.0])[None, :, None], (2, 3, 3))
    loss = np.array([[1.0, 0.8, 0.5], [1.0, 0.8, 0.5]])
    rows = ln.overfitting_claims(Result("ip", {}, {"i_xt": i_xt, "test_loss": loss}))
    assert [r.passes for r in rows] == [False, False]


def test_irrelevant_input_claims():
    def linear(irrelevant, total):
        e = len(total)
        arr = lambda c: np.broadcast_to(np.asarray(c, float)[None, :, None], (2, e, 2)).copy()
        return Result("ln", {}, {"i_xt": arr(total), "i_x_relevant": arr(total),
                                 "i_x_irrelevant": arr(irrelevant)})
    rows = ln.irrelevant_input_claims(linear([0.01, 0.5, 0.2], [0.1, 1.0, 2.0]))
    assert [r.passes for r in rows] == [True, True, True, True]
    assert rows[2].value == pytest.approx(0.98) and rows[3].value == pytest.approx(0.6)
    rows = ln.irrelevant_input_claims(linear([0.5, 0.4, 0.2], [0.1, 2.0, 1.0]))
    assert [r.passes for r in rows] == [False, False, False, True]
