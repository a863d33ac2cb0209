"""Compiled CPU training of fully connected ensembles (:class:`analysis.nets.EnsembleMLP`).

Eager torch spends most of a step of a small ensemble in the overhead of some 200 tiny
operations. Here one numba kernel trains a member of an ensemble: forward pass, softmax
cross-entropy (mean over the batch), backward pass and the optimiser update, float32;
the members are spread over threads (:func:`over_members`). Activations are
feature-major, (width, batch), so every inner loop runs over the batch, contiguous, and
vectorises whatever the widths are; two output units (or two inputs, going back) share
each pass over the batch, which halves the loads per multiply-add. One generic kernel
(widths at run time, the activation and optimiser as integer codes) serves every
architecture and is compiled once (``cache=True``; 50-57 s with an empty cache on the
2-core machine, 0.3 s from the cache).

A member runs whole epochs without synchronising with the others: its minibatch orders
and layer noise come from :mod:`analysis.rng` (counter-based, keyed by the member's
seed), so member k is the same network, to the bit, in any ensemble, and the torch path
of :func:`analysis.train.train_ensemble` draws the same orders and noise.

Parameters of a member live in one flat float32 vector: for every layer its weights
(fan_out, fan_in), row-major, then its biases.

References
----------
Kingma & Ba (2015), "Adam: A method for stochastic optimization", ICLR, Algorithm 1, with
the bias correction as ``torch.optim.Adam`` computes it. Cisse et al. (2017), "Parseval
networks", ICML, Eq. 4 (the Parseval retraction). The tanh approximation is the 13/6
rational interpolant of Eigen's ``generic_fast_tanh_float`` (accurate to a few ulp).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import torch
from numba import njit

from . import codegen  # noqa: F401  (fixes numba's compile target before any kernel compiles)
from .rng import (_GOLDEN, _LOW32, _MUL1, _MUL2, _S27, _S30, _S31, _S32, _SM1, _SM2, MASK32,
                  EVAL_NOISE, ORDER, TRAIN_NOISE)

ACT_CODES = {"tanh": 0, "relu": 1, "linear": 2, "sigmoid": 3, "softsign": 4, "softplus": 5}
"""Activation name -> code understood by the kernel (every key of ``nets.ACTIVATIONS``)."""
OPT_CODES = {"sgd": 0, "adam": 1}
"""Optimiser name -> code understood by the kernel (every key of ``train.OPTIMIZERS``)."""

FASTMATH = frozenset({"reassoc", "contract", "nsz"})
"""LLVM fast-math flags of the kernel: reassociation lets the sums over the batch
vectorise, contraction fuses multiply-adds. No finite-math or approximate-function flags,
so NaN and infinity behave as in IEEE arithmetic."""

_F = np.float32
_ZERO, _ONE, _HALF = _F(0.0), _F(1.0), _F(0.5)
_SOFTPLUS_THRESHOLD = _F(20.0)        # torch.nn.functional.softplus: x > 20 gives x
_TANH_CLAMP = _F(7.90531110763549805)  # where the rational tanh reaches 1 in float32
_A1, _A3, _A5, _A7 = _F(4.89352455891786e-03), _F(6.37261928875436e-04), \
    _F(1.48572235717979e-05), _F(5.12229709037114e-08)
_A9, _A11, _A13 = _F(-8.60467152213735e-11), _F(2.00018790482477e-13), \
    _F(-2.76076847742355e-16)
_B0, _B2, _B4, _B6 = _F(4.89352518554385e-03), _F(2.26843463243900e-03), \
    _F(1.18534705686654e-04), _F(1.19825839466702e-06)
_EXP_MIN = _F(-87.0)
_LOG2E, _LN2_HI, _LN2_LO = _F(1.44269504088896341), _F(0.693359375), _F(-2.12194440e-4)
_E6, _E24, _E120, _E720 = _F(1 / 6), _F(1 / 24), _F(1 / 120), _F(1 / 720)
_POW2 = (_F(0.5), _F(0.25), _F(2.0 ** -4), _F(2.0 ** -8), _F(2.0 ** -16), _F(2.0 ** -32),
         _F(2.0 ** -64))
_U64 = np.uint64
_TILE = 512
"""Patterns per tile: the kernel runs the forward and backward pass of a minibatch
larger than this (full-batch training) tile by tile, so its buffers hold sum(widths) x
_TILE floats whatever the batch; the weight gradients add up over the tiles. Smaller
tiles were slower on the book's batch of 512 (64 to 256: 5-20% per step, measured in
one process): the inner loops then run too few iterations."""


# Counter-based randomness, compiled copies of analysis.rng's functions. They live here
# because numba's cache of the kernel would not notice a change in another module; the
# tests check that both give the same bits.

@njit(cache=True, inline="always")
def _mix32(x):
    """:func:`analysis.rng.mix32` for int64 scalars in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = (x * _MUL1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _MUL2) & MASK32
    return x ^ (x >> 15)


@njit(cache=True, inline="always")
def _keyed_hash(c: np.int64, k0: np.int64, k1: np.int64) -> np.int64:
    """:func:`analysis.rng.keyed_hash` compiled for int64 scalars inside numba kernels."""
    return _mix32(_mix32(c ^ k0) ^ k1)


@njit(cache=True, inline="always")
def _splitmix64(z: np.uint64) -> np.uint64:
    """The splitmix64 finaliser (:func:`analysis.rng._splitmix64`) in numba's uint64."""
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _SM1
    z = (z ^ (z >> _S27)) * _SM2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def _stream_key(seed: np.uint64, purpose: np.uint64, a: np.uint64, b: np.uint64,
                layer: np.uint64) -> tuple[np.int64, np.int64]:
    """The stream key of (seed, purpose, a, b, layer) as :func:`analysis.rng.stream_keys`."""
    z = _splitmix64(seed)
    z = _splitmix64(z ^ purpose)
    z = _splitmix64(z ^ a)
    z = _splitmix64(z ^ b)
    z = _splitmix64(z ^ layer)
    return np.int64(z & _LOW32), np.int64(z >> _S32)


