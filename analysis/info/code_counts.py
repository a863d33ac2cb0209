"""Compiled kernels that count distinct codes per group and turn counts into entropies.

For every group (a member at an epoch, say) the rows' codes are counted in an
open-addressing hash table, in one pass and without sorting; the counts and the label
mass of every distinct code give H(T) and H(Y|T). ``binned_entropies`` also bins the
activations in the same pass, with ``np.digitize`` semantics; ``row_code_entropies``
takes rows of integer codes of any width, hashed and compared code by code (no packing
into one integer). Groups run in parallel.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import codegen  # noqa: F401  (fixes numba's compile target before any kernel compiles)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _slot(key: np.int64, shift: np.uint64) -> np.int64:
    return np.int64((np.uint64(key) * _GOLDEN) >> shift)


@njit(cache=True)
def _table_bits(n: int) -> int:
    bits = 1
    while (1 << bits) < 2 * n:
        bits += 1
    return bits


@njit(cache=True)
def _row_entropies(pyx: np.ndarray) -> np.ndarray:
    """H(Y|X=x) in bits for every input."""
    n, n_classes = pyx.shape
    out = np.zeros(n)
    for i in range(n):
        for c in range(n_classes):
            q = pyx[i, c]
            if q > 0.0:
                out[i] -= q * np.log2(q)
    return out


@njit(cache=True, inline="always")
def _table_entropies(count: np.ndarray, first: np.ndarray, mass: np.ndarray,
                     h_row: np.ndarray, n: int) -> tuple[float, float]:
    """H(T) and H(Y|T) in bits from a filled table: per slot the count of its code, the
    first input holding it and its label mass; ``n`` equiprobable inputs."""
    size, n_classes = mass.shape
    sum_clogc = 0.0
    h_y_t = 0.0
    for s in range(size):
        k = count[s]
        if k == 0:
            continue
        if k == 1:
            h_y_t += h_row[first[s]]
            continue
        sum_clogc += k * np.log2(k)
        h_q = 0.0
        for c in range(n_classes):
            q = mass[s, c] / k
            if q > 0.0:
                h_q -= q * np.log2(q)
        h_y_t += k * h_q
    return np.log2(n) - sum_clogc / n, h_y_t / n


@njit(cache=True)
def _entropies(keys: np.ndarray, pyx: np.ndarray, h_row: np.ndarray) -> tuple[float, float]:
    """H(T) and H(Y|T) in bits of the rows' keys, inputs equiprobable.

    ``h_row`` holds H(Y|X=x) per input: a code held by one input has H(Y|T=t) = h_row.
    """
    n, n_classes = keys.shape[0], pyx.shape[1]
    bits = _table_bits(n)
    size = 1 << bits
    shift = np.uint64(64 - bits)
    table = np.empty(size, dtype=np.int64)
    first = np.full(size, -1, dtype=np.int64)
    count = np.zeros(size, dtype=np.int64)
    mass = np.zeros((size, n_classes))
    mask = size - 1
    for i in range(n):
        key = keys[i]
        s = _slot(key, shift)
        while first[s] >= 0 and table[s] != key:
            s = (s + 1) & mask
        if first[s] < 0:
            first[s] = i
            table[s] = key
        count[s] += 1
        for c in range(n_classes):
            mass[s, c] += pyx[i, c]
    return _table_entropies(count, first, mass, h_row, n)


@njit(parallel=True, cache=True)
def count_entropies(keys: np.ndarray, pyx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H(T) and H(Y|T) in bits for every group of integer keys.

    Parameters
    ----------
    keys : ndarray of int64, shape (groups, n)
        One key per input; equal keys mean equal codes.
    pyx : ndarray of float64, shape (n, n_classes)
        p(y|x) of every input.
    """
    groups = keys.shape[0]
    h_row = _row_entropies(pyx)
    h_t = np.empty(groups)
    h_y_t = np.empty(groups)
    for g in prange(groups):
        h_t[g], h_y_t[g] = _entropies(keys[g], pyx, h_row)
    return h_t, h_y_t


