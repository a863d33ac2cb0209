"""The sample-propagation estimator against closed forms, quadrature and the KDE bounds."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import norm

from analysis.info.kde import gaussian_noise_entropy, mixture_entropy_bd, mixture_entropy_kl
from analysis.info.sp import (_plan_blocks, _spread_direction, mixture_entropy_mc, sp_information,
                              sp_mutual_information)


def mc_error(d: int, draws: int) -> float:
    """Standard error (bits) of -mean log g(q) when every draw sits in one component:
    Var |z|²/2 = d/2 (the error the control variate of ``mixture_entropy_mc`` removes)."""
    return math.sqrt(d / 2) / math.log(2) / math.sqrt(draws)


def test_one_component_is_a_gaussian():
    # the control variate removes all Monte Carlo error from a single Gaussian
    h = float(mixture_entropy_mc(torch.zeros(1, 3), beta=0.5, n_mc=3, seed=1))
    assert h == pytest.approx(gaussian_noise_entropy(3, 0.25), abs=1e-9)


def test_identical_centres_are_one_gaussian():
    h = float(mixture_entropy_mc(torch.full((50, 2), 0.3), beta=0.2, n_mc=2, seed=2))
    assert h == pytest.approx(gaussian_noise_entropy(2, 0.04), abs=1e-9)


def test_well_separated_centres_add_log_n():
    grid = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij"), -1)
    h = float(mixture_entropy_mc(grid.reshape(16, 2) * 10.0, beta=0.1, n_mc=5, seed=3))
    assert h == pytest.approx(4 + gaussian_noise_entropy(2, 0.01), abs=1e-9)


def test_wide_layers_have_no_chi_square_error():
    # 50 centres in 1000 dimensions, about 45 beta apart: h = log2 50 + h(noise). Without
    # the control variate one draw per centre would err by about mc_error(1000, 50) = 4.6
    # bits; with it the estimate is exact up to the overlap of the components (< 1e-9).
    centres = torch.randn(50, 1000, generator=torch.Generator().manual_seed(9))
    h = float(mixture_entropy_mc(centres, beta=0.1, n_mc=1, seed=4))
    assert mc_error(1000, 50) > 4.0
    assert h == pytest.approx(math.log2(50) + gaussian_noise_entropy(1000, 0.01), abs=1e-6)


def test_one_dimensional_mixture_against_quadrature():
    centres, beta = np.array([0.0, 0.5, 1.7]), 0.4

    def g(t):
        return norm.pdf(t, centres, beta).mean()

    exact = integrate.quad(lambda t: -g(t) * np.log2(g(t)), -6, 8, limit=200)[0]
    h = float(mixture_entropy_mc(torch.as_tensor(centres)[:, None], beta, n_mc=20_000, seed=4))
    assert h == pytest.approx(exact, abs=0.02)


def test_error_falls_as_one_over_root_n_mc():
    centres = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
    spread = [np.std([float(mixture_entropy_mc(centres, 0.5, n_mc, seed=s)) for s in range(40)])
              for n_mc in (4, 64)]
    assert 2.5 < spread[0] / spread[1] < 6.5      # sqrt(64 / 4) = 4


def test_between_the_kde_bounds():
    centres = torch.randn(300, 2, generator=torch.Generator().manual_seed(5))
    beta = 0.3
    h = float(mixture_entropy_mc(centres, beta, n_mc=200, seed=6))
    tol = 4 * mc_error(2, 300 * 200)
    assert mixture_entropy_bd(centres, beta**2) - tol <= h <= mixture_entropy_kl(centres, beta**2) + tol


def test_chunking_and_leading_dimensions_do_not_change_the_estimate():
    centres = torch.randn(2, 3, 100, 4, generator=torch.Generator().manual_seed(7))
    whole = mixture_entropy_mc(centres, 0.3, n_mc=5, seed=8)
    chunked = mixture_entropy_mc(centres, 0.3, n_mc=5, seed=8, max_elements=1000)
    assert whole.shape == (2, 3)
    torch.testing.assert_close(whole, chunked, rtol=0, atol=1e-10)


def test_mutual_information_of_the_first_layer_and_with_conditional_samples():
    t = torch.arange(32.0)[:, None].repeat(1, 2) * 5.0        # well separated at beta 0.1
    assert sp_mutual_information(t, 0.1, n_mc=200) == pytest.approx(5.0, abs=0.05)
    # every input's conditional samples span the whole marginal: X says nothing about T
    same = t[None].expand(32, -1, -1)
    assert sp_mutual_information(t, 0.1, conditional=same, n_mc=200) == pytest.approx(0.0, abs=0.05)
    # each input's samples sit on its own centre: the first-layer answer again
    own = t[:, None].expand(-1, 8, -1)
    assert sp_mutual_information(t, 0.1, conditional=own, n_mc=200) == pytest.approx(5.0, abs=0.05)


def test_spread_conditional_samples_keep_log_n():
    # 16 inputs, each with 8 samples of S far apart from one another and from the other
    # inputs' (upstream noise much wider than beta): X is still recoverable from T, so
    # I(X;T) = log2 16 exactly. Pairing p(t) over one sample per input with p(t|x) over
    # 8 would give log2 16 - log2 8 = 1 bit.
    samples = torch.randn(16, 8, 300, generator=torch.Generator().manual_seed(3))
    assert float(sp_information(samples, 0.05, n_mc=4)) == pytest.approx(4.0, abs=1e-6)


def test_information_agrees_with_the_entropy_difference_draw_for_draw():
    # with one sample per input, I = h(T) - h(noise) from the same noise draws
    centres = torch.randn(3, 40, 4, generator=torch.Generator().manual_seed(2))
    joint = sp_information(centres[:, :, None], 0.7, n_mc=6, seed=5)
    entropy = mixture_entropy_mc(centres, 0.7, n_mc=6, seed=5) - gaussian_noise_entropy(4, 0.49)
    torch.testing.assert_close(joint, entropy, rtol=0, atol=1e-9)
    assert torch.all(joint > 0) and torch.all(joint < math.log2(40))


def test_overlapping_inputs_against_the_closed_form_of_two_points():
    # X uniform on two inputs whose S sits at 0 and at delta (one dimension): I(X;T) is the
    # capacity-like integral of the binary mixture, by quadrature
    delta, beta = 0.3, 0.2

    def g(t):
        return 0.5 * (norm.pdf(t, 0, beta) + norm.pdf(t, delta, beta))

    h_t = integrate.quad(lambda t: -g(t) * np.log2(g(t)), -3, 3.3, limit=200)[0]
    exact = h_t - gaussian_noise_entropy(1, beta**2)
    est = float(sp_information(torch.tensor([[[0.0]], [[delta]]]), beta, n_mc=200_000, seed=1))
    assert est == pytest.approx(exact, abs=0.005)


@pytest.mark.parametrize("kwargs, match", [
    (dict(beta=0.0), "beta"),
    (dict(beta=0.1, n_mc=0), "n_mc"),
    (dict(beta=0.1, conditional=torch.zeros(3, 4, 2)), "conditional"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp_mutual_information(torch.zeros(5, 2), **kwargs)


def textbook_information(samples, beta, n_mc, seed):
    """I(X;T) of one set (n, m, d) from exact coordinate differences and log-sum-exps over
    all samples at once, with the library's noise draws (an independent computation)."""
    c = samples.double() - samples.double().mean(dim=(0, 1))
    n, m, d = c.shape
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=torch.float64)[0]
    q = (c[:, torch.arange(n_mc) % m].transpose(0, 1) + beta * noise).reshape(-1, d)
    sq = torch.cdist(q, c.reshape(-1, d), compute_mode="donot_use_mm_for_euclid_dist") ** 2
    per_input = torch.logsumexp(-sq.reshape(len(q), n, m) / (2 * beta**2), dim=-1)
    own = per_input[torch.arange(len(q)), torch.arange(len(q)) % n]
    return float((own - torch.logsumexp(per_input, -1) + math.log(n)).mean() / math.log(2))


