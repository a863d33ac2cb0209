"""The sample-propagation (SP) estimator of information in noisy networks (Goldfeld et al. 2019).

In a noisy network every layer adds Gaussian noise, T = S + Z with Z ~ N(0, beta² I) and
S = f(T_prev) a deterministic function of the previous (noisy) layer. With X uniform over
n inputs, T is the equal-weight Gaussian mixture centred at samples of S, and its
differential entropy

    h(T) = -E log g(T),   g(t) = (1/n) sum_k N(t; s_k, beta² I),

is estimated by Monte Carlo integration: draw ``n_mc`` noise vectors per centre, evaluate
the mixture density at s_i + z_ij with a log-sum-exp over all centres, and average
(Goldfeld et al. 2019, section 3, Eq. 7). The estimate is unbiased for the entropy of the
mixture of the given samples; its Monte Carlo error falls as 1/sqrt(n n_mc), and the
fluctuation of each draw's own noise, which grows with the width d, is removed exactly
(a control variate, see :func:`mixture_entropy_mc`).

I(X;T) itself (:func:`sp_information`) is estimated in one pass as the mean of
log p(t|x) - log p(t), where p(t|x_i) is the mixture centred at m samples of S obtained by
feeding x_i through the noisy network repeatedly (m = 1 in the first layer, where S is a
function of X) and p(t) the mixture of all of them. All values are in bits.

Both estimators reduce to one kernel (:class:`_Kernel`, :func:`_log_sums`): for every query point,
log sums of exp(-|q - c|² / (2 beta²)) over all centres, relative to the term of the
centre the query was drawn from. The exponents of a block of queries against all centres
are one batched matrix product; blocks are small enough to stay in cache on a CPU (and
never exceed ``max_elements`` floats), and every operation is a torch operation that runs
on CPU or CUDA.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import integrate

from .kde import gaussian_noise_entropy

LN2 = math.log(2.0)
# Elements of one block of exponents on a CPU (2 MiB of float64): small enough to stay in
# cache through the passes over it, large enough to keep torch's per-call overhead small.
BLOCK_ELEMENTS = 2**18
# Terms below e^-60 of the query's own term are set to e^-60: the sums hold the own term
# (>= 1 after the shift), so N e^-60 (< 1e-20 for N < 10^6 centres) is below float64
# resolution, and the clamp spares exp its slow path for arguments that underflow.
LOG_FLOOR = -60.0
# A query whose noise has |z|²/2 above this many nats may see another centre's term up to
# e^(|z|²/2) times its own (overflow past e^709): its block is shifted by the row maximum.
WIDE = 600.0
# With this many centres or more, each block of queries computes only the centres within
# reach (:func:`_windowed_sums`); fewer are computed densely, many sets at a time.
WINDOW_MIN_CENTRES = 1024


def _check(beta: float, n_mc: int) -> None:
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if n_mc < 1:
        raise ValueError(f"n_mc must be >= 1, got {n_mc}")


def mixture_entropy_mc(centres: torch.Tensor, beta: float, n_mc: int = 10, seed: int = 0,
                       max_elements: int = 2**24) -> torch.Tensor:
    """Monte Carlo entropy (bits) of equal-weight mixtures of N(c_k, beta² I).

    Parameters
    ----------
    centres : Tensor, shape (..., n, d)
        The centres; leading dimensions index independent mixtures.
    beta : float
        Standard deviation of every component (the noise of the layer).
    n_mc : int
        Noise draws per centre.
    seed : int
        Seed of the noise draws (the estimate is reproducible).
    max_elements : int
        Largest number of distances held at once (over all mixtures).

    Returns
    -------
    Tensor, shape (...), float64, on the centres' device.

    Notes
    -----
    With q = c_i + beta z a draw from component i,

        h = -E log g(q) = h(N(0, beta² I)) - E[log g(q) - log phi(beta z)],

    where phi is the noise density, whose entropy is known in closed form. Averaging the
    difference rather than log g(q) itself removes the chi-square fluctuation of |z|²,
    whose variance d/2 (nats²) per draw would otherwise dominate the Monte Carlo error in
    wide layers; the estimate keeps the same expectation. For well-separated centres the
    difference is -log n at every draw, and the estimate is exact.

    References
    ----------
    Goldfeld et al. (2019), section 3 ("sample propagation" estimator), Eq. 7.
    """
    _check(beta, n_mc)
    c = torch.as_tensor(centres)
    if c.dim() < 2:
        raise ValueError(f"centres must have shape (..., n, d), got {tuple(c.shape)}")
    lead, (n, d) = c.shape[:-2], c.shape[-2:]
    c = c.reshape(-1, n, d).to(torch.float64)
    c = c - c.mean(dim=1, keepdim=True)       # smaller norms: less cancellation below
    gen = torch.Generator(device=c.device).manual_seed(int(seed))
    noise = torch.randn(c.shape[0], n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    kernel = _Kernel(c[:, None], torch.arange(n_mc * n, device=c.device) % n, noise, c, beta)
    # log g(q) - log phi(q - c_i) = log sum_k exp(-(|q - c_k|² - |q - c_i|²) / (2 beta²))
    # - log n: the log-density of the query's own noise, whose mean is known exactly, is
    # taken out (a control variate; see the docstring)
    log_total, _ = _log_sums(kernel, c, max_elements)
    excess = log_total.mean(-1) - math.log(n)
    return (gaussian_noise_entropy(d, beta**2) - excess / LN2).reshape(lead)


def sp_information(samples: torch.Tensor, beta: float, n_mc: int = 10, seed: int = 0,
                   max_elements: int = 2**24) -> torch.Tensor:
    """I(X;T) in bits for T = S + N(0, beta² I), X uniform over n inputs, from samples of S.

    Parameters
    ----------
    samples : Tensor, shape (..., n, m, d)
        For each of the n inputs, m samples of S given that input (noisy passes through
        the earlier layers; m = 1 where S is a function of X). Leading dimensions index
        independent estimates.
    beta : float
        Noise standard deviation of the layer.
    n_mc : int
        Noise draws per input; draw j of input i starts from its sample j mod m.
    seed, max_elements
        As in :func:`mixture_entropy_mc`.

    Returns
    -------
    Tensor, shape (...), float64.

    Notes
    -----
    The densities are the Gaussian mixtures of the samples (Goldfeld et al. 2019, section
    3): p(t|x_i) = (1/m) sum_k N(t; s_ik, beta² I) and p(t) = (1/n) sum_i p(t|x_i), the
    mixture of all n m samples. Then

        I(X;T) = E_i E_(t ~ p(.|x_i)) [log p(t|x_i) - log p(t)],

    averaged over draws t = s_ik + beta z. Each draw's value lies in [log n - log(n m)
    + log m, log n] = (-inf, log n]; the Gaussian normalisations and |t|² cancel between
    the two densities, so the estimate carries no chi-square noise however wide the
    layer. Taking p(t) as the mixture of all n m samples keeps the estimate consistent
    with p(t|x): with one sample per input in p(t) and m in p(t|x), well-separated samples
    would give log n - log m instead of log n.
    """
    _check(beta, n_mc)
    c = torch.as_tensor(samples)
    if c.dim() < 3:
        raise ValueError(f"samples must have shape (..., n, m, d), got {tuple(c.shape)}")
    lead, (n, m, d) = c.shape[:-3], c.shape[-3:]
    c = c.reshape(-1, n, m, d).to(torch.float64)
    c = c - c.mean(dim=(1, 2), keepdim=True)
    groups = c.shape[0]
    gen = torch.Generator(device=c.device).manual_seed(int(seed))
    noise = torch.randn(groups, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    draw = torch.arange(n_mc, device=c.device)
    start = c[:, :, draw % m].transpose(1, 2)                               # (G, n_mc, n, d)
    # query j * n + i starts from sample j mod m of input i, flat index i * m + j mod m
    query = torch.arange(n_mc * n, device=c.device)
    flat = c.reshape(groups, n * m, d)
    kernel = _Kernel(start, (query % n) * m + (query // n) % m, noise, flat, beta)
    log_total, top = _log_sums(kernel, flat, max_elements)
    log_own = _own_sums(kernel, c, top)
    # log p(t|x_i) - log p(t) = log((1/m) own sum) - log((1/(n m)) total sum)
    return (((log_own - log_total).mean(-1) + math.log(n)) / LN2).reshape(lead)


class _Kernel:
    """Exponents a_rk = -(|q_r - c_k|² - |q_r - c_(s_r)|²) / (2 beta²) of query points q_r
    = c_(s_r) + beta z_r against centres c_k, each relative to the centre the query was
    drawn from, as one matrix product of augmented vectors.

    -|q - c|² / (2 beta²) = q.c / beta² - |c|² / (2 beta²) - |q|² / (2 beta²): appending
    the columns (1, -shift_r) to the queries and (-|c|²/(2 beta²), 1) to the scaled
    centres makes one product give every exponent minus the start's, shift_r =
    -|beta z_r|² / (2 beta²) + |q_r|² / (2 beta²). The start's own term is then exp(0) = 1,
    and a_rk <= |z_r|²/2, which cannot overflow unless the layer is very wide: rows with
    |z|²/2 above :data:`WIDE` are flagged ``wide`` and shifted further by their maxima,
    as a log-sum-exp does.

    Parameters
    ----------
    start : Tensor, shape (G, n_mc, n, d) or broadcastable to it
        The centre each query is drawn from; query (j, i) is row j n + i.
    start_index : Tensor of int64, shape (n_mc n,)
        Index of each query's start among the centres (the same in every set).
    noise : Tensor, shape (G, n_mc, n, d)
        The standard normal draws z: the queries are start + beta z.
    centres : Tensor, shape (G, N, d)
    beta : float
    """

    def __init__(self, start: torch.Tensor, start_index: torch.Tensor, noise: torch.Tensor,
                 centres: torch.Tensor, beta: float) -> None:
        groups, n_mc, n, d = noise.shape
        self.inv = 1.0 / beta**2
        self.offset = (centres * centres).sum(-1).mul_(-0.5 * self.inv)              # (G, N)
        self.q = noise.new_empty(groups, n_mc * n, d + 2)                           # (G, Q, d+2)
        self.queries = self.q[..., :d]
        torch.add(start, noise, alpha=beta, out=self.queries.view(groups, n_mc, n, d))
        half_z2 = torch.linalg.vector_norm(noise, dim=-1).square_().mul_(0.5)
        half_z2 = half_z2.reshape(groups, n_mc * n)
        self.shift = (torch.linalg.vector_norm(self.queries, dim=-1).square_()
                      .mul_(0.5 * self.inv).sub_(half_z2))                            # (G, Q)
        self.q[..., d] = 1.0
        self.q[..., d + 1] = -self.shift
        self.c = torch.cat([centres * self.inv, self.offset[..., None],
                            torch.ones_like(self.offset)[..., None]],
                           dim=-1).transpose(1, 2).contiguous()                     # (G, d+2, N)
        # |q - c|² beyond reach2 leaves a term below e^LOG_FLOOR of the start's own
        self.reach2 = (half_z2 - LOG_FLOOR).mul_(2.0 * beta**2)
        self.wide = (half_z2 > WIDE).cpu()


def _log_sums(kernel: _Kernel, centres: torch.Tensor, max_elements: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Log kernel sums at every query over all centres, relative to its start's term.

    Returns
    -------
    log_total : Tensor, shape (G, Q)
        log sum_k exp(max(a_rk - top_r, LOG_FLOOR)) + top_r (see :class:`_Kernel`): at
        least 0, since the start's own term is exp(0) = 1.
    top : Tensor, shape (G, Q)
        The extra shift of wide rows (0 elsewhere), for sums over parts of the centres.

    Notes
    -----
    Terms below e^LOG_FLOOR count as e^LOG_FLOOR. With many centres, those that a
    projection already places that far are counted without being computed
    (:func:`_windowed_sums`); with few, blocks of queries and of sets are computed
    densely (:func:`_dense_sums`). Blocks hold at most ``max_elements`` exponents, and on
    a CPU at most :data:`BLOCK_ELEMENTS` (times d // 64 in layers of width d >= 128).
    """
    # in wide layers the product dominates and runs faster on larger blocks
    wider = max(1, centres.shape[-1] // 64)
    cpu = centres.device.type == "cpu"
    budget = min(max_elements, BLOCK_ELEMENTS * wider) if cpu else max_elements
    if centres.shape[1] >= WINDOW_MIN_CENTRES:
        return _windowed_sums(kernel, centres, budget)
    return _dense_sums(kernel, budget)


def _exp_sums(a: torch.Tensor, wide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Row sums of exp(max(a - top, LOG_FLOOR)) in place of ``a``, with top the row
    maxima where a row of the block is wide (else no shift)."""
    top = None
    if wide.any():
        top = a.amax(-1, keepdim=True)
        a.sub_(top)
    return a.clamp_min_(LOG_FLOOR).exp_().sum(-1), top


def _dense_sums(kernel: _Kernel, budget: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Log sums over all centres, blocks of queries (and of sets) at a time."""
    groups, n_queries, _ = kernel.q.shape
    n_centres = kernel.c.shape[-1]
    rows = max(1, min(n_queries, budget // n_centres))       # long products first, then
    sets = max(1, min(groups, budget // (rows * n_centres)))  # several sets if they fit
    buf = kernel.q.new_empty(sets * rows * n_centres)
    log_total = kernel.q.new_empty(groups, n_queries)
    tops = torch.zeros_like(log_total)
    for g0 in range(0, groups, sets):
        g1 = min(groups, g0 + sets)
        for r0 in range(0, n_queries, rows):
            r1 = min(n_queries, r0 + rows)
            a = buf[: (g1 - g0) * (r1 - r0) * n_centres].view(g1 - g0, r1 - r0, n_centres)
            torch.bmm(kernel.q[g0:g1, r0:r1], kernel.c[g0:g1], out=a)
            total, top = _exp_sums(a, kernel.wide[g0:g1, r0:r1])
            log_total[g0:g1, r0:r1] = total.log_()
            if top is not None:
                log_total[g0:g1, r0:r1] += top[..., 0]
                tops[g0:g1, r0:r1] = top[..., 0]
    return log_total, tops


def _windowed_sums(kernel: _Kernel, centres: torch.Tensor, budget: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Log sums over all centres, computing only the centres within reach of each block.

    Centres are sorted by their projection on a direction u of large spread. Since
    |q - c| >= |u.(q - c)|, a centre whose projection lies farther than the reach
    sqrt(reach2) from the query's has a term below e^LOG_FLOOR of the start's: it counts
    as e^LOG_FLOOR, as in the dense computation, without being computed. Queries are
    taken in order of their projections, in blocks whose rows times window of centres
    stay within ``budget`` (:func:`_plan_blocks`).
    """
    groups, n_queries, _ = kernel.q.shape
    n_centres = centres.shape[1]
    floor = math.exp(LOG_FLOOR)
    log_total = kernel.q.new_empty(groups, n_queries)
    tops = torch.zeros_like(log_total)
    for g in range(groups):
        u = _spread_direction(centres[g])
        p_centres, by_projection = torch.sort(centres[g] @ u)
        columns = kernel.c[g][:, by_projection]
        p_queries, order = torch.sort(kernel.queries[g] @ u)
        reach = kernel.reach2[g, order].sqrt_()
        lo = torch.searchsorted(p_centres, p_queries - reach).cpu().numpy()
        hi = torch.searchsorted(p_centres, p_queries + reach, right=True).cpu().numpy()
        blocks = _plan_blocks(lo, hi, budget)
        rows, wide = kernel.q[g, order], kernel.wide[g, order.cpu()]
        total = torch.empty_like(p_queries)
        top = torch.zeros_like(p_queries)
        buf = kernel.q.new_empty(max((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in blocks))
        for r0, r1, c0, c1 in blocks:
            a = buf[: (r1 - r0) * (c1 - c0)].view(r1 - r0, c1 - c0)
            torch.mm(rows[r0:r1], columns[:, c0:c1], out=a)
            block_total, block_top = _exp_sums(a, wide[r0:r1])
            if c1 - c0 < n_centres:
                block_total += (n_centres - (c1 - c0)) * floor
            total[r0:r1] = block_total
            if block_top is not None:
                top[r0:r1] = block_top[:, 0]
        log_total[g, order] = total.log_() + top
        tops[g, order] = top
    return log_total, tops


def _plan_blocks(lo: np.ndarray, hi: np.ndarray, budget: int) -> list[tuple[int, int, int, int]]:
    """Consecutive blocks (r0, r1, c0, c1) of queries whose windows [lo, hi) of centres
    they share: a block grows while its rows times its window width stay within
    ``budget`` (a single row may exceed it)."""
    blocks, r0, n = [], 0, len(lo)
    while r0 < n:
        c0, c1, r1 = int(lo[r0]), int(hi[r0]), r0 + 1
        while r1 < n:
            a, b = min(c0, int(lo[r1])), max(c1, int(hi[r1]))
            if (r1 + 1 - r0) * (b - a) > budget:
                break
            c0, c1, r1 = a, b, r1 + 1
        blocks.append((r0, r1, c0, c1))
        r0 = r1
    return blocks


def _spread_direction(c: torch.Tensor, iterations: int = 4) -> torch.Tensor:
    """A unit vector along which the centred points ``c`` (N, d) spread widely: a few
    power iterations on c^T c from the axis of largest variance. Any unit vector keeps
    :func:`_windowed_sums` exact; a wide spread only makes its windows narrow."""
    c = c - c.mean(0)
    u = torch.zeros(c.shape[1], dtype=c.dtype, device=c.device)
    u[int(c.square().sum(0).argmax())] = 1.0
    for _ in range(iterations):
        v = c.T @ (c @ u)
        norm = v.norm()
        if not norm > 0:
            break
        u = v / norm
    return u


def _own_sums(kernel: _Kernel, samples: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """log sum over the samples of each query's own input of exp(max(a - top, LOG_FLOOR)),
    plus top: the same terms as in :func:`_log_sums`'s total.

    ``samples`` has shape (G, n, m, d), ``top`` (G, n_mc n); draw j of input i is query
    j n + i. One batched product per input.
    """
    groups, n, m, d = samples.shape
    queries = kernel.queries.reshape(groups, -1, n, d).transpose(1, 2).contiguous()
    dots = (queries @ samples.transpose(-1, -2)).transpose(1, 2)               # (G, n_mc, n, m)
    shift = (kernel.shift + top).view(groups, -1, n, 1)
    a = dots.mul_(kernel.inv).add_(kernel.offset.view(groups, 1, n, m)).sub_(shift)
    return a.clamp_min_(LOG_FLOOR).exp_().sum(-1).log_().reshape(groups, -1) + top


def sp_mutual_information(t: torch.Tensor, beta: float, conditional: torch.Tensor | None = None,
                          n_mc: int = 10, seed: int = 0, max_elements: int = 2**24) -> float:
    """I(X;T) in bits for one noisy layer T = S + N(0, beta² I), X uniform over n inputs.

    Parameters
    ----------
    t : Tensor, shape (n, d)
        S for each input, where S is a function of X (the first layer).
    beta : float
        Noise standard deviation of the layer.
    conditional : Tensor, shape (n, m, d), optional
        For a deeper layer, m samples of S per input from repeated noisy passes through
        the earlier layers; they then define both p(t|x) and p(t) (see
        :func:`sp_information`), and ``t`` only fixes the shapes.
    n_mc, seed, max_elements
        As in :func:`sp_information`.

    References
    ----------
    Goldfeld et al. (2019), section 3, Eqs. 6-7.
    """
    t = torch.as_tensor(t)
    if conditional is None:
        return float(sp_information(t[:, None], beta, n_mc, seed, max_elements))
    conditional = torch.as_tensor(conditional)
    if conditional.dim() != 3 or conditional.shape[0] != t.shape[0] or \
            conditional.shape[2] != t.shape[1]:
        raise ValueError(f"conditional must have shape (n={t.shape[0]}, m, d={t.shape[1]}), "
                         f"got {tuple(conditional.shape)}")
    return float(sp_information(conditional, beta, n_mc, seed, max_elements))


def mixture_entropy_quadrature(centres: np.ndarray, beta: float) -> float:
    """Entropy (bits) of a one-dimensional equal-weight mixture of N(c_k, beta²), by quadrature.

    The reference the SP estimator is checked against (Goldfeld et al. 2019, section 4:
    the single noisy neuron, whose I(X;T) is computed by numerical integration).
    ``scipy.integrate.quad`` integrates -g log2 g piecewise between the centres over the
    range where g exceeds 1e-300 (12 standard deviations beyond the outermost centres).
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    c, counts = np.unique(np.asarray(centres, dtype=np.float64).ravel(), return_counts=True)
    if c.size == 0:
        raise ValueError("need at least one centre")
    weights = counts / counts.sum()

    scale = weights / (beta * math.sqrt(2.0 * math.pi))

    def integrand(t: float) -> float:
        g = float(scale @ np.exp(-0.5 * ((t - c) / beta) ** 2))
        return -g * math.log2(g) if g > 0 else 0.0

    knots = np.concatenate([[c[0] - 12 * beta], c, [c[-1] + 12 * beta]])
    return float(sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-10)[0]
                     for a, b in zip(knots[:-1], knots[1:]) if b > a))
