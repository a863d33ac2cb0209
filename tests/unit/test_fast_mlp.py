"""The compiled training path (analysis.fast_mlp) against the torch path, and the
counter-based randomness (analysis.rng) both paths share.

Float32 tolerance: over ~280 Adam steps at the book's learning rate (or SGD steps) the
two paths agree to 1e-5 in every weight, activation and relative loss, and to 1e-4 in
the relative gradient statistics (the Frobenius norm of a mean over 7 batches cancels
digits). Measured differences are ~1e-6.
"""
import numpy as np
import pytest
import torch

from analysis import fast_mlp, rng
from analysis.data import spherical_rule
from analysis.nets import SZT_WIDTHS, EnsembleCNN, EnsembleMLP
from analysis.threads import set_threads
from analysis.train import (TrainConfig, member_splits, noise_generator, select_backend,
                            train_ensemble)

TOL = 1e-5


@pytest.fixture(scope="module")
def task():
    return spherical_rule()


# ---- counter-based randomness -------------------------------------------------------

def test_keyed_hash_is_the_same_on_ints_tensors_and_in_the_kernel():
    k0, k1 = 123456789, 4000000000
    c = np.arange(5000)
    in_torch = rng.keyed_hash(torch.arange(5000), k0, k1).numpy()
    in_python = [rng.keyed_hash(int(i), k0, k1) for i in c[:200]]
    compiled = [fast_mlp._keyed_hash(np.int64(i), np.int64(k0), np.int64(k1)) for i in c[:200]]
    assert in_torch[:200].tolist() == in_python == compiled
    assert in_torch.min() >= 0 and in_torch.max() < 2 ** 32
    assert len(np.unique(in_torch)) == 5000          # a bijection: no ties


def test_stream_keys_agree_with_the_kernel_and_differ_per_word():
    seeds = [0, 1, 2 ** 40, -3]
    keys = rng.stream_keys(seeds, 1, 5, 7, 2)
    for s, k in zip(seeds, keys):
        w = [np.uint64(v & (2 ** 64 - 1)) for v in (s, 1, 5, 7, 2)]
        assert tuple(k) == fast_mlp._stream_key(*w)
    variants = [rng.stream_keys([0], *words)[0].tolist()
                for words in [(1, 5, 7, 2), (2, 5, 7, 2), (1, 6, 7, 2), (1, 5, 8, 2), (1, 5, 7, 3)]]
    assert len({tuple(v) for v in variants}) == 5


def test_orders_are_permutations_the_same_compiled_and_in_torch():
    seeds = [3, 9, 27]
    a = rng.member_orders(seeds, 3482, epoch=4, compiled=True)
    b = rng.member_orders(seeds, 3482, epoch=4, compiled=False)
    assert torch.equal(a, b)
    assert all(torch.equal(row.sort().values, torch.arange(3482)) for row in a)
    assert not torch.equal(a[0], a[1])
    assert not torch.equal(a, rng.member_orders(seeds, 3482, epoch=5))
    alone = rng.member_orders([9], 3482, epoch=4)
    assert torch.equal(alone[0], a[1])               # member k does not see the others


@pytest.mark.parametrize("n", [1, 7, 20000])
def test_gaussians_compiled_equal_torch_and_are_standard_normal(n):
    keys = rng.stream_keys([0, 1], rng.TRAIN_NOISE, 3, 1, 0)
    compiled = fast_mlp.gaussians(keys, n)
    in_torch = rng.gaussian_from_keys(torch.as_tensor(keys), n).numpy()
    assert np.allclose(compiled, in_torch, rtol=0, atol=1e-6)
    if n == 20000:
        z = compiled.astype(np.float64)
        assert abs(z.mean()) < 0.03 and abs(z.var() - 1) < 0.03
        assert abs(np.mean(np.abs(z) > 1.96) - 0.05) < 0.006
        assert abs(np.corrcoef(z[0], z[1])[0, 1]) < 0.03


def test_member_noise_is_fixed_by_the_member_and_repeats():
    x = torch.as_tensor(spherical_rule().x[:64], dtype=torch.float32).T
    both = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[4, 8], noise_std=0.1)
    alone = EnsembleMLP(SZT_WIDTHS, "tanh", seeds=[8], noise_std=0.1)
    gen = noise_generator([4, 8], 2 ** 31 + 5)
    s_both = both.signals(x, gen)
    s_again = both.signals(x, gen)
    s_alone = alone.signals(x, noise_generator([8], 2 ** 31 + 5))
    for a, b, c in zip(s_both, s_again, s_alone):
        assert torch.equal(a, b)
        assert torch.allclose(a[1], c[0], atol=1e-6)
    other = both.signals(x, noise_generator([4, 8], 2 ** 31 + 6))
    assert not torch.equal(other[1], s_both[1])


