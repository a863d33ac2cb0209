import numpy as np
import pytest

from analysis.cache import Result
from analysis.experiments import gradient_phases as gp
from analysis.train import log_spaced_epochs

EPOCHS = log_spaced_epochs(4000, 200)


def synthetic(cross_at=(300.0, 600.0), peak_at=(300.0, 2000.0), members=3):
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


def test_claims_on_coinciding_and_distant_phases():
    # three layers; the last is the "output" and is left out
    near = gp.claims(synthetic(cross_at=(300, 400, 300), peak_at=(320, 450, 300)))
    assert [c.passes for c in near] == [True, True, True]
    far = gp.claims(synthetic(cross_at=(300, 400, 300), peak_at=(3000, 3500, 300)))
    assert far[2].value == 0 and not far[2].passes
