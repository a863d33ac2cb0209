"""Binning estimators against hand-computed cases and the original code's algorithm."""
import numpy as np
import pytest
import torch

from analysis.info.binning import binned_mutual_information_reference
from analysis.info import (EdgeBins, FixedWidthBins, QuantileBins, RangeBins,
                           binned_mutual_information, mutual_information_xy,
                           original_bins)

N = 4096
rng = np.random.default_rng(1)
P_SOFT = np.stack([1 - (p := rng.uniform(0.05, 0.95, N)), p], axis=1)
LABELS = np.arange(N) % 2
P_HARD = np.eye(2)[LABELS]


def reference_mi(act, pyx, edges):
    return binned_mutual_information_reference(act, pyx, edges)


def test_one_bin_carries_nothing():
    act = np.full((N, 3), 0.5, dtype=np.float32)
    ixt, ity = binned_mutual_information(act, P_SOFT)
    assert ixt == pytest.approx(0.0, abs=1e-12) and ity == pytest.approx(0.0, abs=1e-12)


def test_all_distinct_codes_keep_everything():
    codes = ((np.arange(N)[:, None] >> np.arange(12)) & 1).astype(np.float32)  # 12 binary units
    ixt, ity = binned_mutual_information(codes * 1.5 - 0.75, P_SOFT)
    assert ixt == pytest.approx(12.0)
    assert ity == pytest.approx(mutual_information_xy(P_SOFT))


def test_two_clusters_one_bit():
    act = np.where(np.arange(N) < N // 2, -0.9, 0.9).astype(np.float32)[:, None]
    ixt, ity = binned_mutual_information(act, P_HARD)
    assert ixt == pytest.approx(1.0)
    assert ity == pytest.approx(0.0, abs=1e-12)  # labels alternate: each cluster is 50/50


def test_label_pure_clusters_keep_label_information():
    act = np.where(LABELS == 1, 0.9, -0.9).astype(np.float32)[:, None]
    ixt, ity = binned_mutual_information(act, P_HARD)
    assert ixt == pytest.approx(1.0) and ity == pytest.approx(1.0)
    # four clusters, each label-pure: I(X;T) = 2 bits, I(T;Y) still H(Y) = 1 bit
    act4 = np.where(LABELS == 1, 0.9, -0.9) + np.where(np.arange(N) < N // 2, 0.05, -0.05)
    ixt4, ity4 = binned_mutual_information(act4.astype(np.float32)[:, None], P_HARD)
    assert ixt4 == pytest.approx(2.0) and ity4 == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_codes_follow_np_digitize_exactly(dtype):
    edges = np.linspace(-1, 1, 30)
    tricky = np.concatenate([
        edges, np.nextafter(edges, -2), np.nextafter(edges, 2), [-5.0, -1.0, 0.0, 1.0, 5.0],
        np.float32(edges), rng.uniform(-1.2, 1.2, 20000)]).astype(dtype)
    got = original_bins().codes(torch.as_tensor(tricky))
    assert np.array_equal(got.numpy(), np.digitize(tricky, edges))
    # the compiled kernel bins in the same pass as it counts: same codes, same entropies
    n = len(tricky) // 2 * 2
    act = tricky[:n].reshape(-1, 2)
    pyx = np.resize(P_SOFT, (len(act), 2))
    ixt, ity = binned_mutual_information(act, pyx)
    ref = reference_mi(act, pyx, edges)
    assert ixt == pytest.approx(ref[0], abs=1e-10) and ity == pytest.approx(ref[1], abs=1e-10)


def test_uneven_edges_use_exact_search():
    edges = (-1.0, -0.2, 0.0, 0.7)
    x = np.array([-2, -1, -0.5, -0.2, 0, 0.1, 0.7, 3, np.nan], dtype=np.float32)
    assert EdgeBins(edges).codes(torch.as_tensor(x)).tolist()[:-1] == np.digitize(x, edges).tolist()[:-1]
    act = np.repeat(x[:, None], 3, axis=1)
    pyx = np.full((len(x), 2), 0.5)
    ixt, _ = binned_mutual_information(act, pyx, EdgeBins(edges))
    # np.digitize puts NaN above the last edge, with 3 and 0.7's bin: 7 distinct codes of 9
    assert ixt == pytest.approx(reference_mi(act, pyx, np.array(edges))[0])


def test_vectorised_estimates_equal_the_original_algorithm():
    scales = torch.tensor([0.3, 1.0, 4.0, 30.0])
    act = torch.tanh(torch.randn(3, 4, N, 5, generator=torch.Generator().manual_seed(0))
                     * scales[None, :, None, None])
    act[..., :50, :] = 1.0  # saturated units sit exactly on the last edge
    ixt, ity = binned_mutual_information(act, P_SOFT)
    assert ixt.shape == (3, 4)
    edges = np.linspace(-1, 1, 30)
    for i in range(3):
        for j in range(4):
            ref = reference_mi(act[i, j].numpy(), P_SOFT, edges)
            assert ixt[i, j] == pytest.approx(ref[0], abs=1e-10)
            assert ity[i, j] == pytest.approx(ref[1], abs=1e-10)


def test_rows_too_wide_to_pack_fall_back_exactly():
    act = np.tanh(rng.normal(size=(2, 512, 40)) * 0.05).astype(np.float32)  # 31^40 >> 2^63
    act[:, 256:] = act[:, :256]  # every row twice: H(T) = 8 bits
    pyx = P_SOFT[:512]
    ixt, ity = binned_mutual_information(act, pyx)
    for g in range(2):
        ref = reference_mi(act[g], pyx, np.linspace(-1, 1, 30))
        assert ixt[g] == pytest.approx(ref[0]) and ity[g] == pytest.approx(ref[1])


def test_wide_code_rows_are_told_apart_by_their_last_code():
    from analysis.info.binning import entropy_of_codes

    # six rows of 30 codes up to 2^40 (far too wide to pack into one integer), that differ
    # only in the last code: rows 0-2 equal, 3-4 equal, 5 alone -> p = (1/2, 1/3, 1/6)
    codes = torch.full((6, 30), 2**40, dtype=torch.long)
    codes[:, -1] = torch.tensor([7, 7, 7, -3, -3, 2**40 + 1])
    h_t, h_y_t = entropy_of_codes(codes[None], np.eye(2)[[0, 0, 0, 1, 1, 1]])
    p = np.array([1 / 2, 1 / 3, 1 / 6])
    assert h_t[0] == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-12)
    assert h_y_t[0] == pytest.approx(0.0, abs=1e-12)  # every group label-pure
    codes[5, -1] = 7     # row 5 (y = 1) joins rows 0-2 (y = 0): p = (2/3, 1/3)
    h_t, h_y_t = entropy_of_codes(codes[None], np.eye(2)[[0, 0, 0, 1, 1, 1]])
    assert h_t[0] == pytest.approx(np.log2(3) - 2 / 3, abs=1e-12)
    h_quarter = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))
    assert h_y_t[0] == pytest.approx(4 / 6 * h_quarter, abs=1e-12)


