"""The sample-propagation estimator against closed forms, quadrature and the KDE bounds."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import norm

from analysis.info.kde import gaussian_noise_entropy, mixture_entropy_bd, mixture_entropy_kl
from analysis.info.sp import mixture_entropy_mc, sp_mutual_information


def mc_error(d: int, draws: int) -> float:
    """Standard error (bits) when every draw sits in one component: Var |z|²/(2 beta²) = d/2."""
    return math.sqrt(d / 2) / math.log(2) / math.sqrt(draws)


def test_one_component_is_a_gaussian():
    h = float(mixture_entropy_mc(torch.zeros(1, 3), beta=0.5, n_mc=20_000, seed=1))
    assert h == pytest.approx(gaussian_noise_entropy(3, 0.25), abs=4 * mc_error(3, 20_000))


def test_identical_centres_are_one_gaussian():
    h = float(mixture_entropy_mc(torch.full((50, 2), 0.3), beta=0.2, n_mc=200, seed=2))
    assert h == pytest.approx(gaussian_noise_entropy(2, 0.04), abs=4 * mc_error(2, 50 * 200))


def test_well_separated_centres_add_log_n():
    grid = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij"), -1)
    h = float(mixture_entropy_mc(grid.reshape(16, 2) * 10.0, beta=0.1, n_mc=500, seed=3))
    assert h == pytest.approx(4 + gaussian_noise_entropy(2, 0.01), abs=4 * mc_error(2, 16 * 500))


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


@pytest.mark.parametrize("kwargs, match", [
    (dict(beta=0.0), "beta"),
    (dict(beta=0.1, n_mc=0), "n_mc"),
    (dict(beta=0.1, conditional=torch.zeros(3, 4, 2)), "conditional"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp_mutual_information(torch.zeros(5, 2), **kwargs)
