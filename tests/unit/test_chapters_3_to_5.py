"""Statistics of chapters 3-5 on synthetic runs whose answers are known."""
import numpy as np
import pytest

from analysis.cache import Result
from analysis.experiments import depth, ib_bound, training_size as ts
from analysis.experiments import information_plane as ip

EPOCHS = np.array([0, 1, 2, 5, 10, 20, 50, 100])


def run_with(i_ty_last_hidden, i_ty_output=None, members=4, layers=3):
    i_ty = np.zeros((members, len(EPOCHS), layers))
    i_ty[:, :, -2] = i_ty_last_hidden
    i_ty[:, :, -1] = i_ty_last_hidden if i_ty_output is None else i_ty_output
    return Result("information_plane", {}, {"epochs": EPOCHS, "i_ty": i_ty,
                                            "i_xt": np.zeros_like(i_ty), "mi_xy": np.array(1.0)})


def ramp(reach_index):
    values = np.linspace(0, 0.5, len(EPOCHS))
    values[reach_index:] = 1.0
    return values


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
    rows = depth.claims(falling)
    assert rows[0].value == -1 and rows[0].passes
    assert rows[1].value == pytest.approx(100 / 2) and rows[1].passes
    rising = {d: run_with(ramp(1 + d)) for d in range(1, 7)}
    assert not depth.claims(rising)[0].passes


def test_training_size_statistics():
    def sized(final, peak):
        values = np.linspace(0, peak, len(EPOCHS))
        values[-2:] = peak, final
        r = run_with(values)
        r.arrays["i_ty"][:, :, 0] = values
        return r

    results = {0.05: sized(0.5, 0.7), 0.2: sized(0.7, 0.7), 0.85: sized(0.9, 0.9)}
    assert ts.label_information_loss(results[0.05]) == pytest.approx(0.2)
    assert ts.label_information_loss(results[0.85]) == pytest.approx(0.0)
    assert [c.passes for c in ts.claims(results)] == [True, True, True]
    with pytest.raises(ValueError, match="0.85"):
        ts.run_sizes(ip.Config(), [0.05, 0.5])


def test_ib_bound_fit_on_a_short_run(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    result = ip.run(ip.Config(seeds=2, epochs=20, n_records=5), progress=False)
    fit = ib_bound.fit_layers(result, betas=np.geomspace(0.1, 500, 80))
    assert fit.distance.shape == (2, 6) and fit.beta.shape == (2, 6)
    # a deterministic layer is an admissible encoder: never above the bound
    assert np.all(fit.distance > -1e-6)
    # the first layer keeps every pattern apart: on the curve, at the largest beta
    assert np.allclose(fit.distance[:, 0], 0.0, atol=1e-3) and np.all(fit.beta[:, 0] == 500)
    assert len(ib_bound.claims(fit)) == 2
