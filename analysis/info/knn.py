"""k-nearest-neighbour estimate of differential entropy (Kozachenko-Leonenko, Kraskov k)."""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

LN2 = math.log(2.0)


def knn_entropy(samples: np.ndarray, k: int = 2) -> float:
    """Differential entropy in bits from the distances to each sample's k-th neighbour.

    H = psi(n) - psi(k) + log V_d + (d/n) sum_i log r_i, with r_i the Euclidean distance of
    sample i to its k-th nearest neighbour and V_d the volume of the unit d-ball.

    Parameters
    ----------
    samples : ndarray, shape (n, d)
        Distinct samples (duplicates give zero distances and are refused).
    k : int
        Neighbour order; Kraskov et al. (2004) use small k such as 2 or 3.

    References
    ----------
    Kozachenko & Leonenko (1987); Kraskov, Stoegbauer & Grassberger (2004), Eq. 20.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, d = x.shape
    if not 1 <= k < n:
        raise ValueError(f"k must lie in [1, n), got k={k} for n={n}")
    dist, _ = cKDTree(x).query(x, k=k + 1)
    r = dist[:, -1]
    if np.any(r <= 0):
        raise ValueError("duplicate samples: k-th neighbour distance is zero; add noise or "
                         "use a smaller k")
    log_volume = 0.5 * d * math.log(math.pi) - gammaln(0.5 * d + 1.0)
    h = digamma(n) - digamma(k) + log_volume + d * np.mean(np.log(r))
    return float(h / LN2)
