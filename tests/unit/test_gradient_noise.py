"""Chapter 15: the gradient-noise measurement of the critical replication."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from analysis.cache import Result
from analysis.data.images import DataUnavailable
from analysis.experiments import gradient_noise as gn
from analysis.nets import EnsembleMLP

SMALL = gn.Config(dataset="spherical", hidden=(10, 7, 5, 4, 3), seeds=2, epochs=3,
                  n_records=4, steps_per_epoch=20, n_batches=5, measure_batch=200, lr=1e-2)


@pytest.fixture(scope="module")
def small():
    return gn.run(SMALL, progress=False, use_cache=False)


@pytest.mark.parametrize("change, message", [
    ({"dataset": "svhn"}, "dataset\n  Input should be 'mnist', 'fashion_mnist'"),
    ({"activation": "gelu"}, "unknown activation"),
    ({"n_batches": 1}, "n_batches\n  Input should be greater than or equal to 2"),
    ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ({"max_train": 1}, "max_train"),
    ({"optimizer": "lbfgs"}, "optimizer\n  Input should be 'adam' or 'sgd'"),
    ({"train_fraction": 1.0}, "train_fraction"),
])
def test_bad_configurations_fail_at_once(change, message):
    with pytest.raises(ValueError, match=message):
        replace(SMALL, **change)


def test_missing_dataset_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_DATA", str(tmp_path))
    with pytest.raises(DataUnavailable, match="cifar-100-python.tar.gz"):
        gn.run(gn.Config(dataset="cifar100", allow_download=False), progress=False)


def test_measurement_minibatches_must_be_smaller_than_the_training_set():
    with pytest.raises(ValueError, match="measure_batch"):
        gn.run(replace(SMALL, max_train=200), progress=False, use_cache=False)


def test_batch_stream_covers_every_index_once_per_pass():
    rng = np.random.default_rng(0)
    stream = gn.batch_stream(10, 3, rng)
    batches = [next(stream) for _ in range(6)]  # two passes of three full batches
    assert all(len(b) == 3 for b in batches)
    for half in (batches[:3], batches[3:]):
        seen = np.concatenate(half)
        assert len(np.unique(seen)) == 9
    assert len(next(gn.batch_stream(4, 10, rng))) == 4


def test_gradient_statistics_match_per_member_autograd():
    torch.manual_seed(0)
    x = torch.randn(6, 40)
    y = torch.randint(0, 3, (40,))
    model = EnsembleMLP((6, 5, 4, 3), "tanh", seeds=[3, 4])
    batches = [np.arange(i, 40, 4) for i in range(4)]
    mean, std, wnorm = gn.gradient_statistics(
        model, lambda idx: gn.ensemble_loss(model, x, y, idx), batches)
    for k in range(2):
        net = model.member(k)
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        grads = [[] for _ in linears]
        for idx in batches:
            net.zero_grad()
            torch.nn.functional.cross_entropy(net(x[:, idx].T), y[idx]).backward()
            for g, lin in zip(grads, linears):
                g.append(lin.weight.grad.clone().numpy())
        for layer, g in enumerate(grads):
            g = np.stack(g)
            assert mean[k, layer] == pytest.approx(np.linalg.norm(g.mean(0)), rel=1e-4)
            assert std[k, layer] == pytest.approx(np.linalg.norm(g.std(0)), rel=1e-3)
            assert wnorm[k, layer] == pytest.approx(
                np.linalg.norm(linears[layer].weight.detach().numpy()), rel=1e-6)
    assert all(w.grad is None for w in model.weights)  # left clean for training


def test_identical_minibatches_have_zero_std():
    model = EnsembleMLP((4, 3, 2), "tanh", seeds=[0])
    x, y = torch.randn(4, 8), torch.randint(0, 2, (8,))
    mean, std, _ = gn.gradient_statistics(
        model, lambda idx: gn.ensemble_loss(model, x, y, idx), [np.arange(8)] * 3)
    # E[g²] - E[g]² in float32 leaves about sqrt(float32 eps) = 3e-4 of |g|
    assert np.all(mean > 0) and np.all(std < 1e-3 * mean)
    with pytest.raises(ValueError, match="two minibatches"):
        gn.gradient_statistics(model, lambda idx: gn.ensemble_loss(model, x, y, idx),
                               [np.arange(8)])


def test_run_shapes_and_learning(small):
    assert small["epochs"].tolist() == [0, 1, 2, 3]
    for key in ("grad_mean", "grad_std", "weight_norm"):
        assert small[key].shape == (2, 4, 6) and np.isfinite(small[key]).all(), key
    assert small["train_loss"][:, -1].mean() < small["train_loss"][:, 0].mean()
    assert small.meta["sizes"] == [3482, 614]  # 85% of 4096
    assert small.meta["data"]["kind"] == "generated"


def test_run_is_reproducible_and_training_ignores_the_record_schedule(small):
    again = gn.run(SMALL, progress=False, use_cache=False)
    for key in ("grad_mean", "grad_std", "test_acc"):
        assert np.array_equal(small[key], again[key]), key
    # the weights after each epoch depend only on the training stream
    sparse = gn.run(replace(SMALL, n_records=1), progress=False, use_cache=False)
    assert sparse["epochs"].tolist() == [0, 1, 3]
    assert np.array_equal(sparse["weight_norm"][:, -1], small["weight_norm"][:, -1])


def test_one_pass_epochs():
    r = gn.run(replace(SMALL, steps_per_epoch=None, batch_size=1000, epochs=1, n_records=1),
               progress=False, use_cache=False)
    assert r["epochs"].tolist() == [0, 1]
    assert np.all(r["weight_norm"][:, 1] != r["weight_norm"][:, 0])


def test_cache_key_changes_with_the_data(monkeypatch, small):
    first = gn.run(SMALL, progress=False)
    assert first.meta["cache"]["status"] == "computed"
    assert gn.run(SMALL, progress=False).meta["cache"]["status"] == "loaded"
    real = gn.load_data

    def other_source(config):
        data = real(config)
        data.fingerprint = {**data.fingerprint, "kind": "downloaded"}
        return data

    monkeypatch.setattr(gn, "load_data", other_source)
    assert gn.run(SMALL, progress=False).meta["cache"]["status"] == "computed"


def _result(ratios: list[float], epochs: list[int], steps: int = 100) -> Result:
    r = np.asarray(ratios)[None, :, None]
    return Result("t", {"steps_per_epoch": steps, "dataset": "mnist"},
                  {"epochs": np.asarray(epochs), "grad_mean": r, "grad_std": np.ones_like(r)})


def test_drift_steps():
    assert gn.drift_steps(_result([3.0, 2.0, 0.5, 0.3], [0, 1, 2, 5], steps=10)) == 20
    assert np.isnan(gn.drift_steps(_result([0.9, 2.0, 0.5], [0, 1, 2])))  # no drift at start
    assert np.isnan(gn.drift_steps(_result([3.0, 2.0, 1.5], [0, 1, 2])))  # drift never ends


def test_claims_read_the_first_layer_ratio():
    noisy = _result([3.0, 0.5, 0.4, 0.3], [0, 1, 2, 5])
    drifting = _result([3.0, 2.0, 1.5, 0.3], [0, 1, 2, 5])
    fine = _result([3.0, 2.0, 0.5, 0.3], [0, 1, 2, 5], steps=10)
    rows = gn.claims({"mnist": noisy, "other": drifting}, spherical=drifting, fine=fine)
    verdicts = [c.passes for c in rows]
    assert verdicts == [True, True, False, False, True, True, True]
    assert rows[4].value == 20
    late = _result([3.0, 2.0, 2.0, 0.3], [0, 1, 9, 12], steps=10)
    assert not gn.claims({}, fine=late)[0].passes  # 120 steps: longer than an epoch
    assert rows[0].value == 1.0 and rows[2].value == pytest.approx(1 / 3)
    assert gn.snr(noisy).tolist() == [3.0, 0.5, 0.4, 0.3]


def test_run_datasets_leaves_out_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_BOOK_DATA", str(tmp_path))
    tiny = replace(SMALL, epochs=1, n_records=1, steps_per_epoch=2, n_batches=2,
                   allow_download=False)
    results, missing = gn.run_datasets(tiny, ["spherical", "cifar10"], progress=False,
                                       use_cache=False)
    assert list(results) == ["spherical"]
    assert list(missing) == ["cifar10"] and "cifar-10-python.tar.gz" in missing["cifar10"]
    with pytest.raises(ValueError, match="dataset\n  Input should be 'mnist'"):
        gn.run_datasets(tiny, ["spherical", "svhn"], progress=False)
