"""Counter-based random numbers per ensemble member, the same on every backend.

Every random number of a training run (minibatch orders, layer noise) is a pure function
of the member's seed and of counters: (seed, purpose, epoch, step, layer) give a 64-bit
stream key, and an element's index within its stream is hashed with that key. No state
is carried from one draw to the next, so member k draws the same numbers whether it is
trained alone or inside any ensemble, on the torch path (CPU or CUDA tensors) or in the
compiled kernel of :mod:`analysis.fast_mlp`, and a draw costs a few integer operations.
The kernel has its own compiled copy of these functions (numba's cache does not notice
changes to another module); the tests check that both give the same bits.

- Stream keys: the splitmix64 finaliser (Steele, Lea & Flood 2014) chained over the
  words (seed, purpose, a, b, layer), in uint64 arithmetic (numba and numpy wrap alike).
- Elements: :func:`keyed_hash`, two rounds of a 32-bit xorshift-multiply mixer (the
  structure of Wellons' "lowbias32") keyed by the two halves of the stream key. Its
  multipliers are odd and below 2^31, so with values kept below 2^32 every product is
  exact in int64: the same Python expression runs on ints, numpy arrays, numba scalars
  and torch int64 tensors (on any device) and gives the same bits. For a fixed key it is
  a bijection of [0, 2^32), so the hashes of distinct indices never tie.
- Orders: the argsort of the hashes of 0..n-1 (a uniform random permutation).
- Gaussians: Box-Muller (Box & Muller 1958) on the hashes of 2p and 2p+1 (24 bits
  each: u1 = (h1 >> 8 + 1) / 2^24, u2 = (h2 >> 8) / 2^24), cosine for element 2p and
  sine for element 2p+1, in float64, then rounded to float32.

References
----------
Salmon, Moraes, Dror & Shaw (2011), "Parallel random numbers: as easy as 1, 2, 3", SC'11
(counter-based generators). Steele, Lea & Flood (2014), "Fast splittable pseudorandom
number generators", OOPSLA. Box & Muller (1958), Ann. Math. Statist. 29, 610.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

ORDER, TRAIN_NOISE, EVAL_NOISE = 1, 2, 3
"""Purposes: minibatch orders, training noise, evaluation noise."""

MASK32 = 0xFFFFFFFF
_MUL1, _MUL2 = 0x21F0AAAD, 0x735A2D97          # odd, < 2^31: x * MUL < 2^63 for x < 2^32
_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_SM1, _SM2 = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = _U64(30), _U64(27), _U64(31), _U64(32)
_LOW32 = _U64(0xFFFFFFFF)
_TWO_PI = 2.0 * np.pi
_INV24 = 2.0 ** -24


def mix32(x):
    """A bijective 32-bit mixer: xorshift 16, multiply, xorshift 15, multiply, xorshift 15.

    ``x`` holds integers in [0, 2^32) (int, int64 array, int64 tensor); so does the result.
    """
    x = x ^ (x >> 16)
    x = (x * _MUL1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _MUL2) & MASK32
    return x ^ (x >> 15)


def keyed_hash(c, k0, k1):
    """The 32-bit hash of counter ``c`` (in [0, 2^32)) under the key halves ``k0``, ``k1``."""
    return mix32(mix32(c ^ k0) ^ k1)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of a uint64 array (numpy wraps products modulo 2^64)."""
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _SM1
    z = (z ^ (z >> _S27)) * _SM2
    return z ^ (z >> _S31)


def stream_keys(seeds: Sequence[int], purpose: int, a: int = 0, b: int = 0, layer: int = 0
                ) -> np.ndarray:
    """Stream keys of (seed, purpose, a, b, layer) for every seed: shape (members, 2),
    the low and high 32-bit halves of the 64-bit key, as int64."""
    z = _splitmix64(np.array([int(s) & 0xFFFFFFFFFFFFFFFF for s in seeds], dtype=np.uint64))
    for word in (purpose, a, b, layer):
        z = _splitmix64(z ^ _U64(int(word) & 0xFFFFFFFFFFFFFFFF))
    return np.stack([z & _LOW32, z >> _S32], axis=1).astype(np.int64)