def test_cnn_takes_member_noise():
    cnn = EnsembleCNN((1, 8, 8), channels=(2,), dense=(4,), n_classes=3, kernel=3,
                      seeds=[0, 1], noise_std=0.2)
    x = torch.rand(64, 5)
    t1 = cnn.signals(x, noise_generator([0, 1], 1))
    t2 = cnn.signals(x, noise_generator([0, 1], 1))
    assert all(torch.equal(a, b) for a, b in zip(t1, t2))
    assert not torch.equal(t1[1], cnn.signals(x, noise_generator([0, 1], 2))[1])


# ---- the compiled path against the torch path ---------------------------------------

def _both(task, activation="tanh", optimizer="adam", lr=4e-4, batch=512, epochs=40,
          noise=0.0, parseval=0.0, seeds=(0, 1, 2)):
    tr, te = member_splits(task.n_samples, 0.85, seeds)
    cfg = TrainConfig(optimizer=optimizer, lr=lr, batch_size=batch, epochs=epochs,
                      n_records=6)
    out = {}
    for backend in ("torch", "fast"):
        model = EnsembleMLP(SZT_WIDTHS, activation, seeds, noise_std=noise)
        snaps = []
        hist = train_ensemble(model, task, tr, te, cfg, progress=False, backend=backend,
                              parseval=parseval,
                              on_record=lambda s: snaps.append([t.clone() for t in s.layers]))
        assert hist.backend == backend
        out[backend] = (hist, model, snaps)
    return out["torch"], out["fast"]


@pytest.mark.parametrize("kwargs", [
    dict(),                                                    # tanh, Adam, batch 512
    dict(activation="relu"),
    dict(optimizer="sgd", lr=0.05),
    dict(optimizer="sgd", lr=0.1, batch=None, epochs=100),     # full-batch GD
    dict(noise=0.05),                                          # noisy network
    dict(noise=0.05, optimizer="sgd", lr=0.1, batch=None, epochs=30),  # noise, 7 tiles
    dict(parseval=0.01),                                       # chapter 13's constraint
], ids=["tanh-adam", "relu-adam", "tanh-sgd", "tanh-fullbatch", "noisy",
        "noisy-fullbatch", "parseval"])
def test_fast_path_follows_the_torch_path(task, kwargs):
    (ht, mt, st), (hf, mf, sf) = _both(task, **kwargs)
    for a, b in zip(list(mt.parameters()), list(mf.parameters())):
        assert torch.allclose(a, b, rtol=0, atol=TOL)
    np.testing.assert_allclose(hf.train_loss, ht.train_loss, rtol=TOL)
    np.testing.assert_allclose(hf.test_loss, ht.test_loss, rtol=TOL)
    assert np.allclose(hf.train_acc, ht.train_acc, atol=2 / 3482)
    assert len(st) == len(sf) == len(ht.epochs)
    for layers_t, layers_f in zip(st, sf):
        for a, b in zip(layers_t, layers_f):
            assert torch.allclose(a, b, rtol=0, atol=TOL)
    for key in ("grad_mean", "grad_std", "weight_norm"):
        t, f = getattr(ht, key)[:, 1:], getattr(hf, key)[:, 1:]
        np.testing.assert_allclose(f, t, rtol=1e-4, atol=1e-9)
        assert np.all(np.isnan(getattr(hf, key)[:, 0]))
    assert hf.train_loss[:, -1].mean() < hf.train_loss[:, 0].mean()


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "softsign", "softplus"])
def test_every_activation_runs_on_the_fast_path(task, activation):
    (ht, mt, _), (hf, mf, _) = _both(task, activation=activation, lr=1e-3, epochs=8)
    for a, b in zip(mt.weights, mf.weights):
        assert torch.allclose(a, b, rtol=0, atol=TOL)
    np.testing.assert_allclose(hf.train_loss, ht.train_loss, rtol=TOL)


def test_member_alone_is_bit_identical_to_member_in_ensemble(task):
    seeds = [11, 12, 13]
    cfg = TrainConfig(lr=1e-2, batch_size=256, epochs=6, n_records=3)
    tr, te = member_splits(task.n_samples, 0.3, seeds)
    ensemble = EnsembleMLP(SZT_WIDTHS, "tanh", seeds, noise_std=0.05)
    h = train_ensemble(ensemble, task, tr, te, cfg, progress=False, parseval=0.01,
                       backend="fast")
    for k, s in [(2, 13), (0, 11)]:
        alone = EnsembleMLP(SZT_WIDTHS, "tanh", [s], noise_std=0.05)
        ha = train_ensemble(alone, task, tr[k:k + 1], te[k:k + 1], cfg, progress=False,
                            parseval=0.01, backend="fast")
        for w_e, w_a in zip(ensemble.parameters(), alone.parameters()):
            assert torch.equal(w_e[k], w_a[0])
        np.testing.assert_array_equal(h.grad_std[k], ha.grad_std[0])


