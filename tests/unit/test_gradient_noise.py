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
    # log-spaced steps over 60 (4 points: 1, 3.9, 15.3, 60, truncated) and the starts of
    # the 3 epochs of 20 steps
    assert small["steps"].tolist() == [0, 1, 3, 15, 20, 40, 60]
    assert small["epoch_record"].tolist() == [1, 0, 0, 0, 1, 1, 1]
    assert small["log_record"].tolist() == [1, 1, 1, 1, 0, 0, 1]
    for key in ("grad_mean", "grad_std", "weight_norm"):
        assert small[key].shape == (2, 7, 6) and np.isfinite(small[key]).all(), key
    assert small["train_loss"][:, -1].mean() < small["train_loss"][:, 0].mean()
    assert small.meta["sizes"] == [3482, 614]  # 85% of 4096
    assert small.meta["data"]["kind"] == "generated" and small.meta["steps_per_epoch"] == 20


def test_run_is_reproducible_and_training_ignores_the_record_schedule(small):
    again = gn.run(SMALL, progress=False, use_cache=False)
    for key in ("grad_mean", "grad_std", "test_acc"):
        assert np.array_equal(small[key], again[key]), key
    # the weights after each step depend only on the training stream
    sparse = gn.run(replace(SMALL, n_records=1, every_epoch=False), progress=False,
                    use_cache=False)
    assert sparse["steps"].tolist() == [0, 1, 60]
    assert np.array_equal(sparse["weight_norm"][:, -1], small["weight_norm"][:, -1])


def test_one_pass_epochs():
    r = gn.run(replace(SMALL, steps_per_epoch=None, batch_size=1000, epochs=1, n_records=1),
               progress=False, use_cache=False)
    assert r.meta["steps_per_epoch"] == 3  # 3482 // 1000
    assert r["steps"].tolist() == [0, 1, 3]
    assert np.all(r["weight_norm"][:, -1] != r["weight_norm"][:, 0])


def test_record_schedule_joins_log_spaced_steps_and_epoch_starts():
    steps, log, epoch = gn.record_schedule(16, 5, 5)
    # 5 log-spaced points over [1, 16]: 1, 2, 4, 8, 16; epochs of 5 steps start at 0..15
    assert steps.tolist() == [0, 1, 2, 4, 5, 8, 10, 15, 16]
    assert steps[log].tolist() == [0, 1, 2, 4, 8, 16]
    assert steps[epoch].tolist() == [0, 5, 10, 15]
    steps, log, epoch = gn.record_schedule(16, 5, None)
    assert steps.tolist() == [0, 1, 2, 4, 8, 16] and log.all() and not epoch.any()


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


# --- statistics, against hand-computed cases --------------------------------------------

def test_epoch_statistics_average_norms_over_members_then_divide():
    # records at steps 0, 5, 10, 20, 30; epochs of 10 steps start at 0, 10, 20, 30
    epoch = np.array([1, 0, 1, 1, 1], bool)
    mean = np.array([[3, 2, 0.5, 2.0, 0.2], [3, 2, 0.7, 0.4, 0.2]])[:, :, None]
    std = np.ones_like(mean)
    # member-averaged |mean| at the epoch starts after the first: 0.6, 1.2, 0.2
    assert gn.epoch_snr(mean, std, epoch) == pytest.approx([0.6, 1.2, 0.2])
    assert gn.noise_dominated_share(mean, std, epoch) == pytest.approx(2 / 3)
    assert gn.snr_after_one_epoch(mean, std, epoch) == pytest.approx(0.6)
    # averaging ratios instead would give (2.0 + 0.4) / 2 = 1.2 at the third record too;
    # with unequal stds it differs: norms are averaged first
    std2 = std.copy()
    std2[1, 3] = 4.0        # member 2's std at step 20
    assert gn.epoch_snr(mean, std2, epoch)[1] == pytest.approx(1.2 / 2.5)


def test_plateau_step_is_where_90_percent_of_the_fall_is_made():
    steps = np.array([0, 1, 2, 4, 8, 16])
    acc = np.array([[0.1, 0.5, 0.8, 0.9, 0.91, 0.905]])
    # error 0.9, 0.5, 0.2, 0.1, 0.09, 0.095: fall to the lowest 0.81; 90% of it leaves
    # 0.171 -> first reached at step 4 (error 0.1)
    assert gn.plateau_step(steps, acc) == 4
    assert gn.plateau_step(steps, acc, share=0.5) == 2      # 0.9 - 0.405 = 0.495
    assert np.isnan(gn.plateau_step(steps, np.full((1, 6), 0.3)))


