"""Ensemble training vs the same networks trained one by one as plain nn.Sequential.

Both train 50 12-10-7-5-4-3-2 tanh networks with Adam (lr 4e-4), batch 512, on 85% of
the 12-bit task, each network on its own split and minibatch order. The ratio of the two
times is the speed-up; the ensemble's time per epoch projects the time of 50 x 8000 epochs.

    python benchmarks/bench_training.py [--members 50] [--epochs 20]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from analysis.data import spherical_rule
from analysis.nets import SZT_WIDTHS, EnsembleMLP
from analysis.train import TrainConfig, member_splits, train_ensemble


def loop_baseline(model: EnsembleMLP, data, train_idx: np.ndarray, epochs: int) -> float:
    """Train each member alone as nn.Sequential with its own Adam; returns seconds."""
    x = torch.as_tensor(data.x)
    y = torch.as_tensor(data.y)
    start = time.perf_counter()
    for k, seed in enumerate(model.seeds):
        net = model.member(k)
        opt = torch.optim.Adam(net.parameters(), lr=4e-4)
        gen = torch.Generator().manual_seed(seed)
        idx = torch.as_tensor(train_idx[k])
        for _ in range(epochs):
            order = idx[torch.randperm(len(idx), generator=gen)]
            for s in range(0, len(order), 512):
                b = order[s:s + 512]
                loss = torch.nn.functional.cross_entropy(net(x[b]), y[b])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    data = spherical_rule()
    seeds = list(range(args.members))
    tr, te = member_splits(data.n_samples, 0.85, seeds)
    cfg = TrainConfig(epochs=args.epochs)

    model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds)
    baseline = loop_baseline(model, data, tr, args.epochs)
    start = time.perf_counter()
    train_ensemble(model, data, tr, te, cfg, record_epochs=np.array([args.epochs]),
                   progress=False)
    ensemble = time.perf_counter() - start

    per_epoch = ensemble / args.epochs
    print(f"threads: {torch.get_num_threads()}, members: {args.members}, epochs: {args.epochs}")
    print(f"one by one (nn.Sequential): {baseline:8.2f} s")
    print(f"ensemble (batched members):  {ensemble:8.2f} s")
    print(f"speed-up: {baseline / ensemble:.1f}x (target >= 5x)")
    print(f"projected 50 x 8000 epochs (training only): "
          f"{per_epoch * 8000 * 50 / args.members / 60:.1f} min (target <= 6 min)")


if __name__ == "__main__":
    main()