_LN2 = np.log(2.0)
_SQRT2 = np.sqrt(2.0)
_HALF_PI_2_22 = 0.5 * np.pi / 2.0 ** 22
_L1, _L3, _L5, _L7, _L9, _L11, _L13, _L15, _L17, _L19 = (1.0 / k for k in range(1, 21, 2))
_S3, _S5, _S7, _S9, _S11, _S13 = (-1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800,
                                  1 / 6227020800)
_C2, _C4, _C6, _C8, _C10, _C12, _C14 = (-1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800,
                                        1 / 479001600, -1 / 87178291200)


@njit(cache=True, inline="always")
def _log_u24(k):
    """ln(k / 2^24) for an integer 1 <= k <= 2^24, in float64 arithmetic only.

    k is shifted to m in [2^24, 2^25) (a branch-free binary search), so k/2^24 = mant
    2^-e with mant = m/2^24 in [1, 2); mant is folded to [sqrt(1/2), sqrt(2)) and
    ln(mant) = 2 atanh(s), s = (mant-1)/(mant+1), |s| < 0.172, by ten terms of its
    series (relative error < 1e-15). Unlike a call of ``log`` this vectorises.
    """
    sh = (k < (1 << 9)) * 16
    m, e = k << sh, sh
    sh = (m < (1 << 17)) * 8
    m, e = m << sh, e + sh
    sh = (m < (1 << 21)) * 4
    m, e = m << sh, e + sh
    sh = (m < (1 << 23)) * 2
    m, e = m << sh, e + sh
    sh = (m < (1 << 24)) * 1
    m, e = m << sh, e + sh
    mant = np.float64(np.int32(m)) * 2.0 ** -24      # int32: converts in vector registers
    big = mant > _SQRT2
    mant = mant * (1.0 - 0.5 * big)
    s = (mant - 1.0) / (mant + 1.0)
    s2 = s * s
    acc = _L19 * s2 + _L17
    for coef in (_L15, _L13, _L11, _L9, _L7, _L5, _L3, _L1):
        acc = acc * s2 + coef
    return 2.0 * s * acc - np.float64(np.int32(e - big)) * _LN2


@njit(cache=True, inline="always")
def _cos_sin_u24(j):
    """cos and sin of 2 pi j / 2^24 for an integer 0 <= j < 2^24 (vectorises).

    The nearest quadrant q is found in integers, the rest phi in [-pi/4, pi/4] goes
    into Taylor polynomials (error < 1e-14), and (cos, sin) are rotated by q.
    """
    q = (j + (1 << 21)) >> 22
    phi = np.float64(np.int32(j - (q << 22))) * _HALF_PI_2_22
    p2 = phi * phi
    sn = _S13 * p2 + _S11
    for coef in (_S9, _S7, _S5, _S3, 1.0):
        sn = sn * p2 + coef
    sn = sn * phi
    cs = _C14 * p2 + _C12
    for coef in (_C10, _C8, _C6, _C4, _C2, 1.0):
        cs = cs * p2 + coef
    swap = np.float64(np.int32(q & 1))
    c = cs * (1.0 - swap) + sn * swap
    s = sn * (1.0 - swap) + cs * swap
    c = c * (1.0 - 2.0 * np.float64(np.int32(((q + 1) >> 1) & 1)))
    s = s * (1.0 - 2.0 * np.float64(np.int32((q >> 1) & 1)))
    return c, s


@njit(cache=True, error_model="numpy", fastmath=set(FASTMATH))
def _gaussian_fill(out: np.ndarray, k0: np.int64, k1: np.int64) -> None:
    """Fill float32 ``out`` with the draws of :func:`analysis.rng.gaussian_from_keys`.

    Same hashes, same Box-Muller transform; the logarithm, cosine and sine are
    evaluated by polynomials accurate to ~1e-14 (:func:`_log_u24`, :func:`_cos_sin_u24`)
    so that the loop vectorises, hence the same float32 draws up to a rare last-bit
    rounding difference.
    """
    n = out.shape[0]
    half = n // 2
    for p in range(half):
        h1 = _keyed_hash(np.int64(2 * p), k0, k1)
        h2 = _keyed_hash(np.int64(2 * p + 1), k0, k1)
        r = np.sqrt(-2.0 * _log_u24((h1 >> 8) + 1))
        c, s = _cos_sin_u24(h2 >> 8)
        out[2 * p] = np.float32(r * c)
        out[2 * p + 1] = np.float32(r * s)
    if n % 2 == 1:
        h1 = _keyed_hash(np.int64(n - 1), k0, k1)
        h2 = _keyed_hash(np.int64(n), k0, k1)
        r = np.sqrt(-2.0 * _log_u24((h1 >> 8) + 1))
        c, s = _cos_sin_u24(h2 >> 8)
        out[n - 1] = np.float32(r * c)


@njit(cache=True, inline="always")
def _tanh(v):
    """tanh(v) in float32 by a 13/6 rational interpolant (a few ulp; vectorises)."""
    x = v if v < _TANH_CLAMP else _TANH_CLAMP
    x = x if x > -_TANH_CLAMP else -_TANH_CLAMP
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    p = x * p
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return p / q


@njit(cache=True, inline="always")
def _exp_nonpositive(v):
    """exp(v) in float32 for v <= 0, by Cody-Waite reduction and a degree-6 polynomial
    (a few ulp; vectorises, unlike a call of ``expf``). Below -87 it returns 0."""
    x = v if v > _EXP_MIN else _EXP_MIN
    n = np.floor(x * _LOG2E + _HALF)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = r * _E720 + _E120
    p = r * p + _E24
    p = r * p + _E6
    p = r * p + _HALF
    p = r * p + _ONE
    p = r * p + _ONE
    k = np.int32(-n)                 # 2^n = product of 2^(-2^b) over the bits b of -n
    for b in range(7):
        p *= _POW2[b] if (k >> b) & 1 else _ONE
    return p if v > _EXP_MIN else _ZERO