def test_fixed_width_bins_floor():
    x = torch.tensor([-0.6, -0.5, -0.01, 0.0, 0.49, 0.5, 1.2])
    assert FixedWidthBins(0.5).codes(x).tolist() == [-2, -1, -1, 0, 0, 1, 2]


def test_range_bins_between_min_and_max():
    x = torch.tensor([[[0.0], [1.0], [2.5], [10.0]]])
    assert RangeBins(4, 0.0, 10.0).codes(x).flatten().tolist() == [0, 0, 1, 3]
    assert RangeBins(4).codes(x).flatten().tolist() == [0, 0, 1, 3]  # own min and max
    assert RangeBins(2, 0.0, 1.0).codes(torch.tensor([-3.0, 7.0])).tolist() == [0, 1]


def test_quantile_bins_hold_equal_mass():
    x = torch.randn(2, 4000, 1, generator=torch.Generator().manual_seed(3)).exp()
    codes = QuantileBins(8).codes(x)
    for g in range(2):
        counts = np.bincount(codes[g].flatten().numpy(), minlength=8)
        assert counts.min() >= 490 and counts.max() <= 510
    ixt, _ = binned_mutual_information(x, P_SOFT[:4000], QuantileBins(8))
    assert ixt == pytest.approx([3.0, 3.0], abs=0.01)


@pytest.mark.parametrize("bad", [lambda: EdgeBins(()), lambda: EdgeBins((0.0, 0.0)),
                                 lambda: FixedWidthBins(0.0), lambda: RangeBins(0),
                                 lambda: RangeBins(5, 1.0, 0.0), lambda: RangeBins(5, 0.0),
                                 lambda: QuantileBins(0)])
def test_bad_schemes_are_refused(bad):
    with pytest.raises(ValueError):
        bad()


def test_label_rows_must_match_inputs():
    with pytest.raises(ValueError, match="rows"):
        binned_mutual_information(np.zeros((10, 2), np.float32), P_SOFT)


def test_tanh_spaced_edges_are_dense_near_saturation():
    from analysis.info import tanh_spaced_bins

    bins = tanh_spaced_bins(30)
    edges = np.array(bins.edges)
    assert np.all(np.diff(edges) > 0) and edges[0] >= -1 and edges[-1] <= 1
    assert len(edges) < 30  # tanh(+-50) and its neighbours round to +-1
    # values deep in the tail that the original bins merge are told apart
    x = np.tanh(np.array([3.0, 4.0, 5.0], dtype=np.float64))[:, None]
    pyx = np.full((3, 2), 0.5)
    assert binned_mutual_information(x, pyx)[0] == pytest.approx(0.0)
    assert binned_mutual_information(x, pyx, bins)[0] == pytest.approx(0.0)  # coarse: 30 edges
    fine = tanh_spaced_bins(1000)
    assert binned_mutual_information(x, pyx, fine)[0] == pytest.approx(np.log2(3))