def member_orders(seeds: Sequence[int], n: int, epoch: int,
                  device: torch.device | str = "cpu", compiled: bool | None = None
                  ) -> torch.Tensor:
    """Each member's order of its ``n`` training rows at ``epoch``: shape (members, n), int64.

    Row i of member k goes to the position of ``keyed_hash(i, key_k)`` among the hashes
    of 0..n-1, key_k the stream key of (seed_k, ORDER, epoch). ``compiled`` (default: on
    the CPU) computes it with :func:`analysis.fast_mlp.orders` instead of torch
    operations; the result is the same.
    """
    return _by_stream(stream_keys(seeds, ORDER, epoch), n, torch.device(device), compiled,
                      "orders", _orders_torch)


def gaussian_from_keys(keys: torch.Tensor, n: int, dtype: torch.dtype = torch.float32
                       ) -> torch.Tensor:
    """``n`` standard normal draws per stream, shape (streams, n), from keys (streams, 2),
    in torch operations (any device)."""
    counters = torch.arange(2 * ((n + 1) // 2), dtype=torch.int64, device=keys.device)[None]
    h = keyed_hash(counters, keys[:, :1], keys[:, 1:])
    h1, h2 = h[:, 0::2], h[:, 1::2]
    r = torch.sqrt(-2.0 * torch.log(((h1 >> 8) + 1).double() * _INV24))
    theta = (h2 >> 8).double() * (_TWO_PI * _INV24)
    z = torch.stack((r * torch.cos(theta), r * torch.sin(theta)), dim=2)
    return z.reshape(keys.shape[0], -1)[:, :n].to(dtype)


def _orders_torch(keys: torch.Tensor, n: int) -> torch.Tensor:
    idx = torch.arange(n, dtype=torch.int64, device=keys.device)
    return torch.argsort(keyed_hash(idx[None], keys[:, :1], keys[:, 1:]), dim=1)


def _by_stream(keys: np.ndarray, n: int, device: torch.device, compiled: bool | None,
               kernel: str, in_torch) -> torch.Tensor:
    """Draws of every stream, by the compiled ``fast_mlp.<kernel>`` (CPU) or in torch."""
    if compiled is None:
        compiled = device.type == "cpu"
    if compiled:
        from . import fast_mlp

        return torch.from_numpy(getattr(fast_mlp, kernel)(keys, int(n))).to(device)
    return in_torch(torch.as_tensor(keys, device=device), n)


class MemberNoise:
    """Per-member Gaussian layer noise of one pass: a drop-in for a ``torch.Generator``.

    Pass it as ``noise_generator`` to an ensemble's ``forward`` or ``signals``: the noise
    of hidden layer l of member k is the stream (seed_k, purpose, a, b, l), element
    (unit f, pattern j) of a batch of B patterns its draw number f * B + j. Member k's
    noise thus depends on its own seed only, and is the same on every device and in the
    compiled kernel. Nothing is consumed: the same object gives the same noise again.
    """

    def __init__(self, seeds: Sequence[int], purpose: int, a: int = 0, b: int = 0) -> None:
        self.seeds = tuple(int(s) for s in seeds)
        self.purpose, self.a, self.b = int(purpose), int(a), int(b)

    def normal(self, layer: int, shape: Sequence[int], device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32, compiled: bool | None = None
               ) -> torch.Tensor:
        """Standard normal draws of shape (members, features, batch) for hidden layer ``layer``.

        ``compiled`` (default: on the CPU) draws them with :func:`analysis.fast_mlp.gaussians`
        rather than torch operations: the same numbers, up to a rare last-bit difference.
        """
        m, f, batch = (int(v) for v in shape)
        if m != len(self.seeds):
            raise ValueError(f"noise for {len(self.seeds)} members, asked for {m}")
        if f * batch >= 2 ** 32:
            raise ValueError(f"a layer of {f} x {batch} values exceeds the 2^32 draws of a stream")
        keys = stream_keys(self.seeds, self.purpose, self.a, self.b, layer)
        z = _by_stream(keys, f * batch, torch.device(device), compiled, "gaussians",
                       gaussian_from_keys)
        return z.to(dtype).reshape(m, f, batch)