@njit(cache=True, inline="always")
def _activate(row, z, act):
    """row[t] = f(row[t]) in place for activation code ``act``; ``z`` is scratch.

    ReLU goes through ``z``: an in-place select compiles to a conditional store, which
    does not vectorise.
    """
    n = row.shape[0]
    if act == 0:
        for t in range(n):
            row[t] = _tanh(row[t])
    elif act == 1:
        for t in range(n):
            z[t] = row[t]
        for t in range(n):
            row[t] = z[t] if z[t] > _ZERO else _ZERO
    elif act == 3:
        for t in range(n):
            row[t] = _HALF * _tanh(_HALF * row[t]) + _HALF
    elif act == 4:
        for t in range(n):
            row[t] = row[t] / (_ONE + abs(row[t]))
    elif act == 5:
        for t in range(n):
            v = row[t]
            row[t] = v if v > _SOFTPLUS_THRESHOLD else np.log1p(np.exp(v))


@njit(cache=True, inline="always")
def _activate_pair(row0, row1, z, act):
    """:func:`_activate` on two rows; tanh on both in one loop (two independent
    polynomial chains per iteration keep more of the FMA units busy)."""
    if act == 0:
        for t in range(row0.shape[0]):
            row0[t] = _tanh(row0[t])
            row1[t] = _tanh(row1[t])
    else:
        for row in (row0, row1):            # a loop, not two inlined copies
            _activate(row, z, act)


@njit(cache=True, inline="always")
def _times_derivative(delta, s, act):
    """delta *= f'(z), written in terms of the activation's output s = f(z)."""
    n = delta.shape[0]
    if act == 0:
        for t in range(n):
            delta[t] *= _ONE - s[t] * s[t]
    elif act == 1:
        for t in range(n):
            delta[t] *= _F(s[t] > _ZERO)
    elif act == 3:
        for t in range(n):
            delta[t] *= s[t] * (_ONE - s[t])
    elif act == 4:
        for t in range(n):
            u = _ONE - abs(s[t])
            delta[t] *= u * u
    elif act == 5:
        for t in range(n):
            delta[t] *= -np.expm1(-s[t])


@njit(cache=True, inline="always")
def _four(v, base, k, stride):
    """Up to four values v[base + i * stride], i < k, the missing ones 0."""
    a0 = v[base]
    a1 = v[base + stride] if k > 1 else _ZERO
    a2 = v[base + 2 * stride] if k > 2 else _ZERO
    a3 = v[base + 3 * stride] if k > 3 else _ZERO
    return a0, a1, a2, a3


@njit(cache=True, inline="always")
def _four_rows(h, c, k, bs):
    """Rows c..c+k-1 of the flat (rows, bs) array h; row c stands in for missing ones
    (their weights are 0, so they add nothing)."""
    h0 = h[c * bs:(c + 1) * bs]
    h1 = h[(c + 1) * bs:(c + 2) * bs] if k > 1 else h0
    h2 = h[(c + 2) * bs:(c + 3) * bs] if k > 2 else h0
    h3 = h[(c + 3) * bs:(c + 4) * bs] if k > 3 else h0
    return h0, h1, h2, h3


@njit(cache=True, inline="always")
def _one_pass(w, rows, z, start, first, bs):
    """z[t] = start + w . rows[:, t] if ``first``, else z[t] += w . rows[:, t], for four
    weights ``w`` and four rows (a pass over the batch: four multiply-adds per load and
    store of z)."""
    w0, w1, w2, w3 = w
    h0, h1, h2, h3 = rows
    if first:
        for t in range(bs):
            z[t] = start + ((w0 * h0[t] + w1 * h1[t]) + (w2 * h2[t] + w3 * h3[t]))
    else:
        for t in range(bs):
            z[t] += (w0 * h0[t] + w1 * h1[t]) + (w2 * h2[t] + w3 * h3[t])


@njit(cache=True, inline="always")
def _two_pass(w, v, rows, z0, z1, start0, start1, first, bs):
    """:func:`_one_pass` for two weight quadruples on the same four rows, into z0 and z1:
    each row loaded serves both."""
    w0, w1, w2, w3 = w
    v0, v1, v2, v3 = v
    h0, h1, h2, h3 = rows
    if first:
        for t in range(bs):
            a0, a1, a2, a3 = h0[t], h1[t], h2[t], h3[t]
            z0[t] = start0 + ((w0 * a0 + w1 * a1) + (w2 * a2 + w3 * a3))
            z1[t] = start1 + ((v0 * a0 + v1 * a1) + (v2 * a2 + v3 * a3))
    else:
        for t in range(bs):
            a0, a1, a2, a3 = h0[t], h1[t], h2[t], h3[t]
            z0[t] += (w0 * a0 + w1 * a1) + (w2 * a2 + w3 * a3)
            z1[t] += (v0 * a0 + v1 * a1) + (v2 * a2 + v3 * a3)


@njit(cache=True, inline="always")
def _affine_row(p, w_base, bias, fi, h, z, bs):
    """z[t] = bias + sum_c p[w_base + c] h[c, t]: one output unit over the batch.

    ``h`` is flat (fi, bs); the inputs are taken four at a time, the first pass sets z.
    """
    for c in range(0, fi, 4):
        k = min(4, fi - c)
        _one_pass(_four(p, w_base + c, k, 1), _four_rows(h, c, k, bs), z, bias, c == 0, bs)


