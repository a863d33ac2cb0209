"""Statistics of chapters 3-5 on synthetic runs whose answers are known."""
import numpy as np
import pytest

from analysis import stats
from analysis.cache import Result
from analysis.claims import INCONCLUSIVE, NOT_SUPPORTED, NOT_TESTABLE, SUPPORTED
from analysis.experiments import depth, ib_bound, training_size as ts
from analysis.experiments import information_plane as ip

EPOCHS = np.array([0, 1, 2, 5, 10, 20, 50, 100])


def run_with(i_ty_last_hidden, i_ty_output=None, members=5, layers=3, i_xt=None):
    i_ty = np.zeros((members, len(EPOCHS), layers))
    i_ty[:, :, -2] = i_ty_last_hidden
    i_ty[:, :, -1] = i_ty_last_hidden if i_ty_output is None else i_ty_output
    return Result("information_plane", {}, {
        "epochs": EPOCHS, "i_ty": i_ty, "mi_xy": np.array(1.0),
        "i_xt": np.zeros_like(i_ty) if i_xt is None else i_xt})


def ramp(reach_index):
    values = np.linspace(0, 0.5, len(EPOCHS))
    values[reach_index:] = 1.0
    return values


# --- chapter 3 --------------------------------------------------------------------------

def test_depth_widths():
    assert depth.depth_widths(1) == (12, 12, 2)
    assert depth.depth_widths(6) == (12, 12, 10, 8, 6, 4, 2, 2)
    with pytest.raises(ValueError):
        depth.depth_widths(0)
    with pytest.raises(ValueError, match="width"):
        depth.depth_widths(7)


def test_epochs_to_information_and_never_reached():
    r = run_with(ramp(4))
    assert np.all(depth.epochs_to_information(r) == 10)
    assert np.all(np.isinf(depth.epochs_to_information(run_with(np.full(len(EPOCHS), 0.5)))))


def test_depth_claims_follow_the_trend():
    falling = {d: run_with(ramp(8 - d)) for d in range(1, 7)}  # deeper -> earlier
    rho, gain, out_rho, out_gain = depth.claims(falling)
    # medians 100, 50, 20, 10, 5, 2 epochs for depths 1..6
    assert rho.value == -1 and rho.verdict == SUPPORTED
    assert gain.value == pytest.approx(100 / 2) and gain.verdict == SUPPORTED
    assert rho.interval.startswith("bootstrap over 5 networks")
    rising = {d: run_with(ramp(1 + d)) for d in range(1, 7)}
    assert depth.claims(rising)[0].verdict == NOT_SUPPORTED


def test_a_layer_above_the_target_at_epoch_0_is_not_testable():
    """Shallow nets whose last hidden layer starts at I(X;Y): the statistic is 0 before
    training, so its rows are not testable; the output layer still decides."""
    start_full = np.ones(len(EPOCHS))
    results = {d: run_with(start_full if d <= 3 else ramp(8 - d), ramp(8 - d))
               for d in range(1, 7)}
    assert depth.start_ceiling(results) == [1, 2, 3]
    rho, gain, out_rho, out_gain = depth.claims(results)
    assert rho.verdict == gain.verdict == NOT_TESTABLE
    assert "1, 2, 3 hidden layers" in rho.reason and "epoch 0" in rho.reason
    assert out_rho.verdict == out_gain.verdict == SUPPORTED


def test_ties_of_never_reaching_depths_make_the_correlation_untestable():
    never = np.full(len(EPOCHS), 0.5)
    # depths 1-5 never reach, 6 does: at best rho = best_spearman of the tied ranks
    results = {d: run_with(never if d <= 5 else ramp(8 - d)) for d in range(1, 7)}
    ranked = [8.0, 8.0, 8.0, 8.0, 8.0, 2.0]
    best = stats.best_spearman(np.arange(1, 7), np.array(ranked))
    assert best > -0.8
    rho = depth.claims(results, layers=(-1,))[0]
    assert rho.verdict == NOT_TESTABLE and f"{best:.2f}" in rho.reason


