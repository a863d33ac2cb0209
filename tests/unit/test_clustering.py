"""Clustering measures (Goldfeld et al. 2019) on configurations whose answer is known."""
import math

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist
from sklearn.metrics import silhouette_score

from analysis.info.binning import binned_mutual_information, original_bins
from analysis.info.clustering import (binned_entropy, clustering_measures, clusters_at_scale,
                                      distance_ratio, silhouette)
from analysis.info.distances import squared_distances


@pytest.fixture
def two_blobs():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    t = np.where(labels[:, None] == 0, -5.0, 5.0) + 0.01 * rng.standard_normal((100, 3))
    return t, labels


def test_tight_separated_classes(two_blobs):
    t, labels = two_blobs
    assert distance_ratio(t, labels) < 0.01
    assert silhouette(t, labels) > 0.99
    assert clusters_at_scale(t, 1.0) == 2
    assert clusters_at_scale(t, 100.0) == 1
    assert clusters_at_scale(t, 1e-9) == 100


def test_mixed_classes_score_about_zero():
    rng = np.random.default_rng(1)
    t = rng.standard_normal((400, 2))
    labels = rng.integers(0, 2, 400)
    assert distance_ratio(t, labels) == pytest.approx(1.0, abs=0.05)
    assert abs(float(silhouette(t, labels))) < 0.05


def test_leading_dimensions_are_independent_sets(two_blobs):
    t, labels = two_blobs
    alternate = np.tile([0, 50], 50) + np.repeat(np.arange(50), 2)
    stacked = np.stack([t, t[alternate]])    # second set: each class half in each blob
    ratio = distance_ratio(stacked, labels)
    assert ratio.shape == (2,) and ratio[0] < 0.01 and ratio[1] == pytest.approx(1.0, abs=0.05)
    assert clusters_at_scale(torch.as_tensor(stacked), 1.0).tolist() == [2, 2]
    assert silhouette(stacked, labels).shape == (2,)


def test_collapsed_set_has_zero_silhouette():
    assert silhouette(np.zeros((10, 2)), np.repeat([0, 1], 5)) == 0.0


def test_binned_entropy_counts_occupied_bins():
    edges = np.array([0.0, 1.0, 2.0])
    four_bins = np.array([[-1.0], [0.5], [1.5], [3.0]])
    assert binned_entropy(four_bins, edges) == pytest.approx(2.0)
    assert binned_entropy(np.full((4, 2), 0.5), edges) == pytest.approx(0.0)
    # two rows share a bin: H(1/2, 1/4, 1/4) = 1.5 bits
    assert binned_entropy(np.array([[0.5], [0.6], [1.5], [3.0]]), edges) == pytest.approx(1.5)


def test_binned_entropy_equals_binned_mutual_information_of_a_deterministic_map():
    rng = np.random.default_rng(2)
    t = np.tanh(rng.standard_normal((3, 256, 4)))
    p_y = np.eye(2)[rng.integers(0, 2, 256)]
    bins = original_bins(30)
    i_xt = binned_mutual_information(torch.as_tensor(t), p_y, bins)[0]
    assert np.abs(np.asarray(i_xt) - binned_entropy(t, np.asarray(bins.edges))).max() < 1e-12
    assert math.log2(256) - 1 < binned_entropy(t, np.asarray(bins.edges)).min()


@pytest.mark.parametrize("labels, match", [(np.zeros(4), "two classes"),
                                           (np.arange(3), "one label")])
def test_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        distance_ratio(np.zeros((4, 2)), labels)


def test_bad_scale_and_shape():
    with pytest.raises(ValueError, match="scale"):
        clusters_at_scale(np.zeros((4, 2)), 0.0)
    with pytest.raises(ValueError, match="shape"):
        clusters_at_scale(np.zeros(4), 1.0)


def random_sets(seed, sets=3, n=120, d=4, offset=20.0):
    """Sets of points in a few clusters of different spread, far from the origin."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (sets, 5, d))
    which = rng.integers(0, 5, (sets, n))
    spread = rng.choice([1e-3, 0.05, 0.5], (sets, n, 1))
    return offset + np.take_along_axis(centres, which[..., None], 1) + \
        spread * rng.standard_normal((sets, n, d))


def test_squared_distances_against_cdist():
    # far from the origin: without centring, |a|² ~ 4e6 would cost ~1e-9 in each entry
    a = torch.as_tensor(random_sets(0, offset=1000.0))
    b = torch.as_tensor(random_sets(1, n=50, offset=1000.0))
    exact = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    torch.testing.assert_close(squared_distances(a, b), exact, rtol=1e-9, atol=1e-12)
    own = squared_distances(a[0])
    torch.testing.assert_close(own, torch.as_tensor(cdist(a[0], a[0], "sqeuclidean")),
                               rtol=1e-9, atol=1e-12)
    assert torch.all(own.diagonal() == 0) and torch.all(own >= 0)
    with pytest.raises(ValueError, match="leading dimensions"):
        squared_distances(a, b[:2])


def test_silhouette_against_scikit_learn():
    # three classes of unequal size, one of them a single point (its silhouette is 0)
    t = random_sets(2)
    labels = np.r_[np.full(70, 3), np.full(49, -1), [7]]
    got = silhouette(t, labels)
    expected = [silhouette_score(s, labels) for s in t]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_distance_ratio_against_the_masked_means():
    t = random_sets(3)
    labels = np.random.default_rng(3).integers(0, 3, 120)
    same = (labels[:, None] == labels[None, :]) & ~np.eye(120, dtype=bool)
    other = labels[:, None] != labels[None, :]
    for s, got in zip(t, distance_ratio(t, labels)):
        dist = cdist(s, s)
        assert got == pytest.approx(dist[same].mean() / dist[other].mean(), rel=1e-10)


@pytest.mark.parametrize("scale", [1e-4, 0.01, 0.2, 1.0, 3.0])
def test_cluster_count_against_scipy(scale):
    t = random_sets(4)
    expected = [connected_components(cdist(s, s) <= scale, directed=False)[0] for s in t]
    assert clusters_at_scale(t, scale).tolist() == expected


def test_shared_measures_equal_the_separate_ones():
    t = random_sets(5).reshape(3, 1, 120, 4)
    labels = np.random.default_rng(5).integers(0, 2, 120)
    shared = clustering_measures(t, labels, 0.1)
    assert {k: v.shape for k, v in shared.items()} == {
        "distance_ratio": (3, 1), "silhouette": (3, 1), "clusters": (3, 1)}
    np.testing.assert_array_equal(shared["distance_ratio"], distance_ratio(t, labels))
    np.testing.assert_array_equal(shared["silhouette"], silhouette(t, labels))
    np.testing.assert_array_equal(shared["clusters"], clusters_at_scale(t, 0.1))
    with pytest.raises(ValueError, match="scale"):
        clustering_measures(t, labels, -1.0)