@njit(cache=True, inline="always")
def _affine_pair(p, w_base, bias0, bias1, fi, h, z0, z1, bs):
    """:func:`_affine_row` for two consecutive output units (weights at ``w_base`` and
    ``w_base + fi``), the same sums as one by one."""
    for c in range(0, fi, 4):
        k = min(4, fi - c)
        _two_pass(_four(p, w_base + c, k, 1), _four(p, w_base + fi + c, k, 1),
                  _four_rows(h, c, k, bs), z0, z1, bias0, bias1, c == 0, bs)


@njit(cache=True, inline="always")
def _layer_forward(p, w_base, b_base, fi, fo, h, out, z, act, hidden, bs):
    """out[r, t] = f(b_r + sum_c W[r, c] h[c, t]) for one layer over bs patterns, two
    output units at a time (f: activation code ``act``, only if ``hidden``); ``h`` and
    ``out`` are flat, (fi, bs) and (fo, bs); ``z`` is scratch of bs floats."""
    for r in range(0, fo - 1, 2):
        o0, o1 = out[r * bs:(r + 1) * bs], out[(r + 1) * bs:(r + 2) * bs]
        _affine_pair(p, w_base + r * fi, p[b_base + r], p[b_base + r + 1], fi, h, o0, o1,
                     bs)
        if hidden:
            _activate_pair(o0, o1, z, act)
    if fo % 2 == 1:
        row = out[(fo - 1) * bs:fo * bs]
        _affine_row(p, w_base + (fo - 1) * fi, p[b_base + fo - 1], fi, h, row, bs)
        if hidden:
            _activate(row, z, act)


@njit(cache=True, inline="always")
def _back_row(p, w_base, fi, fo, delta, out, c, bs):
    """out[t] = sum_r W[r, c] delta[r, t] (W = p[w_base:] as (fo, fi)), four rows at a time."""
    for r in range(0, fo, 4):
        k = min(4, fo - r)
        _one_pass(_four(p, w_base + r * fi + c, k, fi), _four_rows(delta, r, k, bs), out,
                  _ZERO, r == 0, bs)


@njit(cache=True, inline="always")
def _back_pair(p, w_base, fi, fo, delta, out0, out1, c, bs):
    """:func:`_back_row` for the two consecutive inputs c and c + 1."""
    for r in range(0, fo, 4):
        k = min(4, fo - r)
        _two_pass(_four(p, w_base + r * fi + c, k, fi), _four(p, w_base + r * fi + c + 1, k, fi),
                  _four_rows(delta, r, k, bs), out0, out1, _ZERO, _ZERO, r == 0, bs)


@njit(cache=True, inline="always")
def _weight_grad_row(d, h, fi, grad, base, bias_at, bs):
    """grad[base + c] += sum_t d[t] h[c, t] for every input c, four inputs per pass over d;
    grad[bias_at] += sum_t d[t] (the bias gradient) in the first pass."""
    for c in range(0, fi, 4):
        k = min(4, fi - c)
        h0, h1, h2, h3 = _four_rows(h, c, k, bs)
        a0 = a1 = a2 = a3 = ab = _ZERO
        for t in range(bs):
            dt = d[t]
            ab += dt
            a0 += dt * h0[t]
            a1 += dt * h1[t]
            a2 += dt * h2[t]
            a3 += dt * h3[t]
        if c == 0:
            grad[bias_at] += ab
        grad[base + c] += a0
        if k > 1:
            grad[base + c + 1] += a1
        if k > 2:
            grad[base + c + 2] += a2
        if k > 3:
            grad[base + c + 3] += a3


@njit(cache=True, inline="always")
def _weight_grad_pair(d0, d1, h, fi, grad, base, bias_at, bs):
    """:func:`_weight_grad_row` for two consecutive output units (deltas ``d0``, ``d1``;
    weights at ``base`` and ``base + fi``, biases at ``bias_at`` and ``bias_at + 1``)."""
    for c in range(0, fi, 4):
        k = min(4, fi - c)
        h0, h1, h2, h3 = _four_rows(h, c, k, bs)
        a0 = a1 = a2 = a3 = ab = b0 = b1 = b2 = b3 = bb = _ZERO
        for t in range(bs):
            e, f = d0[t], d1[t]
            g0, g1, g2, g3 = h0[t], h1[t], h2[t], h3[t]
            ab += e
            a0 += e * g0
            a1 += e * g1
            a2 += e * g2
            a3 += e * g3
            bb += f
            b0 += f * g0
            b1 += f * g1
            b2 += f * g2
            b3 += f * g3
        if c == 0:
            grad[bias_at] += ab
            grad[bias_at + 1] += bb
        grad[base + c] += a0
        grad[base + fi + c] += b0
        if k > 1:
            grad[base + c + 1] += a1
            grad[base + fi + c + 1] += b1
        if k > 2:
            grad[base + c + 2] += a2
            grad[base + fi + c + 2] += b2
        if k > 3:
            grad[base + c + 3] += a3
            grad[base + fi + c + 3] += b3


