"""Chapter 9: the noiseless configurations and the verdicts on synthetic curves."""
import numpy as np
import pytest

from analysis.cache import Result
from analysis.experiments import batch_vs_stochastic as bs
from analysis.experiments import information_plane as ip


def test_full_batch_scales_the_learning_rate_by_the_minibatches_per_epoch():
    net = ip.Config(seeds=2, lr=4e-4, batch_size=512, train_fraction=0.85)
    gd = bs.full_batch(net)
    assert gd.batch_size is None and gd.lr == pytest.approx(4e-4 * 7)  # 3482 samples / 512
    assert bs.full_batch(gd) == gd


def _gradients(snr_curve: np.ndarray, n: int = 2, layers: int = 2) -> Result:
    """``n`` members, ``layers`` layers, a gradient SNR that follows ``snr_curve``."""
    e = len(snr_curve)
    mean = np.broadcast_to(snr_curve[None, :, None], (n, e, layers)).copy()
    mean[:, 0] = np.nan
    return Result("fake", {}, {"epochs": np.arange(e) * 10, "grad_mean": mean,
                               "grad_std": np.ones((n, e, layers)),
                               "weight_norm": np.ones((n, e, layers))})


def test_snr_transition_share():
    assert bs.snr_transition_share(_gradients(np.geomspace(10, 0.1, 40))) == 1.0
    assert bs.snr_transition_share(_gradients(np.full(40, 3.0))) == 0.0


def test_gradient_descent_is_plain_full_batch_sgd():
    net = ip.Config(seeds=2, lr=4e-4, batch_size=512)
    gd = bs.gradient_descent(net, 0.7)
    assert (gd.optimizer, gd.batch_size, gd.lr) == ("sgd", None, 0.7)
    assert (gd.seeds, gd.widths) == (net.seeds, net.widths)


def _est(fall: float, n: int = 5) -> Result:
    """Members whose hidden I(X;T) rises to 10 bits and falls by ``fall`` of it (spread a
    little over the members), with gradients whose SNR falls from 10 to 0.1."""
    curve = np.array([2.0, 10.0, 10.0 - 10 * fall])
    arr = np.broadcast_to(curve[None, :, None], (n, 3, 3)) + \
        np.linspace(0, 0.02, n)[:, None, None]
    grads = _gradients(np.geomspace(10, 0.1, 40), n=n, layers=3)
    return Result("estimators", {}, {"i_xt_original": arr, "i_xt_range": arr,
                                     **grads.arrays})


def test_fall_ratio_by_hand():
    # falls of 30% and 40% of a 10-bit peak: ratio 0.75; the output layer is ignored
    assert bs.fall_ratio(_est(0.3)["i_xt_original"], _est(0.4)["i_xt_original"]) == \
        pytest.approx((10.0 - 7.0) / (10.0 - 6.0), rel=1e-2)
    assert np.isnan(bs.fall_ratio(_est(0.3)["i_xt_original"], _est(0.0)["i_xt_original"]))


def test_claims_compare_noiseless_with_minibatch_and_pair_snr_with_compression():
    falling = np.broadcast_to(np.array([1.0, 3.0, 2.0])[None, :, None], (5, 3, 2)) + \
        np.linspace(0, 0.02, 5)[:, None, None]
    rising = np.broadcast_to(np.array([1.0, 2.0, 3.0])[None, :, None], (5, 3, 2)).copy()
    crossing = _gradients(np.geomspace(10, 0.1, 40), n=5)
    sgd = {"tanh": _est(0.4), "relu": _est(0.0)}
    paper = {bs.ADAM: {"tanh": _est(0.3), "relu": _est(0.0)},
             bs.GD: {"tanh": _est(0.3), "relu": _est(0.0)}}
    rows = bs.claims(sgd, paper, {"tanh": (crossing, falling, slice(0, 1)),
                                  "linear": (crossing, rising, slice(0, 1))})
    # full-batch Adam: compresses, ratio, ReLU; GD: compresses, ReLU; 2 x (SNR, compression)
    assert len(rows) == 9
    assert [r.verdict for r in rows] == ["supported"] * 9, [r.verdict for r in rows]
    assert sum("about as much" in r.statement for r in rows) == 1
    flat = _gradients(np.full(40, 3.0), n=5)
    wrong = {bs.ADAM: {"tanh": _est(0.0), "relu": _est(0.3)}}
    rows = bs.claims(sgd, wrong, {"linear": (flat, falling, slice(0, 1))})
    assert [r.verdict for r in rows] == ["not supported"] * 5
    ceiling = _est(0.0)
    ceiling.arrays["i_xt_original"] = np.full((5, 3, 3), 12.0)   # no peak after the start
    rows = bs.claims(sgd, {bs.ADAM: {"tanh": ceiling}}, {})
    assert [r.verdict for r in rows] == ["not testable", "not testable"]


def test_snr_claim_needs_every_hidden_layer():
    grads = _gradients(np.geomspace(10, 0.1, 40), n=5, layers=3)
    grads.arrays["grad_mean"][..., 2] = 3.0          # one layer stays in drift
    row = bs.snr_claim("x", grads, slice(None))
    assert row.value == pytest.approx(2 / 3) and row.verdict == "not supported"
    assert row.bound == bs.SNR_SHARE == 1.0
    few = _gradients(np.geomspace(10, 0.1, 40), n=4, layers=3)      # 4 seeds: no interval
    assert bs.snr_claim("x", few, slice(None)).verdict == "inconclusive"