def test_parseval_step_makes_hidden_rows_orthonormal(task):
    tr, te = member_splits(task.n_samples, 0.85, [0])
    cfg = TrainConfig(epochs=30, n_records=2)

    def distance(parseval):
        model = EnsembleMLP(SZT_WIDTHS, "tanh", [0])
        train_ensemble(model, task, tr, te, cfg, progress=False, parseval=parseval)
        return [torch.linalg.norm(w[0] @ w[0].T - torch.eye(w.shape[1])).item()
                for w in model.weights]

    free, constrained = distance(0.0), distance(0.05)
    assert all(c < 0.1 * f for c, f in zip(constrained[:-1], free[:-1]))
    assert constrained[-1] > 0.1 * free[-1]             # the output layer is left alone


def test_kernel_trainer_counts_batches_and_holds_its_weights(task):
    model = EnsembleMLP((12, 4, 2), "tanh", [0, 1])
    tr, _ = member_splits(task.n_samples, 0.5, [0, 1])
    trainer = fast_mlp.KernelTrainer(model, task.x, task.y, tr, "adam", 1e-2, 500)
    before = model.weights[0].detach().clone()
    trainer.train(1, 2, record=True)
    assert trainer.steps == 2 * 5 and trainer.steps_per_epoch == 5     # 2048 rows / 500
    assert torch.equal(model.weights[0], before)       # the model changes only on copy
    trainer.copy_to_model(model)
    assert not torch.equal(model.weights[0], before)
    sums, squares, n = trainer.gradient_sums()
    assert n == 5 and sums[0].shape == (2, 4, 12) and torch.all(squares[0] >= 0)


# ---- choosing the backend, and bad inputs ----------------------------------------------

def test_auto_picks_the_kernel_for_cpu_mlps_only():
    mlp = EnsembleMLP((12, 3, 2), "tanh", [0])
    cnn = EnsembleCNN((1, 8, 8), channels=(2,), dense=(4,), n_classes=2, kernel=3)
    assert select_backend(mlp, "auto", "adam") == "fast"
    assert select_backend(mlp, "auto", "adam", after_step=lambda: None) == "torch"
    assert select_backend(cnn, "auto", "sgd") == "torch"
    assert select_backend(mlp, "torch", "adam") == "torch"
    wide = EnsembleMLP((784, 1024, 10), "tanh", [0])          # MKL's products win there
    assert select_backend(wide, "auto", "adam") == "torch"
    assert select_backend(wide, "fast", "adam") == "fast"


@pytest.mark.parametrize("call, match", [
    (lambda m, c: select_backend(m, "fast", "adam", after_step=lambda: None),
     "after_step.*parseval"),
    (lambda m, c: select_backend(c, "fast", "adam"), "EnsembleMLP only"),
    (lambda m, c: select_backend(m, "numba", "adam"), "unknown backend 'numba'"),
    (lambda m, c: select_backend(m.double(), "fast", "adam"), "float32"),
])
def test_fast_backend_refuses_what_it_cannot_serve(call, match):
    mlp = EnsembleMLP((12, 3, 2), "tanh", [0])
    cnn = EnsembleCNN((1, 8, 8), channels=(2,), dense=(4,), n_classes=2, kernel=3)
    with pytest.raises(ValueError, match=match):
        call(mlp, cnn)


def test_negative_parseval_and_empty_records_are_refused(task):
    model = EnsembleMLP((12, 3, 2), "tanh", [0])
    tr, te = member_splits(task.n_samples, 0.5, [0])
    with pytest.raises(ValueError, match="parseval"):
        train_ensemble(model, task, tr, te, TrainConfig(epochs=1), parseval=-0.1,
                       progress=False)
    with pytest.raises(ValueError, match="record_epochs"):
        train_ensemble(model, task, tr, te, TrainConfig(epochs=1), record_epochs=[],
                       progress=False)


def test_member_noise_refuses_a_wrong_member_count():
    with pytest.raises(ValueError, match="2 members"):
        rng.MemberNoise([0, 1], rng.EVAL_NOISE).normal(0, (3, 4, 5))


def test_set_threads(monkeypatch):
    import numba

    before = torch.get_num_threads(), numba.get_num_threads()
    try:
        monkeypatch.setenv("IB_BOOK_THREADS", "1")
        assert set_threads() == 1 and torch.get_num_threads() == 1
        assert numba.get_num_threads() == 1
        monkeypatch.setenv("IB_BOOK_THREADS", "many")
        with pytest.raises(ValueError, match="IB_BOOK_THREADS"):
            set_threads()
        with pytest.raises(ValueError, match=">= 1"):
            set_threads(0)
    finally:
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensors_draw_the_same_orders_and_noise():
    seeds = [3, 9]
    assert torch.equal(rng.member_orders(seeds, 3482, 4, device="cuda").cpu(),
                       rng.member_orders(seeds, 3482, 4))
    noise = rng.MemberNoise(seeds, rng.TRAIN_NOISE, 4, 1)
    assert torch.allclose(noise.normal(2, (2, 5, 512), "cuda").cpu(),
                          noise.normal(2, (2, 5, 512)), rtol=0, atol=1e-6)
