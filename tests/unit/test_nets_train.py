import numpy as np
import pytest
import torch

from analysis.data import spherical_rule
from analysis.nets import SZT_WIDTHS, EnsembleMLP, check_architecture, check_device, fast_tanh
from analysis.train import TrainConfig, log_spaced_epochs, member_splits, train_ensemble


@pytest.fixture(scope="module")
def task():
    return spherical_rule()


def test_fast_tanh_matches_tanh():
    x = torch.linspace(-30, 30, 200001)
    assert torch.max(torch.abs(fast_tanh(x) - torch.tanh(x))) < 3e-7


def test_members_equal_plain_sequential_networks():
    model = EnsembleMLP(SZT_WIDTHS, "relu", seeds=[3, 4, 5])
    x = torch.randn(64, 12)
    logits = model(x.T)
    for k in range(3):
        assert torch.allclose(logits[k].T, model.member(k)(x), atol=1e-5)


def test_member_does_not_depend_on_the_ensemble():
    alone = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[7])
    inside = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[1, 7, 2])
    for w_alone, w_inside in zip(alone.weights, inside.weights):
        assert torch.equal(w_alone[0], w_inside[1])


def test_initialisation_is_truncated_normal_with_fan_in_scale():
    model = EnsembleMLP((400, 300, 2), "tanh", seeds=range(4))
    w = model.weights[0].detach()
    std = 400 ** -0.5
    assert torch.all(w.abs() <= 2 * std + 1e-7)
    # a normal truncated at 2 sd has sd 0.880 of the untruncated one
    assert w.std().item() == pytest.approx(0.880 * std, rel=0.02)
    assert torch.all(model.biases[0] == 0)


def test_layers_are_recorded_with_softmax_output():
    model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[0, 1])
    _, layers = model(torch.rand(12, 50), return_layers=True)
    assert [t.shape[1] for t in layers] == list(SZT_WIDTHS[1:])
    assert torch.allclose(layers[-1].sum(1), torch.ones(2, 50))
    assert all(t.abs().max() <= 1 for t in layers[:-1])


def test_noisy_network_adds_noise_of_the_given_scale():
    model = EnsembleMLP((12, 10, 2), "linear", seeds=[0], noise_std=0.1)
    x = torch.zeros(12, 20000)
    _, layers = model(x, return_layers=True, noise_generator=torch.Generator().manual_seed(0))
    assert layers[0].std().item() == pytest.approx(0.1, rel=0.02)


@pytest.mark.parametrize("kwargs, match", [
    (dict(widths=SZT_WIDTHS, activation="swish"), "unknown activation 'swish'.*tanh"),
    (dict(widths=(12,), activation="tanh"), "at least input and output"),
    (dict(widths=(12, 0, 2), activation="tanh"), "at least input and output"),
    (dict(widths=(10, 5, 2), activation="tanh", n_features=12), r"widths\[0\] = 10.*12 input"),
    (dict(widths=(12, 5, 3), activation="tanh", n_classes=2), r"widths\[-1\] = 3.*2 classes"),
])
def test_bad_architectures_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_architecture(**kwargs)


def test_unavailable_device_is_refused():
    with pytest.raises(ValueError, match="device"):
        check_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda")


def test_original_schedule_has_274_epochs_plus_initialisation():
    epochs = log_spaced_epochs(8000, 400)
    assert len(epochs) == 275 and epochs[0] == 0 and epochs[-1] == 8000
    assert np.all(np.diff(epochs) > 0)


def test_first_split_reproduces_the_original_code():
    train, test = member_splits(4096, 0.8, seeds=[0, 1], split="first")
    assert test.shape == (2, 819) and np.array_equal(test[0], np.arange(3277, 4096))


def test_random_splits_differ_per_seed_and_partition_the_data():
    train, test = member_splits(4096, 0.85, seeds=[0, 1])
    assert train.shape == (2, 3482)
    assert not np.array_equal(train[0], train[1])
    for k in range(2):
        assert np.array_equal(np.sort(np.concatenate([train[k], test[k]])), np.arange(4096))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5, 1e-5])
def test_bad_training_fraction(fraction):
    with pytest.raises(ValueError, match="train_fraction"):
        member_splits(4096, fraction, seeds=[0])


@pytest.mark.parametrize("kwargs, match", [(dict(epochs=0), "epochs"), (dict(lr=0), "lr"),
                                           (dict(optimizer="lbfgs"), "adam, sgd"),
                                           (dict(batch_size=0), "batch_size")])
def test_bad_training_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("backend", ["torch", "fast"])
def test_ensemble_training_equals_training_each_member_alone(task, backend):
    seeds = [11, 12, 13]
    cfg = TrainConfig(optimizer="adam", lr=1e-2, batch_size=256, epochs=3)
    tr, te = member_splits(task.n_samples, 0.3, seeds)
    ensemble = EnsembleMLP(SZT_WIDTHS, "tanh", seeds, noise_std=0.05)
    train_ensemble(ensemble, task, tr, te, cfg, progress=False, backend=backend)
    for k, s in enumerate(seeds):
        alone = EnsembleMLP(SZT_WIDTHS, "tanh", [s], noise_std=0.05)
        train_ensemble(alone, task, tr[k:k + 1], te[k:k + 1], cfg, progress=False,
                       backend=backend)
        for w_e, w_a in zip(ensemble.weights, alone.weights):
            assert torch.allclose(w_e[k], w_a[0], atol=1e-5)