@njit(cache=True)
def layout(widths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets of every layer's weights and biases in a member's flat parameter vector,
    and of its outputs in the flat activation buffer (in units of the batch size).

    Returns ``w_off`` (L,), ``b_off`` (L,), ``a_off`` (L + 1,); ``b_off[-1] + widths[-1]``
    is the number of parameters, ``a_off[-1]`` the summed widths of layers 1..L.
    """
    n_layers = widths.shape[0] - 1
    w_off = np.empty(n_layers, np.int64)
    b_off = np.empty(n_layers, np.int64)
    a_off = np.zeros(n_layers + 1, np.int64)
    o = 0
    for l in range(n_layers):
        w_off[l] = o
        o += widths[l + 1] * widths[l]
        b_off[l] = o
        o += widths[l + 1]
        a_off[l + 1] = a_off[l] + widths[l + 1]
    return w_off, b_off, a_off


@njit(cache=True, error_model="numpy")
def _order(n, k0, k1, order, hashes, keys, count):
    """order[:n] = argsort of keyed_hash(0..n-1, k0, k1).

    A counting sort on the leading ceil(log2 n) bits of the 32-bit hashes, then an
    insertion sort, which only reorders the few hashes that share leading bits. The
    hashes of distinct counters are distinct, so this equals any argsort of them
    (``torch.argsort`` on the torch path). ``hashes`` and ``keys`` hold n entries,
    ``count`` 2n + 1.
    """
    bits = 1
    while (1 << bits) < n:
        bits += 1
    shift = 32 - bits
    for i in range(n):               # a loop of its own, so that it vectorises
        hashes[i] = _keyed_hash(np.int64(i), k0, k1)
    count[:(1 << bits) + 1] = 0
    for i in range(n):
        count[(hashes[i] >> shift) + 1] += 1
    for j in range(1 << bits):
        count[j + 1] += count[j]
    for i in range(n):
        h = hashes[i]
        j = h >> shift
        pos = count[j]
        count[j] = pos + 1
        keys[pos] = h
        order[pos] = i
    for i in range(1, n):
        h, o = keys[i], order[i]
        j = i - 1
        while j >= 0 and keys[j] > h:
            keys[j + 1] = keys[j]
            order[j + 1] = order[j]
            j -= 1
        keys[j + 1] = h
        order[j + 1] = o


@njit(cache=True, error_model="numpy", fastmath=set(FASTMATH))
def _parseval(p, widths, w_off, n_hidden, alpha, gram, tmp):
    """W <- (1 + alpha) W - alpha (W W^T) W for the weights of layers 1..n_hidden."""
    a1 = _F(1.0 + alpha)
    a = _F(alpha)
    for l in range(n_hidden):
        fi, fo, base = widths[l], widths[l + 1], w_off[l]
        for r in range(fo):
            for s in range(fo):
                acc = _ZERO
                for c in range(fi):
                    acc += p[base + r * fi + c] * p[base + s * fi + c]
                gram[r * fo + s] = acc
        for r in range(fo):
            for c in range(fi):
                acc = _ZERO
                for s in range(fo):
                    acc += gram[r * fo + s] * p[base + s * fi + c]
                tmp[r * fi + c] = acc
        for j in range(fo * fi):
            p[base + j] = a1 * p[base + j] - a * tmp[j]


def _train_member(x, y, rows, p, m1, m2, widths, act, opt, lr, step0, batch, first, last,
                  seed, noise_std, parseval, record, gsum, gsq):
    """Epochs ``first..last`` (inclusive) of one member; see :func:`train_epochs`.

    Plain Python, compiled below; the helpers it calls are inlined, so the flags of the
    compilation (fast-math or not) govern all of it.
    """
    n_layers = widths.shape[0] - 1
    w_off, b_off, a_off = layout(widths)
    n_params = b_off[n_layers - 1] + widths[n_layers]
    n = rows.shape[0]
    bmax = min(batch, n)
    steps = (n + bmax - 1) // bmax
    d, n_classes = widths[0], widths[n_layers]
    wmax = 0
    for l in range(n_layers + 1):
        wmax = max(wmax, widths[l])
    noisy = noise_std > 0.0
    std = _F(noise_std)
    n_hidden_units = a_off[n_layers - 1]
    xb = np.empty(d * _TILE, np.float32)
    s_buf = np.empty(a_off[n_layers] * _TILE, np.float32)      # S_l = f(z_l); logits last
    h_buf = np.empty(a_off[n_layers] * _TILE if noisy else 0, np.float32)  # S_l + noise
    noise = np.empty(n_hidden_units * bmax if noisy else 0, np.float32)  # a step's draws
    delta = np.empty(wmax * _TILE, np.float32)
    prev = np.empty(wmax * _TILE, np.float32)
    z = np.empty(_TILE, np.float32)
    col_sum = np.empty(_TILE, np.float32)
    grad = np.empty(n_params, np.float32)
    gram = np.empty(wmax * wmax, np.float32)
    tmp = np.empty(wmax * wmax, np.float32)
    order = np.arange(n)
    hashes = np.empty(n, np.uint32)            # 32-bit: the sort's arrays stay in L1
    keys = np.empty(n, np.uint32)
    count = np.empty(2 * n + 1, np.int32)
    batch_rows = np.empty(bmax, np.int64)
    lr32 = _F(lr)
    beta1, beta2 = 0.9, 0.999                  # torch.optim.Adam's defaults
    w1, b2, w2, eps32 = _F(1.0 - beta1), _F(beta2), _F(1.0 - beta2), _F(1e-8)
    step = step0
    for epoch in range(first, last + 1):
        if bmax < n:
            k0, k1 = _stream_key(seed, _U64(ORDER), _U64(epoch), _U64(0), _U64(0))
            _order(n, k0, k1, order, hashes, keys, count)
        for s in range(steps):
            start = s * bmax
            bs = min(bmax, n - start)
            inv_b = _ONE / _F(bs)
            for t in range(bs):
                batch_rows[t] = rows[order[start + t]]
            if noisy:                           # layer l's draws: (width_l, bs), row-major
                for l in range(n_layers - 1):
                    k0, k1 = _stream_key(seed, _U64(TRAIN_NOISE), _U64(epoch), _U64(s),
                                        _U64(l))
                    _gaussian_fill(noise[a_off[l] * bs:a_off[l + 1] * bs], k0, k1)
            grad[:] = _ZERO
            # the batch in tiles of at most _TILE patterns (one tile at batch 512; see _TILE)
            for t0 in range(0, bs, _TILE):
                tb = min(_TILE, bs - t0)
                for i in range(d):              # unsigned rows: no wraparound test
                    xi, xbi = x[i], xb[i * tb:(i + 1) * tb]
                    for t in range(tb):
                        xbi[t] = xi[_U64(batch_rows[t0 + t])]
                # forward: S_l = f(W_l T_(l-1) + b_l), T_l = S_l (+ noise on hidden layers)
                h_in = xb
                for l in range(n_layers):
                    fi, fo = widths[l], widths[l + 1]
                    out = s_buf[a_off[l] * tb:a_off[l + 1] * tb]
                    _layer_forward(p, w_off[l], b_off[l], fi, fo, h_in, out, z, act,
                                   l < n_layers - 1, tb)
                    if noisy and l < n_layers - 1:
                        h_out = h_buf[a_off[l] * tb:a_off[l + 1] * tb]
                        for r in range(fo):
                            eps = noise[(a_off[l] + r) * bs + t0:(a_off[l] + r) * bs + t0 + tb]
                            o_r, h_r = out[r * tb:(r + 1) * tb], h_out[r * tb:(r + 1) * tb]
                            for t in range(tb):
                                h_r[t] = o_r[t] + std * eps[t]
                        h_in = h_out
                    else:
                        h_in = out
                # softmax cross-entropy, mean over the batch: delta = (softmax - onehot) / bs
                logits = s_buf[a_off[n_layers - 1] * tb:a_off[n_layers] * tb]
                for t in range(tb):
                    z[t] = logits[t]
                for c in range(1, n_classes):
                    lc = logits[c * tb:(c + 1) * tb]
                    for t in range(tb):
                        z[t] = lc[t] if lc[t] > z[t] else z[t]
                col_sum[:tb] = _ZERO
                for c in range(n_classes):
                    lc, dc = logits[c * tb:(c + 1) * tb], delta[c * tb:(c + 1) * tb]
                    for t in range(tb):
                        e = _exp_nonpositive(lc[t] - z[t])
                        dc[t] = e
                        col_sum[t] += e
                for t in range(tb):
                    col_sum[t] = inv_b / col_sum[t]
                for c in range(n_classes):
                    dc = delta[c * tb:(c + 1) * tb]
                    for t in range(tb):
                        dc[t] *= col_sum[t]
                for t in range(tb):
                    delta[y[batch_rows[t0 + t]] * tb + t] -= inv_b
                # backward: add the tile's gradients of layer l, then delta of layer l - 1
                d_cur, d_prev = delta, prev
                for l in range(n_layers - 1, -1, -1):
                    fi, fo = widths[l], widths[l + 1]
                    if l == 0:
                        h_in = xb
                    elif noisy:
                        h_in = h_buf[a_off[l - 1] * tb:a_off[l] * tb]
                    else:
                        h_in = s_buf[a_off[l - 1] * tb:a_off[l] * tb]
                    for r in range(0, fo - 1, 2):
                        _weight_grad_pair(d_cur[r * tb:(r + 1) * tb],
                                          d_cur[(r + 1) * tb:(r + 2) * tb], h_in, fi, grad,
                                          w_off[l] + r * fi, b_off[l] + r, tb)
                    if fo % 2 == 1:
                        _weight_grad_row(d_cur[(fo - 1) * tb:fo * tb], h_in, fi, grad,
                                         w_off[l] + (fo - 1) * fi, b_off[l] + fo - 1, tb)
                    if l > 0:
                        s_prev = s_buf[a_off[l - 1] * tb:a_off[l] * tb]
                        for c in range(0, fi - 1, 2):
                            p0, p1 = d_prev[c * tb:(c + 1) * tb], d_prev[(c + 1) * tb:(c + 2) * tb]
                            _back_pair(p, w_off[l], fi, fo, d_cur, p0, p1, c, tb)
                        if fi % 2 == 1:
                            _back_row(p, w_off[l], fi, fo, d_cur, d_prev[(fi - 1) * tb:fi * tb],
                                      fi - 1, tb)
                        for c in range(fi):
                            _times_derivative(d_prev[c * tb:(c + 1) * tb],
                                              s_prev[c * tb:(c + 1) * tb], act)
                        d_cur, d_prev = d_prev, d_cur
            if record and epoch == last:
                for j in range(n_params):
                    gsum[j] += grad[j]
                    gsq[j] += grad[j] * grad[j]
            # optimiser: torch.optim.Adam (default betas, eps; bias correction) or plain SGD
            step += 1
            if opt == 1:
                step_size = _F(lr / (1.0 - beta1 ** step))
                bc2_sqrt = _F(np.sqrt(1.0 - beta2 ** step))
                for j in range(n_params):
                    g = grad[j]
                    m = m1[j] + w1 * (g - m1[j])
                    v = m2[j] * b2 + w2 * g * g
                    m1[j] = m
                    m2[j] = v
                    p[j] = p[j] - step_size * (m / (np.sqrt(v) / bc2_sqrt + eps32))
            else:
                for j in range(n_params):
                    p[j] = p[j] - lr32 * grad[j]
            if parseval > 0.0:
                _parseval(p, widths, w_off, n_layers - 1, parseval, gram, tmp)


_member_kernel = njit(cache=True, nogil=True, error_model="numpy",
                      fastmath=set(FASTMATH))(_train_member)


def over_members(n_members: int, work) -> None:
    """Call ``work(k)`` for every member on ``numba.get_num_threads()`` Python threads
    (the compiled kernels release the GIL), each taking the next member when it is free,
    so that a core slowed by another process does not hold the other one up. A member's
    result does not depend on the thread that trains it.

    Plain threads rather than numba's ``prange``: the same speed here, and no parallel
    wrapper to compile (some 15 s per kernel with an empty cache).
    """
    threads = max(1, min(numba.get_num_threads(), n_members))
    if threads == 1:
        for k in range(n_members):
            work(k)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(n_members)))


def train_epochs(x, y, train_idx, params, adam_m, adam_v, widths, act, opt, lr, step0,
                 batch, first, last, seeds, noise_std, parseval, record, grad_sum, grad_sq):
    """Train every member for epochs ``first..last`` (inclusive), in place.

    Parameters
    ----------
    x : float32 array (d, n_samples)
        All inputs, feature-major (a minibatch gathers each feature's row into its
        tile). ``y`` : int64 labels.
    train_idx : int64 array (M, n_train)
        Member k's training rows; its minibatches at epoch e are consecutive slices of
        ``train_idx[k]`` permuted by the argsort of the keyed hashes of (seed_k, ORDER, e)
        (see :mod:`analysis.rng`); no permutation when one batch holds all rows.
    params, adam_m, adam_v : float32 arrays (M, n_params)
        Flat parameters (see :func:`layout`) and Adam's moment estimates.
    widths : int64 array (L + 1,)
    act, opt : int
        :data:`ACT_CODES` and :data:`OPT_CODES` values.
    lr : float
    step0 : int
        Optimiser steps taken before (Adam's bias correction).
    batch : int
        Minibatch size (>= n_train: full batch); the last batch of an epoch may be smaller.
    seeds : uint64 array (M,)
        Members' seeds, the keys of their orders and noise.
    noise_std : float
        Gaussian noise on every hidden layer's output in training (stream (seed_k,
        TRAIN_NOISE, epoch, step, layer)).
    parseval : float
        If > 0, the Parseval step on the hidden layers' weights after every update.
    record : bool
        Add the sum and the sum of squares of the minibatch gradients of epoch ``last``
        to ``grad_sum`` and ``grad_sq`` (float32 arrays (M, n_params)).
    """
    over_members(params.shape[0], lambda k: _member_kernel(
        x, y, train_idx[k], params[k], adam_m[k], adam_v[k], widths, act, opt, lr, step0,
        batch, first, last, seeds[k], noise_std, parseval, record, grad_sum[k], grad_sq[k]))


def _forward_member(x, y, p, widths, act, seed, noise_std, purpose, out, logits, loss,
                    correct):
    """Every layer's output T_l of one member on all patterns (see :func:`forward`)."""
    n_layers = widths.shape[0] - 1
    w_off, b_off, a_off = layout(widths)
    n = x.shape[1]
    h_in = x.ravel()
    z = np.empty(n, np.float32)
    for l in range(n_layers):
        fi, fo = widths[l], widths[l + 1]
        t_l = out[a_off[l]:a_off[l + 1]].ravel()
        _layer_forward(p, w_off[l], b_off[l], fi, fo, h_in, t_l, z, act, l < n_layers - 1, n)
        if l < n_layers - 1 and noise_std > 0.0:
            k0, k1 = _stream_key(seed, _U64(EVAL_NOISE), purpose, _U64(0), _U64(l))
            eps = np.empty(fo * n, np.float32)
            _gaussian_fill(eps, k0, k1)
            std = _F(noise_std)
            for j in range(fo * n):
                t_l[j] += std * eps[j]
        h_in = t_l
    n_classes = widths[n_layers]
    last = out[a_off[n_layers - 1]:]
    logits[:] = last
    for t in range(n):                     # softmax over the classes, column by column
        z[t] = last[0, t]
    for c in range(1, n_classes):
        for t in range(n):
            z[t] = last[c, t] if last[c, t] > z[t] else z[t]
    total = np.zeros(n, np.float32)
    for c in range(n_classes):
        for t in range(n):
            last[c, t] = _exp_nonpositive(last[c, t] - z[t])
            total[t] += last[c, t]
    for c in range(n_classes):
        for t in range(n):
            last[c, t] /= total[t]
    for t in range(n):                     # cross-entropy; argmax is the first maximum
        best = 0
        for c in range(1, n_classes):
            if logits[c, t] > logits[best, t]:
                best = c
        loss[t] = np.log(total[t]) - (logits[y[t], t] - z[t])
        correct[t] = _ONE if best == y[t] else _ZERO


