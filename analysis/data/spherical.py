"""The 12-bit spherical rule of Shwartz-Ziv & Tishby (2017), section 3.1.

Twelve points sit evenly on the sphere at the vertices of an icosahedron. A binary
pattern x in {0,1}^12 marks a subset of them. The rule is a rotation-invariant function of
that marked subset, built from its spherical-harmonic power spectrum, thresholded so that
the two classes are about equally likely, and softened by a sigmoid whose gain sets
I(X;Y) to about 0.99 bits.

Power spectrum. For the point set g = sum_i x_i delta(v_i) the harmonic coefficients are
a_lm = sum_i x_i Y_lm(v_i)^*, and by the addition theorem the power in degree l is

    P_l(x) = sum_m |a_lm|^2 = (2l+1)/(4 pi) * sum_ij x_i x_j L_l(v_i . v_j),

with L_l the Legendre polynomial. Each P_l is invariant under every rotation of the sphere,
so under the 60 rotations of the icosahedron, which permute its vertices. We take
f(x) = sum_{l=1}^{4} 4 pi P_l(x) / (2l+1) = x^T K x with K_ij = sum_l L_l(v_i . v_j).
"""
from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.special import eval_legendre, expit

from ..info.discrete import entropy_bits, mutual_information_xy
from .dataset import Dataset, one_hot

N_BITS = 12
DEFAULT_DEGREES = (1, 2, 3, 4)
TARGET_MI_BITS = 0.99


def icosahedron_vertices() -> np.ndarray:
    """The 12 unit vectors of a regular icosahedron, shape (12, 3)."""
    phi = (1.0 + np.sqrt(5.0)) / 2.0
    v = []
    for a, b in product((-1.0, 1.0), repeat=2):
        v += [(0.0, a, b * phi), (a, b * phi, 0.0), (b * phi, 0.0, a)]
    v = np.array(v)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def icosahedron_rotations(vertices: np.ndarray | None = None) -> np.ndarray:
    """The 60 rotations of the icosahedron as permutations of its vertices.

    A rotation is fixed by where it sends one vertex and one of its five neighbours:
    12 x 5 = 60 choices. Returns ``perm`` of shape (60, 12) such that rotation r maps
    vertex i to vertex ``perm[r, i]``.
    """
    v = icosahedron_vertices() if vertices is None else vertices
    dots = v @ v.T
    near = np.isclose(dots, dots[0][~np.isclose(dots[0], 1.0)].max())
    a, b = 0, int(np.flatnonzero(near[0])[0])
    frame = np.stack([v[a], v[b], np.cross(v[a], v[b])])
    perms = []
    for i in range(len(v)):
        for j in np.flatnonzero(near[i]):
            target = np.stack([v[i], v[j], np.cross(v[i], v[j])])
            rot = np.linalg.solve(frame, target).T  # rot @ frame[k] = target[k]
            image = v @ rot.T
            perm = np.argmax(image @ v.T, axis=1)
            if not np.allclose(v[perm], image, atol=1e-9):
                raise AssertionError("icosahedron is not closed under its rotation")
            perms.append(perm)
    return np.array(perms)


def all_patterns(n_bits: int = N_BITS) -> np.ndarray:
    """All 2^n binary patterns as rows, in binary counting order (bit 0 = last column)."""
    codes = np.arange(2**n_bits)
    return ((codes[:, None] >> np.arange(n_bits - 1, -1, -1)) & 1).astype(np.float32)


def rotation_invariant_function(
    patterns: np.ndarray, degrees: tuple[int, ...] = DEFAULT_DEGREES
) -> np.ndarray:
    """f(x) = sum_l 4 pi P_l(x) / (2l+1): power spectrum of the marked vertices.

    Parameters
    ----------
    patterns : ndarray, shape (n, 12)
        Binary patterns over the icosahedron's vertices.
    degrees : tuple of int
        Harmonic degrees l whose power enters f.

    References
    ----------
    Shwartz-Ziv & Tishby (2017), section 3.1; the addition theorem of spherical harmonics.
    """
    v = icosahedron_vertices()
    cos = np.clip(v @ v.T, -1.0, 1.0)
    kernel = sum(eval_legendre(l, cos) for l in degrees)
    x = np.asarray(patterns, dtype=np.float64)
    return np.einsum("ni,ij,nj->n", x, kernel, x)


def _balanced_threshold(f: np.ndarray) -> float:
    """Midpoint between distinct values of f that splits the patterns closest to 50/50."""
    values = np.unique(np.round(f, 9))
    mids = (values[1:] + values[:-1]) / 2.0
    above = (f[None, :] > mids[:, None]).mean(axis=1)
    return float(mids[np.argmin(np.abs(above - 0.5))])