def test_training_learns_the_rule_and_records_every_epoch(task):
    seeds = [0, 1]
    tr, te = member_splits(task.n_samples, 0.85, seeds)
    model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds)
    seen = []
    hist = train_ensemble(model, task, tr, te, TrainConfig(lr=0.01, epochs=40, n_records=10),
                          on_record=lambda s: seen.append((s.epoch, s.layers[2].shape)),
                          progress=False)
    assert [e for e, _ in seen] == hist.epochs.tolist() and seen[0][0] == 0
    assert seen[0][1] == (2, 5, 4096)
    assert np.all(hist.train_acc[:, -1] > 0.85) and np.all(hist.test_acc[:, -1] > 0.8)
    assert np.all(hist.train_loss[:, -1] < hist.train_loss[:, 0])


@pytest.mark.parametrize("backend", ["torch", "fast"])
def test_full_batch_gradient_descent_is_deterministic(task, backend):
    tr, te = member_splits(task.n_samples, 0.5, [5])
    runs = []
    for _ in range(2):
        model = EnsembleMLP(SZT_WIDTHS, "relu", [5])
        runs.append(train_ensemble(model, task, tr, te, TrainConfig(
            optimizer="sgd", lr=0.1, batch_size=None, epochs=5), progress=False,
            backend=backend).train_loss)
    assert np.array_equal(runs[0], runs[1])


def test_gradient_moments_match_numpy():
    from analysis.train import GradientMoments

    w = torch.nn.Parameter(torch.ones(2, 3, 4))
    batches = [torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(i)) for i in range(5)]
    moments = GradientMoments([w])
    for g in batches:
        w.grad = g.clone()
        moments.add()
    mean, std, norm = moments.norms()
    stack = torch.stack(batches).numpy()
    for k in range(2):
        assert mean[k, 0] == pytest.approx(np.linalg.norm(stack[:, k].mean(0)), rel=1e-5)
        assert std[k, 0] == pytest.approx(np.linalg.norm(stack[:, k].std(0)), rel=1e-5)
        assert norm[k, 0] == pytest.approx(np.sqrt(12.0))


@pytest.mark.parametrize("backend", ["torch", "fast"])
def test_gradient_statistics_are_recorded(task, backend):
    tr, te = member_splits(task.n_samples, 0.85, [0, 1])
    model = EnsembleMLP(SZT_WIDTHS, "tanh", [0, 1])
    hist = train_ensemble(model, task, tr, te, TrainConfig(epochs=4, n_records=4),
                          progress=False, backend=backend)
    assert hist.grad_mean.shape == (2, len(hist.epochs), 6) and hist.epochs.tolist() == [0, 1, 2, 4]
    assert np.all(np.isnan(hist.grad_mean[:, 0])) and np.all(hist.grad_std[:, 1:] > 0)
    full = train_ensemble(EnsembleMLP(SZT_WIDTHS, "tanh", [0]), task, tr[:1], te[:1],
                          TrainConfig(batch_size=None, epochs=2), progress=False,
                          backend=backend)
    assert np.allclose(full.grad_std[:, 1:], 0.0, atol=1e-6)  # one batch: no spread


def test_signals_are_the_noiseless_layer_outputs():
    x = torch.as_tensor(spherical_rule().x[:64], dtype=torch.float32).T
    clean = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[0, 1])
    _, layers = clean(x, return_layers=True)
    signals = clean.signals(x)
    for s, t in zip(signals[:-1], layers[:-1]):
        assert torch.equal(s, t)
    assert torch.allclose(torch.softmax(signals[-1], 1), layers[-1])
    noisy = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[0, 1], noise_std=0.05)
    signals = noisy.signals(x, torch.Generator().manual_seed(3))
    assert torch.equal(signals[0], layers[0])          # nothing noisy before layer 1
    assert not torch.equal(signals[1], layers[1])      # layer 1's noise propagates
    again = noisy.signals(x, torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(signals, again))


@pytest.mark.parametrize("backend", ["torch", "fast"])
def test_noisy_training_is_reproducible_and_noisy(task, backend):
    def train(noise_std):
        model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[0, 1], noise_std=noise_std)
        tr, te = member_splits(task.n_samples, 0.85, [0, 1])
        return train_ensemble(model, task, tr, te, TrainConfig(epochs=3, n_records=3),
                              progress=False, backend=backend)
    a, b, clean = train(0.1), train(0.1), train(0.0)
    assert np.array_equal(a.train_loss, b.train_loss)
    assert not np.array_equal(a.train_loss, clean.train_loss)


def test_after_step_runs_after_every_update(task):
    model = EnsembleMLP((12, 4, 2), "tanh", seeds=[0])
    tr, te = member_splits(task.n_samples, 0.5, [0])
    calls = []
    hist = train_ensemble(model, task, tr, te, TrainConfig(batch_size=512, epochs=2, n_records=2),
                          progress=False, after_step=lambda: calls.append(1))
    assert len(calls) == 2 * 4          # 2048 training patterns in batches of 512
    assert hist.backend == "torch"      # the compiled path cannot call Python per step