_forward_kernel = njit(cache=True, nogil=True, error_model="numpy",
                       fastmath=set(FASTMATH))(_forward_member)


def forward(x, y, params, widths, act, seeds, noise_std, purpose, out, logits, loss,
            correct):
    """Every member's layer outputs on all patterns, as ``EnsembleMLP.forward`` computes
    them with ``return_layers=True``, written into ``out`` (M, sum(widths[1:]), n):
    T_l = f(W_l T_(l-1) + b_l) (+ the evaluation noise of stream (seed_k, EVAL_NOISE,
    ``purpose``, 0, l) on hidden layers, as :func:`analysis.train.noise_generator`
    draws it), the softmax output last; the logits go into ``logits`` (M, n_classes, n),
    each pattern's cross-entropy with its label ``y`` into ``loss`` (M, n) and whether
    the largest logit (the first of equals) is the label's into ``correct`` (M, n, 0/1).
    ``x`` is float32 (d, n).
    """
    over_members(params.shape[0], lambda k: _forward_kernel(
        x, y, params[k], widths, act, seeds[k], noise_std, purpose, out[k], logits[k],
        loss[k], correct[k]))


@njit(cache=True, error_model="numpy", fastmath=set(FASTMATH))
def gaussians(keys: np.ndarray, n: int) -> np.ndarray:
    """Standard normal draws (streams, n), float32, of the streams with these keys (streams, 2):
    :func:`analysis.rng.gaussian_from_keys` computed here, for CPU tensors."""
    out = np.empty((keys.shape[0], n), np.float32)
    for k in range(keys.shape[0]):
        _gaussian_fill(out[k], keys[k, 0], keys[k, 1])
    return out


