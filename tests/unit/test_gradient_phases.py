import numpy as np
import pytest

from analysis.cache import Result
from analysis.experiments import gradient_phases as gp
from analysis.train import log_spaced_epochs

EPOCHS = log_spaced_epochs(4000, 200)


def synthetic(cross_at=(300.0, 600.0), peak_at=(300.0, 2000.0), members=5):
    """Gradient norms whose SNR = cross/epoch, and I(X;T) that peaks at given epochs."""
    e = np.maximum(EPOCHS, 1).astype(float)
    L = len(cross_at)
    std = np.ones((members, len(e), L))
    mean = np.stack([c / e for c in cross_at], axis=1)[None].repeat(members, 0)
    mean[:, 0], std[:, 0] = np.nan, np.nan
    i_xt = np.stack([5 - np.abs(np.log2(e / p)) for p in peak_at], axis=1)[None].repeat(members, 0)
    arrays = {"epochs": EPOCHS, "grad_mean": mean, "grad_std": std,
              "weight_norm": np.full_like(std, 2.0), "i_xt": i_xt}
    return Result("information_plane", {}, arrays)


def test_transition_found_where_snr_crosses_one():
    r = synthetic()
    mean, std = gp.gradient_curves(r)
    trans = gp.transition_epochs(EPOCHS, mean, std)
    assert 250 <= trans[0] <= 360 and 500 <= trans[1] <= 720


def test_no_transition_without_drift_or_without_diffusion():
    e = np.maximum(EPOCHS, 1).astype(float)
    mean = np.stack([np.full_like(e, 0.5), np.full_like(e, 3.0)], axis=1)
    std = np.ones_like(mean)
    assert np.all(np.isnan(gp.transition_epochs(EPOCHS, mean, std)))


def test_normalisation_divides_by_weight_norm():
    r = synthetic()
    raw, _ = gp.gradient_curves(r, normalise=False)
    scaled, _ = gp.gradient_curves(r, normalise=True)
    assert np.allclose(scaled[1:], raw[1:] / 2.0)


def test_compression_onset_only_for_compressing_layers():
    r = synthetic(peak_at=(300.0, 4000.0))
    onset = gp.compression_onsets(r)
    assert onset[0] == pytest.approx(300, rel=0.05) and np.isnan(onset[1])


def test_compression_onset_ignores_ceilings_and_small_falls():
    epochs = np.array([0, 1, 10, 100, 1000])
    i_xt = np.array([[12, 12, 11.5, 11, 10],    # highest at initialisation: a ceiling
                     [2, 5, 5, 4.8, 4.9],       # falls 2% of its peak
                     [2, 4, 5, 4, 3]], float).T[None].repeat(2, 0)
    onset = gp.compression_onsets(i_xt, epochs)
    assert np.isnan(onset[:2]).all() and onset[2] == 10


def test_phases_report_first_diffusion_reentry_and_the_end():
    epochs = np.arange(0, 9)
    # SNR per record (epoch 0 skipped): drift, diffusion, back to drift at the end
    snr = np.array([[np.nan, 4, 4, 0.5, 0.5, 2, 2, 2, 2],
                    [np.nan, 4, 4, 0.5, 0.5, 2, 0.5, 0.5, 0.5],
                    [np.nan, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]]).T
    ph = gp.phases(epochs, snr, np.ones_like(snr), window=1)
    assert ph.first_diffusion[:2].tolist() == [3, 3] and np.isnan(ph.first_diffusion[2])
    assert ph.reentry[:2].tolist() == [5, 5]
    assert np.isnan(ph.transition[0]) and ph.transition[1] == 6 and np.isnan(ph.transition[2])
    assert ph.ends_in_drift.tolist() == [True, False, False]
    assert ph.final_snr[0] == pytest.approx(2.0)
    assert ph.drift_share_late[0] == pytest.approx(4 / 6)
    assert np.array_equal(gp.transition_epochs(epochs, snr, np.ones_like(snr), window=1),
                          ph.transition, equal_nan=True)


def test_idnns_curves_are_cumulative_over_layers():
    mean = np.array([[1.0, 2.0, 3.0]])
    std = np.array([[4.0, 5.0, 7.0]])
    cum_mean, root = gp.idnns_curves(mean, std)
    assert cum_mean.tolist() == [[1.0, 3.0, 6.0]]
    assert root.tolist() == [[2.0, 3.0, 4.0]]


def test_idnns_crossing_differs_from_the_per_layer_one():
    # layer 2 alone is in drift (mean 3 > std 1), but the cumulative curve of layers 1-2
    # compares 0.1 + 3 with sqrt(100 + 1): diffusion
    e = np.arange(0, 5)
    mean = np.tile([0.1, 3.0], (5, 1))
    std = np.tile([100.0, 1.0], (5, 1))
    assert (mean / std)[:, 1].min() > 1
    m, s = gp.idnns_curves(mean, std)
    assert ((m / s)[:, 1] < 1).all()


def test_onset_match_counts_a_compressing_layer_without_transition_as_a_mismatch():
    r = synthetic(cross_at=(300, 1e9, 300), peak_at=(300, 350, 300))
    mean, std = gp.member_curves(r)
    # layer 2's SNR stays above 1: no transition, yet it compresses
    assert gp.onset_match_share(EPOCHS, mean[..., :2], std[..., :2],
                                r["i_xt"][..., :2]) == pytest.approx(0.5)


def test_claims_on_coinciding_and_distant_phases():
    # three layers; the last is the "output" and is left out
    near = gp.claims(synthetic(cross_at=(300, 400, 300), peak_at=(320, 450, 300)))
    assert [c.verdict for c in near] == ["supported"] * 4
    assert all(np.isfinite([c.low, c.high]).all() for c in near)
    far = gp.claims(synthetic(cross_at=(300, 400, 300), peak_at=(3000, 3500, 300)))
    assert far[3].value == 0 and far[3].verdict == "not supported"
    late = gp.claims(synthetic(cross_at=(3000, 4000, 300), peak_at=(320, 450, 300)))
    assert late[1].verdict == "not supported" and late[1].value == 0


def test_transition_near_350_counts_layers_without_transition_as_misses():
    r = synthetic(cross_at=(300, 1e9, 400), peak_at=(320, 450, 300))
    mean, std = gp.member_curves(r)
    # layer 1 crosses near 300, layer 2 never leaves drift, layer 3 crosses near 400
    assert gp.transition_near_share(EPOCHS, mean, std) == pytest.approx(2 / 3)
    assert gp.median_transition_octaves(EPOCHS, mean, std) < 0.5   # ignores layer 2
    far = synthetic(cross_at=(3000, 1e9, 300))
    m, s = gp.member_curves(far)
    assert gp.transition_near_share(EPOCHS, m[..., :2], s[..., :2]) == 0


def test_a_run_too_short_for_350_epochs_is_not_testable():
    r = synthetic(cross_at=(30, 40, 30), peak_at=(32, 45, 30))
    short = EPOCHS <= 100
    r = Result("information_plane", {}, {k: (v[short] if k == "epochs" else v[:, short])
                                         for k, v in r.arrays.items()})
    rows = gp.claims(r)
    assert rows[1].verdict == rows[2].verdict == "not testable"
    assert "before epoch 175" in rows[1].reason


def test_claims_without_compression_are_not_testable():
    flat = gp.claims(synthetic(peak_at=(4000.0, 4000.0)))
    assert flat[3].verdict == "not testable"