def spherical_rule(
    target_mi_bits: float = TARGET_MI_BITS, degrees: tuple[int, ...] = DEFAULT_DEGREES
) -> Dataset:
    """The 12-bit task: 4096 patterns, p(y=1|x) = sigmoid(gamma (f(x) - theta)).

    theta balances the classes (p(y=1) ~ 0.5); gamma is found by root finding so that
    I(X;Y) = ``target_mi_bits`` over equiprobable patterns. The training label of a
    pattern is its most probable class.

    Parameters
    ----------
    target_mi_bits : float
        I(X;Y) in bits; the paper uses about 0.99.
    degrees : tuple of int
        Harmonic degrees of the power spectrum used by f.

    References
    ----------
    Shwartz-Ziv & Tishby (2017), section 3.1.
    """
    x = all_patterns()
    f = rotation_invariant_function(x, degrees)
    theta = _balanced_threshold(f)
    z = (f - theta) / np.std(f)
    h_y = float(entropy_bits(np.array([np.mean(z > 0), np.mean(z <= 0)])))
    if not 0.0 < target_mi_bits < h_y:
        raise ValueError(
            f"target_mi_bits must lie in (0, H(Y) = {h_y:.4f}) bits, got {target_mi_bits}"
        )

    def p_y1(gamma: float) -> np.ndarray:
        return expit(gamma * z)

    def mi(gamma: float) -> float:
        p1 = p_y1(gamma)
        return mutual_information_xy(np.stack([1.0 - p1, p1], axis=1))

    gamma = brentq(lambda g: mi(g) - target_mi_bits, 1e-3, 1e4, xtol=1e-10)
    p1 = p_y1(gamma)
    p_y_given_x = np.stack([1.0 - p1, p1], axis=1)
    return Dataset(
        x=x,
        y=(p1 > 0.5).astype(np.int64),
        p_y_given_x=p_y_given_x,
        name="spherical-12bit",
        source={
            "kind": "generated",
            "recipe": "Shwartz-Ziv & Tishby 2017, section 3.1",
            "degrees": list(degrees),
            "theta": theta,
            "gamma": float(gamma),
            "p_y1": float(p1.mean()),
            "mi_xy_bits": mutual_information_xy(p_y_given_x),
        },
    )


def load_original(path: str | Path) -> Dataset:
    """Load the original 12-bit data file (``var_u.mat``: ``F`` 4096x12, ``y`` 1x4096).

    The labels in that file are deterministic, so p(y|x) is their one-hot encoding and
    I(X;Y) = H(Y) (0.99916 bits for the published file). The file is checked on load: 4096
    distinct binary patterns of 12 bits, labels 0 and 1 only, both present. Its MD5 enters
    the data's fingerprint, so replacing the file at the same path never serves results
    computed from the old one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, with the path and where the file comes from.
    ValueError
        If the file cannot be read, lacks ``F`` or ``y``, or holds anything but the task,
        naming the file and what is wrong.
    """
    from scipy.io import loadmat

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"no 12-bit data file at {path}. The original file is var_u.mat from the "
            "IDNNs repository of Shwartz-Ziv & Tishby (folder data/); pass its path, or "
            "use spherical_rule() to generate the task from the paper's recipe."
        )
    try:
        mat = loadmat(path)
    except Exception as err:  # scipy raises OSError, ValueError, TypeError... on bad files
        raise ValueError(f"{path} is not a readable MATLAB file ({type(err).__name__}: "
                         f"{err}); is it truncated?") from err
    if "F" not in mat or "y" not in mat:
        raise ValueError(f"{path} must hold arrays 'F' and 'y'; found "
                         f"{sorted(k for k in mat if not k.startswith('__'))}")
    x = np.asarray(mat["F"], dtype=np.float64)
    y = np.asarray(mat["y"], dtype=np.float64).reshape(-1)
    if x.shape != (2**N_BITS, N_BITS) or y.shape != (2**N_BITS,):
        raise ValueError(
            f"{path}: expected F of shape (4096, 12) and y of 4096 labels, "
            f"got F {x.shape} and y {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isin(x, (0.0, 1.0)).all()):
        raise ValueError(f"{path}: F must hold binary patterns (0 and 1 only); found "
                         f"{np.unique(x[np.isfinite(x)])[:5].tolist()} and "
                         f"{int((~np.isfinite(x)).sum())} non-finite values")
    if len(np.unique(x, axis=0)) != 2**N_BITS:
        raise ValueError(f"{path}: F must list the 4096 distinct patterns of 12 bits once "
                         f"each; it has {len(np.unique(x, axis=0))} distinct rows")
    if not (np.isfinite(y).all() and np.isin(y, (0.0, 1.0)).all()):
        raise ValueError(f"{path}: y must hold labels 0 and 1 only; found "
                         f"{np.unique(y[np.isfinite(y)])[:5].tolist()}"
                         f"{' and NaN' if not np.isfinite(y).all() else ''}")
    if len(np.unique(y)) < 2:
        raise ValueError(f"{path}: y holds one class only ({int(y[0])}); the task has two")
    labels = y.astype(np.int64)
    p = one_hot(labels, 2)
    return Dataset(
        x=x.astype(np.float32), y=labels, p_y_given_x=p, name="spherical-12bit-original",
        source={"kind": "file", "path": str(path), "md5": file_md5(path),
                "p_y1": float(labels.mean()), "mi_xy_bits": mutual_information_xy(p)},
    )


def file_md5(path: Path) -> str:
    """MD5 of a file's contents."""
    import hashlib

    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