@njit(cache=True, error_model="numpy")
def orders(keys: np.ndarray, n: int) -> np.ndarray:
    """argsort of the keyed hashes of 0..n-1 per stream (streams, n):
    :func:`analysis.rng.member_orders` computed here, for CPU tensors."""
    out = np.empty((keys.shape[0], n), np.int64)
    hashes = np.empty(n, np.int64)
    sorted_keys = np.empty(n, np.int64)
    count = np.empty(2 * n + 1, np.int64)
    for k in range(keys.shape[0]):
        _order(n, keys[k, 0], keys[k, 1], out[k], hashes, sorted_keys, count)
    return out


def unsupported(model, optimizer: str) -> str | None:
    """Why the kernel cannot train ``model`` with ``optimizer``; None when it can."""
    from .nets import EnsembleMLP

    if not isinstance(model, EnsembleMLP):
        return f"it trains EnsembleMLP only, not {type(model).__name__}"
    if model.device.type != "cpu":
        return f"it runs on the CPU, the model is on {model.device}"
    if model.weights[0].dtype != torch.float32:
        return f"it trains float32 parameters, not {model.weights[0].dtype}"
    if model.activation not in ACT_CODES:
        return f"it has no activation {model.activation!r}"
    if optimizer not in OPT_CODES:
        return f"it has no optimizer {optimizer!r}"
    return None


