import numpy as np
import pytest

from analysis.experiments import information_plane as ip


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(activation="gelu"), ValueError, "unknown activation"),
    (dict(seeds=0), ValueError, "seeds"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer"),
])
def test_bad_config_fails_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        ip.Config(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(widths=(10, 7, 2)), ValueError, r"widths\[0\]"),
    (dict(widths=(12, 7, 3)), ValueError, r"widths\[-1\]"),
    (dict(train_fraction=0.0), ValueError, "train_fraction"),
    (dict(train_fraction=1.2), ValueError, "train_fraction"),
    (dict(data="/no/such/var_u.mat"), FileNotFoundError, "/no/such/var_u.mat"),
])
def test_bad_input_fails_before_training(kwargs, error, match, monkeypatch):
    monkeypatch.setattr(ip, "_compute", lambda *a: pytest.fail("training started"))
    with pytest.raises(error, match=match):
        ip.run(ip.Config(**kwargs))


def test_compression_and_fitting_statistics():
    epochs = 5
    i_xt = np.zeros((2, epochs, 2))
    i_xt[:, :, 0] = [3, 5, 4, 3, 2]       # peak at index 1, falls by 3 bits
    i_xt[:, :, 1] = [1, 2, 3, 4, 5]       # never falls
    i_ty = np.zeros_like(i_xt)
    i_ty[:, :, 0] = [0.1, 0.6, 0.7, 0.7, 0.7]
    i_ty[:, :, 1] = [0.0, 0.1, 0.2, 0.3, 0.9]
    drop, peak = ip.compression(i_xt)
    assert drop.tolist() == [3, 0] and peak.tolist() == [1, 4]
    assert ip.fitting_gain(i_xt, i_ty) == pytest.approx([0.5, 0.9])


def test_layer_order_fraction():
    ordered = np.array([[[3.0, 2.0, 1.0]]])
    assert ip.layer_order_fraction(ordered) == 1.0
    assert ip.layer_order_fraction(np.array([[[1.0, 2.0, 1.0]]])) == 0.5


def test_small_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    cfg = ip.Config(seeds=2, epochs=30, n_records=10)
    result = ip.run(cfg, progress=False)
    e = len(result["epochs"])
    assert result["i_xt"].shape == (2, e, 6) and result["train_acc"].shape == (2, e)
    assert np.all(result["i_xt"] <= 12 + 1e-9) and np.all(result["i_xt"] >= 0)
    assert np.all(result["i_ty"] <= result["mi_xy"] + 1e-9)
    # the first hidden layer of 10 tanh units keeps (almost) all 12 bits at initialisation
    assert result["i_xt"][:, 0, 0].min() > 11.5
    again = ip.run(cfg, progress=False)
    assert again.meta["cache"]["status"] == "loaded"
    assert np.array_equal(again["i_xt"], result["i_xt"])
    rows = ip.claims(result)
    assert len(rows) == 1 + 5 + 2 + 2  # fitting, 5 hidden layers, epochs, depth, 2 DPI


def test_animation_is_self_contained_and_offline():
    from analysis import plots

    rng = np.random.default_rng(0)
    html = plots.animate_information_plane(rng.random((2, 6, 3)), rng.random((2, 6, 3)),
                                           np.arange(6), max_frames=4)
    assert "<img" in html or "data:image" in html          # frames are embedded
    assert "fa-play" in html                                # the player is there
    assert "http://" not in html and "https://" not in html  # nothing from a CDN


# --- bins that fit the activation --------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "linear", "softplus"])
def test_fixed_bins_are_refused_for_unbounded_activations(activation):
    with pytest.raises(ValueError, match=r"binning='fixed'.*not bounded to \[-1, 1\]"):
        ip.Config(activation=activation, binning="fixed")


@pytest.mark.parametrize("activation, bins", [("tanh", "fixed"), ("softsign", "fixed"),
                                              ("sigmoid", "fixed"), ("relu", "range"),
                                              ("linear", "range")])
def test_auto_binning_takes_fixed_edges_only_where_they_fit(activation, bins):
    assert ip.Config(activation=activation).bins == bins
    assert ip.Config(activation=activation, binning="range").bins == "range"


def test_auto_range_binning_is_announced(monkeypatch, capsys):
    monkeypatch.setattr(ip, "cached", lambda *a, **k: "computed")
    ip.run(ip.Config(activation="relu"))
    assert "range bins" in capsys.readouterr().out
    ip.run(ip.Config(activation="tanh"))
    assert capsys.readouterr().out == ""