def textbook_entropy(centres, beta, n_mc, seed):
    """-E log g(q) with the control variate, from all distances at once (bits)."""
    c = centres.double() - centres.double().mean(0)
    n, d = c.shape
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=torch.float64)[0]
    q = (c[None] + beta * noise).reshape(-1, d)
    sq = torch.cdist(q, c, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    log_ratio = torch.logsumexp(-sq / (2 * beta**2), 1) + (noise**2).sum(-1).reshape(-1) / 2
    return gaussian_noise_entropy(d, beta**2) - float(log_ratio.mean() - math.log(n)) / math.log(2)


def clustered_samples(sets, n, m, d, beta, seed):
    """Inputs in a few tight clusters, each input's m samples spread by about beta:
    many samples within reach of a query, many far beyond it."""
    gen = torch.Generator().manual_seed(seed)
    clusters = torch.randn(sets, 4, 1, 1, d, generator=gen, dtype=torch.float64)
    which = torch.randint(0, 4, (n,), generator=gen)
    inputs = clusters[:, which] + 3 * beta * torch.randn(sets, n, 1, 1, d, generator=gen,
                                                         dtype=torch.float64)
    return (inputs + beta * torch.randn(sets, n, m, 1, d, generator=gen,
                                        dtype=torch.float64))[:, :, :, 0]


@pytest.mark.parametrize("n, m, d, beta", [(128, 16, 3, 0.05),    # 2048 samples: windows
                                           (40, 6, 5, 0.3),       # 240: dense blocks
                                           (300, 4, 2, 0.01)])    # windows, far apart
def test_information_matches_the_textbook_computation(n, m, d, beta):
    samples = clustered_samples(3, n, m, d, beta, seed=n)
    for k in range(3):             # one set per call: the textbook draws its own noise
        got = float(sp_information(samples[k], beta, n_mc=3, seed=11))
        assert got == pytest.approx(textbook_information(samples[k], beta, 3, 11), abs=1e-9)
    whole = sp_information(samples, beta, n_mc=3, seed=11)
    small_blocks = sp_information(samples, beta, n_mc=3, seed=11, max_elements=500)
    torch.testing.assert_close(whole, small_blocks, rtol=0, atol=1e-10)


@pytest.mark.parametrize("n", [200, 1500])           # dense and windowed
def test_entropy_matches_the_textbook_computation(n):
    centres = torch.tanh(2 * torch.randn(n, 4, generator=torch.Generator().manual_seed(n)))
    h = float(mixture_entropy_mc(centres, 0.05, n_mc=3, seed=2))
    assert h == pytest.approx(textbook_entropy(centres, 0.05, 3, 2), abs=1e-9)


def test_wide_layers_whose_terms_would_overflow_are_shifted_by_their_maximum():
    # two centres in d = 2000; the second sits exactly where the first centre's draw
    # lands, so that draw's term for it is e^(|z|²/2) ~ e^1000 times its own: the row
    # must be shifted by its maximum (a plain shift by the own term overflows)
    d, beta, seed = 2000, 0.1, 5
    z = torch.randn(1, 1, 2, d, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64)[0, 0, 0]
    assert (z * z).sum() / 2 > 900
    centres = torch.stack([torch.zeros(d, dtype=torch.float64), beta * z])
    h = float(mixture_entropy_mc(centres, beta, n_mc=1, seed=seed))
    assert math.isfinite(h)
    assert h == pytest.approx(textbook_entropy(centres, beta, 1, seed), abs=1e-9)


@pytest.mark.parametrize("n, m", [(20, 3), (256, 4)])   # 60 samples: dense; 1024: windows
def test_wide_layers_against_the_textbook_computation(n, m):
    # d = 1300: nearly every draw has |z|²/2 > 600, so the blocks take the maximum shift
    samples = torch.tanh(torch.randn(n, m, 1300, generator=torch.Generator().manual_seed(4),
                                     dtype=torch.float64))
    got = float(sp_information(samples, 0.2, n_mc=2, seed=3))
    assert got == pytest.approx(textbook_information(samples, 0.2, 2, 3), abs=1e-9)


def test_block_plan_covers_every_query_within_the_budget():
    rng = np.random.default_rng(0)
    lo = np.sort(rng.integers(0, 900, 300))
    hi = np.minimum(lo + rng.integers(1, 120, 300), 1000)
    blocks = _plan_blocks(lo, hi, budget=2000)
    assert blocks[0][0] == 0 and blocks[-1][1] == 300
    for (r0, r1, c0, c1), nxt in zip(blocks, blocks[1:] + [(300,)]):
        assert r1 == nxt[0] and r1 > r0
        assert c0 <= lo[r0:r1].min() and c1 >= hi[r0:r1].max()
        assert (r1 - r0) * (c1 - c0) <= 2000 or r1 - r0 == 1
    assert _plan_blocks(np.array([0]), np.array([5000]), budget=10) == [(0, 1, 0, 5000)]


def test_spread_direction_is_a_unit_vector_along_the_widest_spread():
    gen = torch.Generator().manual_seed(1)
    c = torch.randn(500, 3, generator=gen, dtype=torch.float64) * torch.tensor([0.1, 0.1, 5.0])
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))[0]
    u = _spread_direction(c @ rotation)
    assert float(u.norm()) == pytest.approx(1.0, abs=1e-12)
    assert abs(float(u @ rotation[2])) > 0.999
    assert float(_spread_direction(torch.zeros(10, 2, dtype=torch.float64)).norm()) == 1.0