class KernelTrainer:
    """Trains an :class:`~analysis.nets.EnsembleMLP` with :func:`train_epochs`.

    Holds the members' flat parameters and Adam moments between calls, so training can
    stop at every record epoch; :meth:`copy_to_model` writes the weights back.

    Parameters
    ----------
    model : EnsembleMLP (CPU, float32)
    x : ndarray (n_samples, d); y : ndarray (n_samples,)
    train_idx : ndarray (members, n_train)
    optimizer : "adam" or "sgd"; lr : float
    batch_size : int or None (full batch)
    parseval : float
        Step size of the Parseval retraction after every update (0: none).
    """

    def __init__(self, model, x: np.ndarray, y: np.ndarray, train_idx: np.ndarray,
                 optimizer: str, lr: float, batch_size: int | None,
                 parseval: float = 0.0) -> None:
        reason = unsupported(model, optimizer)
        if reason is not None:
            raise ValueError(f"the fast backend cannot serve: {reason}")
        self.widths = np.asarray(model.widths, dtype=np.int64)
        self.act, self.opt = ACT_CODES[model.activation], OPT_CODES[optimizer]
        self.lr, self.parseval, self.noise_std = float(lr), float(parseval), model.noise_std
        self.x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).T)   # (d, n)
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        self.train_idx = np.ascontiguousarray(train_idx, dtype=np.int64)
        n_train = self.train_idx.shape[1]
        self.batch = n_train if batch_size is None else min(int(batch_size), n_train)
        self.steps_per_epoch = -(-n_train // self.batch)
        self.seeds = np.array([s & 0xFFFFFFFFFFFFFFFF for s in model.seeds], dtype=np.uint64)
        with torch.no_grad():
            self.params = np.ascontiguousarray(np.concatenate(
                [t.detach().reshape(model.n_members, -1).numpy()
                 for w, b in zip(model.weights, model.biases) for t in (w, b)], axis=1))
        self.adam_m = np.zeros_like(self.params)
        self.adam_v = np.zeros_like(self.params)
        self.grad_sum = np.zeros_like(self.params)
        self.grad_sq = np.zeros_like(self.params)
        self.steps = 0

    def train(self, first: int, last: int, record: bool = False) -> None:
        """Epochs ``first..last``; with ``record``, gather the gradients of epoch ``last``."""
        if record:
            self.grad_sum[:] = 0.0
            self.grad_sq[:] = 0.0
        train_epochs(self.x, self.y, self.train_idx, self.params, self.adam_m,
                     self.adam_v, self.widths, self.act, self.opt, self.lr, self.steps, self.batch,
                     int(first), int(last), self.seeds, float(self.noise_std),
                     self.parseval, bool(record), self.grad_sum, self.grad_sq)
        self.steps += (last - first + 1) * self.steps_per_epoch

    def forward(self, purpose: int
                ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        """The current parameters on all patterns, with evaluation noise ``purpose``: the
        list of layer outputs (M, width, n), the logits (M, n_classes, n), and per
        pattern the cross-entropy and whether it is classified right (M, n)."""
        m, n = self.params.shape[0], self.x.shape[1]
        out = np.empty((m, int(self.widths[1:].sum()), n), np.float32)
        logits = np.empty((m, int(self.widths[-1]), n), np.float32)
        loss, correct = np.empty((m, n), np.float32), np.empty((m, n), np.float32)
        forward(self.x, self.y, self.params, self.widths, self.act, self.seeds,
                float(self.noise_std), np.uint64(purpose), out, logits, loss, correct)
        bounds = np.concatenate([[0], np.cumsum(self.widths[1:])])
        layers = torch.from_numpy(out)
        return ([layers[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])],
                torch.from_numpy(logits), torch.from_numpy(loss), torch.from_numpy(correct))

    def _layers(self, flat: np.ndarray) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weights, biases) per layer as tensors shaped like the model's parameters."""
        m, out, o = flat.shape[0], [], 0
        for fi, fo in zip(self.widths[:-1], self.widths[1:]):
            w = torch.from_numpy(flat[:, o:o + fo * fi].reshape(m, fo, fi))
            o += fo * fi
            b = torch.from_numpy(flat[:, o:o + fo].reshape(m, fo, 1))
            o += fo
            out.append((w, b))
        return out

    def copy_to_model(self, model) -> None:
        """Write the current parameters into ``model``."""
        with torch.no_grad():
            for (w, b), pw, pb in zip(self._layers(self.params), model.weights, model.biases):
                pw.copy_(w)
                pb.copy_(b)

    def gradient_sums(self) -> tuple[list[torch.Tensor], list[torch.Tensor], int]:
        """Per layer, the sum and sum of squares of the recorded epoch's weight gradients,
        and the number of minibatches."""
        sums = [w.clone() for w, _ in self._layers(self.grad_sum)]
        squares = [w.clone() for w, _ in self._layers(self.grad_sq)]
        return sums, squares, self.steps_per_epoch