@njit(parallel=True, cache=True)
def binned_entropies(act: np.ndarray, edges: np.ndarray, uniform: bool,
                     pyx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin every unit with ``np.digitize(act, edges)`` semantics, then H(T) and H(Y|T).

    Code k of a value x means edges[k-1] <= x < edges[k] (0 below the first edge,
    ``len(edges)`` at or above the last, and for NaN). The caller guarantees that
    ``(len(edges) + 1) ** d`` fits in 63 bits.

    Parameters
    ----------
    act : ndarray of float, shape (groups, n, d)
    edges : ndarray of float64, strictly increasing
    uniform : bool
        The edges are equally spaced: locate by arithmetic, then check against the edges.
    pyx : ndarray of float64, shape (n, n_classes)
    """
    groups, n, d = act.shape
    n_edges = edges.shape[0]
    radix = n_edges + 1
    lo = edges[0]
    inv_step = (n_edges - 1) / (edges[-1] - edges[0]) if uniform else 0.0
    h_row = _row_entropies(pyx)
    h_t = np.empty(groups)
    h_y_t = np.empty(groups)
    for g in prange(groups):
        keys = np.empty(n, dtype=np.int64)
        for i in range(n):
            key = 0
            for j in range(d):
                x = np.float64(act[g, i, j])
                if x != x:
                    code = n_edges
                elif uniform:
                    pos = (x - lo) * inv_step
                    if pos < -1.0:
                        code = 0
                    elif pos > n_edges:
                        code = n_edges
                    else:
                        code = min(max(int(np.floor(pos)) + 1, 0), n_edges)
                        while code > 0 and x < edges[code - 1]:
                            code -= 1
                        while code < n_edges and x >= edges[code]:
                            code += 1
                else:
                    code = np.searchsorted(edges, x, side="right")
                key = key * radix + code
            keys[i] = key
        h_t[g], h_y_t[g] = _entropies(keys, pyx, h_row)
    return h_t, h_y_t


@njit(cache=True, inline="always")
def _mix(h: np.uint64, v: np.int64) -> np.uint64:
    """Fold one code into a running row hash (the splitmix64 finaliser)."""
    z = (h ^ np.uint64(v)) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _row_entropies_of_codes(codes: np.ndarray, pyx: np.ndarray, h_row: np.ndarray
                            ) -> tuple[float, float]:
    """H(T) and H(Y|T) in bits of the rows of ``codes`` (n, d), inputs equiprobable.

    Rows are hashed; rows with equal hashes are compared code by code, so distinct rows
    are never merged whatever the hash does.
    """
    n, d = codes.shape
    n_classes = pyx.shape[1]
    bits = _table_bits(n)
    size = 1 << bits
    shift = np.uint64(64 - bits)
    hashes = np.zeros(size, dtype=np.uint64)
    first = np.full(size, -1, dtype=np.int64)
    count = np.zeros(size, dtype=np.int64)
    mass = np.zeros((size, n_classes))
    mask = size - 1
    for i in range(n):
        h = np.uint64(0)
        for j in range(d):
            h = _mix(h, codes[i, j])
        s = np.int64((h * _GOLDEN) >> shift)
        while first[s] >= 0:
            if hashes[s] == h:
                r = first[s]
                same = True
                for j in range(d):
                    if codes[r, j] != codes[i, j]:
                        same = False
                        break
                if same:
                    break
            s = (s + 1) & mask
        if first[s] < 0:
            first[s] = i
            hashes[s] = h
        count[s] += 1
        for c in range(n_classes):
            mass[s, c] += pyx[i, c]
    return _table_entropies(count, first, mass, h_row, n)


@njit(parallel=True, cache=True)
def row_code_entropies(codes: np.ndarray, pyx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H(T) and H(Y|T) in bits for every group of rows of integer codes.

    Parameters
    ----------
    codes : ndarray of int64, shape (groups, n, d)
        Every input's codes; equal rows mean the same bin.
    pyx : ndarray of float64, shape (n, n_classes)
        p(y|x) of every input.
    """
    groups = codes.shape[0]
    h_row = _row_entropies(pyx)
    h_t = np.empty(groups)
    h_y_t = np.empty(groups)
    for g in prange(groups):
        h_t[g], h_y_t[g] = _row_entropies_of_codes(codes[g], pyx, h_row)
    return h_t, h_y_t
