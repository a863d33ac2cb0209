import numpy as np
import pytest

from analysis.experiments.single_neuron import binned_entropy_exact, binned_entropy_simulated

TANH_EDGES = np.linspace(-1, 1, 30)
RELU_EDGES = np.arange(0.0, 200.0, 0.5)


@pytest.mark.parametrize("w", [0.3, 0.9, 4.0])
def test_exact_tanh_matches_simulation(w):
    assert binned_entropy_exact(w, TANH_EDGES) == pytest.approx(
        binned_entropy_simulated(w, TANH_EDGES), abs=0.02)


@pytest.mark.parametrize("w", [1.0, 10.0])
def test_exact_relu_and_linear_match_simulation(w):
    for act in ("relu", "linear"):
        edges = RELU_EDGES if act == "relu" else np.arange(-200.0, 200.0, 0.5)
        assert binned_entropy_exact(w, edges, act) == pytest.approx(
            binned_entropy_simulated(w, edges, act), abs=0.02)


def test_tanh_rises_then_falls_towards_one_bit():
    ws = np.geomspace(0.01, 100, 600)
    h = np.array([binned_entropy_exact(w, TANH_EDGES) for w in ws])
    peak = h.argmax()
    assert 4.8 <= h[peak] <= 4.95 and 0.7 <= ws[peak] <= 1.1  # Saxe et al.: ~4.9 bits near 0.9
    assert binned_entropy_exact(1e4, TANH_EDGES) == pytest.approx(1.0, abs=0.01)
    assert np.all(np.diff(h[peak:]) <= 1e-12)


def test_relu_grows_without_bound():
    h = [binned_entropy_exact(w, RELU_EDGES, "relu") for w in (1, 4, 16, 64)]
    assert h[0] < h[1] < h[2] < h[3]
    # half the mass sits at 0; the other half spreads: +log2(4)/2 = 1 bit per 4x in w
    assert h[3] - h[2] == pytest.approx(1.0, abs=0.1)


def test_degenerate_and_bad_input():
    assert binned_entropy_exact(0.0, TANH_EDGES) == 0.0
    assert binned_entropy_exact(-0.9, TANH_EDGES) == binned_entropy_exact(0.9, TANH_EDGES)
    with pytest.raises(ValueError, match="tanh, relu, linear"):
        binned_entropy_exact(1.0, TANH_EDGES, "softsign")


def test_chapter_claims_on_the_exact_curves():
    from analysis.experiments import single_neuron as sn
    ws = np.geomspace(0.01, 1000, 300)
    tanh, relu = sn.entropy_curve(ws, "tanh"), sn.entropy_curve(ws, "relu")
    rows = sn.claims(ws, tanh, relu)
    assert all(r.passes for r in rows), rows
    # a ReLU curve that dips, a tanh curve that stays high: those verdicts fail
    dipped = relu.copy()
    dipped[-1] = dipped[-2] - 0.5
    rows = sn.claims(ws, np.maximum(tanh, 2.0), dipped)
    assert [r.passes for r in rows] == [True, True, False, False, True]


@pytest.mark.parametrize("activation, w", [("tanh", 0.1), ("tanh", 0.9), ("tanh", 5.0),
                                           ("tanh", 50.0), ("relu", 0.1), ("relu", 5.0),
                                           ("relu", 50.0)])
def test_exact_curve_agrees_with_simulation_on_the_chapter_edges(activation, w):
    # the edges chapter 7 uses (up to w = 1000), at the weights it shows simulated
    from analysis.experiments import single_neuron as sn
    edges = sn.edges_for(activation, 1000.0)
    assert sn.binned_entropy_exact(w, edges, activation) == pytest.approx(
        sn.binned_entropy_simulated(w, edges, activation, n=200_000), abs=0.02)


def test_simulated_tanh_matches_exact_deep_in_saturation():
    from analysis.experiments import single_neuron as sn
    # float64 rounds tanh to 1.0 here; the simulation must still agree with the exact value
    assert sn.binned_entropy_simulated(50.0, sn.TANH_EDGES) == pytest.approx(
        sn.binned_entropy_exact(50.0, sn.TANH_EDGES), abs=0.01)


def test_unbounded_edges_share_the_original_bin_width():
    from analysis.experiments import single_neuron as sn
    edges = sn.edges_for("relu", 10.0)
    assert edges[0] == 0.0 and edges[-1] >= 100.0
    np.testing.assert_allclose(np.diff(edges), 2 / 29)
    assert sn.edges_for("linear", 1.0)[0] < -10