def test_range_binning_run_records_its_binning(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_CACHE", str(tmp_path))
    result = ip.run(ip.Config(activation="relu", seeds=2, epochs=5, n_records=4), progress=False)
    assert result.meta["binning"] == "range"
    assert np.all(result["i_xt"] <= 12 + 1e-9) and np.all(result["i_xt"] >= 0)


# --- the statistics of the verdicts ------------------------------------------------------

EPOCHS = np.array([0, 1, 10, 100, 1000])


def curves(*rows):
    """I(X;T) of shape (2 members, 5 records, layers), both members equal."""
    return np.repeat(np.array(rows, dtype=float).T[None], 2, axis=0)


def test_compressing_uses_the_relative_fall_and_a_peak_after_the_start():
    i_xt = curves([12, 12, 12, 11, 10],     # ceiling: highest at initialisation
                  [2, 5, 5, 4.5, 4],        # peak 5 at record 1, falls 20%
                  [2, 5, 5, 5, 4.9],        # falls 2%: under the 5% threshold
                  [11.995, 11.998, 11, 10, 9])  # at the ceiling, a noise peak after it
    assert ip.compressing(i_xt).tolist() == [False, True, False, False]
    assert ip.at_ceiling(i_xt).tolist() == [True, False, False, True]


def test_epochs_after_peak_and_the_share_of_compressing_layers():
    i_xt = curves([1, 2, 5, 4, 3],          # peak at epoch 10: 990 of 1000 epochs after it
                  [1, 2, 3, 5, 4],          # peak at epoch 100: 900 after it
                  [1, 2, 3, 4, 5])          # no fall: not compressing
    assert ip.epochs_after_peak(i_xt, EPOCHS) == pytest.approx([0.99, 0.9, 0.0])
    assert ip.compressing_epoch_share(i_xt, EPOCHS) == pytest.approx(0.9)
    assert np.isnan(ip.compressing_epoch_share(curves([1, 2, 3, 4, 5]), EPOCHS))


def test_depth_order_is_the_spearman_of_layer_with_peak_epoch():
    deeper_first = curves([1, 2, 3, 5, 4], [1, 2, 5, 4, 3], [1, 5, 4, 3, 2])
    assert ip.depth_order(deeper_first, EPOCHS) == pytest.approx(-1.0)
    deeper_later = curves([1, 5, 4, 3, 2], [1, 2, 5, 4, 3], [1, 2, 3, 5, 4])
    assert ip.depth_order(deeper_later, EPOCHS) == pytest.approx(1.0)
    # one layer of three does not compress: too few to rank
    assert np.isnan(ip.depth_order(curves([1, 5, 4, 3, 2], [1, 2, 5, 4, 3],
                                          [1, 2, 3, 4, 5]), EPOCHS))
    # all peaks at the same epoch: no order to measure
    assert np.isnan(ip.depth_order(curves(*[[1, 5, 4, 3, 2]] * 3), EPOCHS))


def test_fitting_gain_is_undefined_without_a_peak_after_the_start():
    i_xt = curves([5, 4, 3, 2, 1], [1, 5, 4, 3, 2])
    i_ty = curves([0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.6, 0.7, 0.7, 0.7])
    assert np.isnan(ip.layer_fitting_gain(i_xt, i_ty, 0))
    assert ip.layer_fitting_gain(i_xt, i_ty, 1) == pytest.approx(0.5)


def _result(i_xt, i_ty, epochs=EPOCHS):
    from analysis.cache import Result
    return Result("information_plane", {}, {"i_xt": i_xt, "i_ty": i_ty, "epochs": epochs})


def test_claims_mark_a_ceiling_layer_not_testable_and_judge_the_others():
    rng = np.random.default_rng(0)
    layers = [[12, 12, 12, 11.9, 11.9],     # ceiling
              [6, 9, 8, 7, 6],              # peak at epoch 1, falls 33%
              [3, 5, 6, 5, 4],              # peak at epoch 10, falls 33%
              [2, 3, 4, 3.9, 3.9],          # falls 2.5%: does not compress
              [1, 1, 1, 1, 1]]              # the output layer (left out)
    i_xt = curves(*layers) + rng.normal(0, 0.01, (2, 5, 5))
    i_xt = np.concatenate([i_xt] * 5)       # 10 members
    i_ty = np.broadcast_to(np.linspace(0.2, 0.9, 5)[None, :, None], i_xt.shape)
    rows = ip.claims(_result(i_xt, np.array(i_ty)))
    by = {r.statement.split(":")[0]: r for r in rows}
    assert by["Hidden layer 1 compresses"].verdict == "not testable"
    assert "ceiling" in by["Hidden layer 1 compresses"].reason \
        or "initialisation" in by["Hidden layer 1 compresses"].reason
    assert by["Hidden layer 2 compresses"].verdict == "supported"
    assert by["Hidden layer 4 compresses"].verdict == "not supported"
    assert all(np.isfinite([r.low, r.high]).all() for r in rows if r.verdict != "not testable")
    depth = [r for r in rows if r.statement.startswith("Deeper")][0]
    assert depth.verdict == "not testable" and "only 2" in depth.reason
    most = [r for r in rows if r.statement.startswith("Most")][0]
    assert most.value == pytest.approx(0.99) and most.verdict == "supported"