def test_speedup_is_a_lower_bound_when_the_shallowest_never_reach():
    e = np.array([[np.inf, 10.0], [np.inf, 10.0], [np.inf, 30.0]])
    assert depth.speedup(e, last_epoch=100.0) == pytest.approx(10.0)
    assert depth.speedup(e, last_epoch=15.0) == pytest.approx(1.5)
    assert np.isnan(depth.speedup(e[:, ::-1], last_epoch=100.0))  # deepest never reach


def test_depth_correlation_interval_straddles_for_mixed_members():
    """Half the networks of each depth follow the trend, half the opposite: the medians
    trend but the bootstrap interval over networks crosses the threshold."""
    depths = np.arange(1, 7)
    down = np.array([100.0, 50, 20, 10, 5, 2])
    e = np.stack([down, down, down[::-1] + 1, down[::-1] + 1, down + 0.5, down[::-1]])
    value = depth.depth_spearman(e, depths)
    low, high = stats.bootstrap(lambda a: depth.depth_spearman(a, depths), e)
    assert low < -0.8 < high
    assert np.isfinite(value)


# --- chapter 5 --------------------------------------------------------------------------

def _sized(i_xt_curve, i_ty_curve, members=5):
    i_xt = np.zeros((members, len(EPOCHS), 3))
    i_xt[:, :, -2] = i_xt_curve
    r = run_with(i_ty_curve, members=members, i_xt=i_xt)
    r.arrays["i_ty"][:, :, 0] = i_ty_curve
    return r


def test_compression_loss_by_hand():
    i_xt = np.tile([1.0, 2.0, 3.0, 4.0, 3.5, 3.0, 2.5, 2.0], (3, 1))  # peak at index 3
    i_ty = np.tile([0.1, 0.5, 0.8, 0.9, 0.85, 0.8, 0.75, 0.7], (3, 1))
    assert ts.compression_loss(i_xt, i_ty) == pytest.approx(0.9 - 0.7)
    # I(T;Y) rising on after the I(X;T) peak, then falling: measured from where it turns
    later = np.tile([0.1, 0.2, 0.3, 0.4, 0.6, 0.5, 0.45, 0.45], (3, 1))
    assert ts.compression_loss(i_xt, later) == pytest.approx(0.6 - 0.45)
    # rising to the end: nothing lost
    assert ts.compression_loss(i_xt, np.sort(later, axis=1)) == 0.0
    # a fall before the I(X;T) peak does not count
    early = np.tile([0.1, 0.9, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4], (3, 1))
    assert ts.compression_loss(i_xt, early) == pytest.approx(0.0)


def test_training_size_claims():
    fall = [1.0, 2.0, 3.0, 4.0, 3.5, 3.0, 2.5, 2.0]       # 50% fall after a peak at 10
    ty_small = [0.1, 0.5, 0.8, 0.9, 0.85, 0.8, 0.75, 0.7]  # loses 0.2 bits after the peak
    ty_large = [0.1, 0.5, 0.8, 0.9, 0.9, 0.9, 0.92, 0.95]  # gains
    results = {0.05: _sized(fall, ty_small), 0.2: _sized(fall, np.full(8, 0.9)),
               0.85: _sized(fall, ty_large)}
    rho, comp, small, large = ts.claims(results)
    assert rho.value == pytest.approx(1.0) and rho.verdict == SUPPORTED
    assert comp.value == pytest.approx(0.5) and comp.verdict == SUPPORTED
    assert small.value == pytest.approx(0.2) and small.verdict == SUPPORTED
    assert large.value == pytest.approx(0.0) and large.verdict == SUPPORTED
    with pytest.raises(ValueError, match="0.85"):
        ts.run_sizes(ip.Config(), [0.05, 0.5])


