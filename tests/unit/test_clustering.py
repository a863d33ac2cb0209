"""Clustering measures (Goldfeld et al. 2019) on configurations whose answer is known."""
import math

import numpy as np
import pytest
import torch

from analysis.info.binning import binned_mutual_information, original_bins
from analysis.info.clustering import (binned_entropy, clusters_at_scale, distance_ratio,
                                      silhouette)


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