def _phases(first_drift: int, n: int = 30, layers: int = 3) -> tuple[np.ndarray, ...]:
    """Steps 0..n; layer 0 has SNR 4 at steps 1..first_drift and 1/4 after; layer 1 is
    below 1 throughout; the last (output) layer drifts throughout."""
    steps = np.arange(n + 1)
    snr = np.full((n + 1, layers), 4.0)
    snr[first_drift + 1:, 0] = 0.25
    snr[:, 1] = 0.25
    mean = np.stack([snr, snr])            # two identical members
    return steps, mean, np.ones_like(mean)


def test_transitions_use_the_book_statistic():
    steps, mean, std = _phases(15)
    # log SNR = +log 4 at steps 1..15, -log 4 from 16; a centred window of 9 records is
    # positive while it holds 5 of the first kind: centred on step 15 (steps 11..19: 5
    # positive) it is, on step 16 (12..20: 4 positive) it is not -> transition at 16
    trans = gn.transitions(steps, mean, std)
    assert trans[0] == 16 and np.isnan(trans[1]) and np.isnan(trans[2])
    assert gn.transition_share(steps, mean, std) == 0.5   # hidden layers 0 and 1


def test_plateau_mismatch_compares_transition_and_plateau_in_log2():
    steps, mean, std = _phases(15)
    acc = np.zeros((2, 31))
    acc[:, 8:] = 1.0                      # the error falls at once at step 8
    assert gn.plateau_mismatch(steps, mean, std, acc) == pytest.approx(1.0)  # 16 vs 8
    acc = np.zeros((2, 31))
    acc[:, 16:] = 1.0
    assert gn.plateau_mismatch(steps, mean, std, acc) == pytest.approx(0.0)
    steps, mean, std = _phases(30)        # drift never ends: no transition
    assert np.isnan(gn.plateau_mismatch(steps, mean, std, acc))


def _result(snr_first: list[float], steps: list[int], epoch: list[int],
            members: int = 5) -> Result:
    r = np.tile(np.asarray(snr_first, float)[None, :, None], (members, 1, 4))
    return Result("t", {"steps_per_epoch": 10, "dataset": "mnist"},
                  {"steps": np.asarray(steps), "log_record": np.ones(len(steps), bool),
                   "epoch_record": np.asarray(epoch, bool), "grad_mean": r,
                   "grad_std": np.ones_like(r), "test_acc": np.ones(r.shape[:2])})


def test_replication_rows_decide_with_intervals_and_name_missing_data():
    noisy = _result([3.0, 0.5, 0.4, 0.3], [0, 10, 20, 30], [1, 1, 1, 1])
    drifting = _result([3.0, 2.0, 0.5, 0.3], [0, 10, 20, 30], [1, 1, 1, 1])
    rows = gn.replication_rows("MNIST", noisy) + gn.replication_rows("X", drifting)
    assert [c.verdict for c in rows] == ["supported", "supported",
                                         "not supported", "not supported"]
    assert rows[0].value == 1.0 and rows[1].value == pytest.approx(0.5)
    assert rows[2].value == pytest.approx(2 / 3) and (rows[2].low, rows[2].high) == (
        pytest.approx(2 / 3), pytest.approx(2 / 3))     # identical members
    assert rows[0].interval == "bootstrap over 5 seeds"
    few = gn.replication_rows("MNIST", _result([3.0, 0.5, 0.4, 0.3], [0, 10, 20, 30], [1] * 4, 3))
    assert [c.verdict for c in few] == ["inconclusive"] * 2     # 3 seeds: no interval
    missing = gn.replication_rows("CIFAR-100", None)
    assert [c.verdict for c in missing] == ["not testable"] * 2
    assert missing[0].reason == "the CIFAR-100 files are not present here"
    assert all(c.source == gn.BLOG for c in rows + missing)
    assert gn.replication_rows("F", noisy, source=gn.EXTENSION)[0].source == gn.EXTENSION


def test_claims_attribute_rows_and_keep_missing_datasets():
    noisy = _result([3.0, 0.5, 0.4, 0.3], [0, 10, 20, 30], [1, 1, 1, 1])
    rows = gn.claims({"mnist": noisy}, ["cifar100"], noisy, {"Fashion-MNIST": noisy})
    sources = [c.source for c in rows]
    assert sources == [gn.BLOG] * 4 + [gn.SZT, gn.BLOG] * 2 + [gn.EXTENSION] * 2
    assert rows[2].statement.startswith("CIFAR-100") and rows[2].verdict == "not testable"
    # no drift at all under this measurement: no transition, the plateau row not testable
    assert rows[4].value == 0.0 and rows[5].verdict == "not testable"


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