def test_no_compression_phase_makes_the_overfitting_rows_untestable():
    ty = [0.1, 0.5, 0.8, 0.9, 0.85, 0.8, 0.75, 0.7]
    flat_after_peak = [1.0, 2.0, 3.0, 4.0, 3.99, 3.98, 3.97, 3.96]  # falls 1%: no phase
    at_start = [4.0, 3.9, 3.8, 3.7, 3.6, 3.5, 3.4, 3.3]             # peak at epoch 0
    for curve, verdict in ((flat_after_peak, NOT_SUPPORTED), (at_start, NOT_TESTABLE)):
        results = {0.05: _sized(curve, ty), 0.85: _sized(curve, ty)}
        _, comp, small, large = ts.claims(results)
        assert comp.verdict == verdict
        assert small.verdict == large.verdict == NOT_TESTABLE


def test_size_correlation_with_noisy_members_is_inconclusive():
    fractions = np.array([0.05, 0.2, 0.45, 0.85])
    rng = np.random.default_rng(0)
    values = np.array([0.5, 0.55, 0.6, 0.65]) + rng.normal(0, 0.2, (8, 4))
    low, high = stats.bootstrap(lambda v: ts.size_spearman(v, fractions), values)
    assert low < 0.8 <= high or high < 0.8  # the noise spreads it below the threshold
    assert low < 0.5


# --- chapter 4 --------------------------------------------------------------------------

def test_ib_bound_fit_on_a_short_run(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    result = ip.run(ip.Config(seeds=2, epochs=20, n_records=5), progress=False)
    fit = ib_bound.fit_layers(result, betas=np.geomspace(0.1, 1e4, 80))
    assert fit.distance.shape == (2, 6) and fit.beta.shape == (2, 6)
    # a deterministic layer is an admissible encoder: never left of (above) the bound
    assert np.all(fit.distance > -1e-6) and np.all(fit.below > -1e-6)
    # the first layer keeps every pattern apart: all the label information (no vertical
    # gap), 10 bits to the right of the curve, matched best at beta = infinity
    assert np.allclose(fit.below[:, 0], 0.0, atol=1e-6)
    assert np.all(fit.distance[:, 0] > 9.5) and np.all(np.isinf(fit.beta[:, 0]))
    assert np.all(fit.encoder_kl[:, 0] > 9.0)
    rows = ib_bound.claims(fit)
    # two seeds: no 95% interval, so no verdict (the value alone would say not supported)
    assert len(rows) == 3 and rows[0].verdict == INCONCLUSIVE and rows[0].value > -0.8
    assert "no 95% interval" in rows[0].interval
    # the fit is cached under the run's key: a second fit reads it back, the same values
    again = ib_bound.fit_layers(result, betas=np.geomspace(0.1, 1e4, 80))
    assert len(list(tmp_path.glob("ib_fit-*.npz"))) == 1
    for name in ("distance", "below", "beta", "encoder_kl", "decoder_kl"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fit, name))
    # another grid is another fit
    ib_bound.fit_layers(result, betas=np.geomspace(0.1, 1e4, 40))
    assert len(list(tmp_path.glob("ib_fit-*.npz"))) == 2


def test_beta_ties_at_infinity_make_the_correlation_untestable():
    beta = np.array([[np.inf, np.inf, np.inf, np.inf, 2.0, 1.0]] * 5)
    fit = ib_bound.LayerFit(curve=None, i_xt=np.zeros((5, 6)), i_ty=np.zeros((5, 6)),
                            distance=np.zeros((5, 6)), below=np.zeros((5, 6)), beta=beta,
                            encoder_kl=np.zeros((5, 6)), decoder_kl=np.zeros((5, 6)))
    row = ib_bound.claims(fit)[-1]
    # four of the five hidden layers tie at infinity: rho can reach -0.71 at best
    assert row.verdict == NOT_TESTABLE and "-0.71" in row.reason
    fit2 = ib_bound.LayerFit(**{**fit.__dict__, "beta": np.tile([np.inf, 50.0, 9.0, 3.0, 2.0,
                                                                  1.0], (5, 1))})
    row2 = ib_bound.claims(fit2)[-1]
    assert row2.value == pytest.approx(-1.0) and row2.verdict == SUPPORTED
    assert ib_bound.claims(fit2)[0].verdict == SUPPORTED  # distance 0: on the curve
