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
    assert len(rows) == 1 + 5 + 2


def test_animation_is_self_contained_and_offline():
    from analysis import plots

    rng = np.random.default_rng(0)
    html = plots.animate_information_plane(rng.random((2, 6, 3)), rng.random((2, 6, 3)),
                                           np.arange(6), max_frames=4)
    assert "<img" in html or "data:image" in html          # frames are embedded
    assert "fa-play" in html                                # the player is there
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