def test_tanh_spaced_bins_are_uniform_bins_of_the_pre_activation():
    """Chapter 7's reading: binning tanh(z) at tanh(linspace(-50, 50, N)) is binning z at
    linspace(-50, 50, N) wherever float64 tells tanh(z) from +-1 (|z| < 19), so a fall of
    I(X;T) under these bins is a contraction of the pre-activations, not saturation."""
    from analysis.info import tanh_spaced_bins

    grid = np.linspace(-50, 50, 1451)
    gen = torch.Generator().manual_seed(3)
    z = (torch.rand(4096, 3, generator=gen, dtype=torch.float64) - 0.5) * 30  # |z| < 15
    z[:2048] = z[:2048].round(decimals=1)          # ties and near-ties between patterns
    spaced = tanh_spaced_bins(1451)
    ixt_t, ity_t = binned_mutual_information(torch.tanh(z), P_SOFT, spaced)
    ixt_z, ity_z = binned_mutual_information(z, P_SOFT, EdgeBins(tuple(grid)))
    assert ixt_t == pytest.approx(ixt_z, abs=1e-12) and ity_t == pytest.approx(ity_z, abs=1e-12)
    # the codes agree up to the edges merged at +-1 (a constant shift), but for values
    # within a few ulp of an edge
    shift = spaced.codes(torch.tanh(z)) - EdgeBins(tuple(grid)).codes(z)
    assert (shift == shift.flatten().mode().values).double().mean() > 0.999


def test_machine_precision_bins_separate_every_value():
    from analysis.info import MachinePrecisionBins

    x = torch.tensor([[0.0], [-0.0], [1e-30], [1e-30], [np.nextafter(np.float32(1), 2)], [1.0]])
    codes = MachinePrecisionBins().codes(x).flatten().tolist()
    assert codes[0] == codes[1] and codes[2] == codes[3] and len(set(codes)) == 4
    act = torch.tanh(torch.randn(4096, 3, generator=torch.Generator().manual_seed(0)) * 0.5)
    ixt, _ = binned_mutual_information(act, P_SOFT, MachinePrecisionBins())
    assert ixt == pytest.approx(12.0)


def test_machine_precision_bins_keep_the_precision_of_their_input():
    from analysis.info import MachinePrecisionBins

    # four inputs, three distinct float64 values 1e-12 apart: H = 1.5 bits (1/2, 1/4, 1/4);
    # in float32 the three round to one value: 0 bits
    x = np.array([[0.5], [0.5 + 1e-12], [0.5 + 2e-12], [0.5]])
    pyx = np.full((4, 2), 0.5)
    assert binned_mutual_information(x, pyx, MachinePrecisionBins())[0] == pytest.approx(1.5)
    assert binned_mutual_information(x.astype(np.float32), pyx,
                                     MachinePrecisionBins())[0] == pytest.approx(0.0, abs=1e-12)
    # tanh of 4096 distinct pre-activations in the saturated tail: all distinct in float64
    # (12 bits), while float32 rounds tanh(z) for z in [8, 12] to a handful of values
    z = torch.linspace(8.0, 12.0, 4096, dtype=torch.float64)[:, None]
    assert binned_mutual_information(torch.tanh(z), P_SOFT, MachinePrecisionBins())[0] \
        == pytest.approx(12.0)
    assert binned_mutual_information(torch.tanh(z.float()), P_SOFT,
                                     MachinePrecisionBins())[0] < 2.0


@pytest.mark.parametrize("shape, n_codes", [((5, 300, 40), 3), ((2, 64, 3), 1000), ((3, 50, 7), 2**40)])
def test_row_ids_partition_rows_like_unique(shape, n_codes):
    from analysis.info.binning import row_ids
    gen = torch.Generator().manual_seed(0)
    codes = torch.randint(0, n_codes, shape, generator=gen)
    codes[:, 1] = codes[:, 0]                      # at least one repeated row per group
    ids = row_ids(codes)
    assert ids.shape == shape[:-1]
    for group, got in zip(codes, ids):
        expected = torch.unique(group, dim=0, return_inverse=True)[1]
        assert sorted(set(got.tolist())) == list(range(int(expected.max()) + 1))  # dense
        # the same partition: equal ids exactly where rows are equal
        pairs = {(int(a), int(b)) for a, b in zip(got, expected)}
        assert len(pairs) == len(set(got.tolist())) == len(set(expected.tolist()))
