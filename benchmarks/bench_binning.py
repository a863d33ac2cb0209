"""Binning MI of 50 members x 275 recorded epochs x 6 layers vs the original algorithm.

Activations come from 12-10-7-5-4-3-2 tanh ensembles whose weights are scaled up epoch by
epoch (from the initialisation to deep saturation), so the codes range from all-distinct
to a few clusters, as in training. Only the estimation is timed. The original code's
algorithm (digitize, rows viewed as void scalars, ``np.unique``, one layer at a time) runs
on a subset of the same (member, epoch, layer) cases; the values must be identical.

    python benchmarks/bench_binning.py [--members 50] [--epochs 275] [--baseline-epochs 12]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from analysis.data import spherical_rule
from analysis.info import binned_mutual_information
from analysis.info.binning import binned_mutual_information_reference
from analysis.nets import SZT_WIDTHS, EnsembleMLP

EDGES = np.linspace(-1, 1, 30)


def layers_at(model: EnsembleMLP, x: torch.Tensor, scale: float) -> list[torch.Tensor]:
    with torch.no_grad():
        for w in model.weights:
            w.mul_(scale)
        _, layers = model(x, return_layers=True)
        for w in model.weights:
            w.div_(scale)
    return [t.transpose(1, 2) for t in layers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=275)
    parser.add_argument("--baseline-epochs", type=int, default=12)
    args = parser.parse_args()
    data = spherical_rule()
    x = torch.as_tensor(data.x).T.contiguous()
    model = EnsembleMLP(SZT_WIDTHS, "tanh", range(args.members))
    scales = np.geomspace(1.0, 12.0, args.epochs)
    check = set(np.linspace(0, args.epochs - 1, args.baseline_epochs).astype(int))

    ours, cases, baseline, base_cases, worst = 0.0, 0, 0.0, 0, 0.0
    for e, scale in enumerate(scales):
        layers = layers_at(model, x, float(scale))
        for t in layers:
            start = time.perf_counter()
            ixt, ity = binned_mutual_information(t, data.p_y_given_x)
            ours += time.perf_counter() - start
            cases += t.shape[0]
            if e in check:
                for m in range(min(2, t.shape[0])):
                    start = time.perf_counter()
                    ref = binned_mutual_information_reference(t[m].numpy(), data.p_y_given_x, EDGES)
                    baseline += time.perf_counter() - start
                    base_cases += 1
                    worst = max(worst, abs(ref[0] - ixt[m]), abs(ref[1] - ity[m]))
    per_ours, per_base = ours / cases, baseline / base_cases
    print(f"threads: {torch.get_num_threads()}; cases (member x epoch x layer): {cases}")
    print(f"vectorised: {ours:7.2f} s in all, {per_ours * 1e3:.3f} ms per case (target <= 30 s)")
    print(f"original algorithm: {per_base * 1e3:.3f} ms per case on {base_cases} cases; "
          f"projected {per_base * cases:.1f} s for all")
    print(f"speed-up: {per_base / per_ours:.1f}x; largest difference: {worst:.2e} bits")


if __name__ == "__main__":
    main()
