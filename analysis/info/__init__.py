"""Estimators of entropy and mutual information, one module each."""
from .binning import (EdgeBins, FixedWidthBins, MachinePrecisionBins, QuantileBins, RangeBins,
                      tanh_spaced_bins,
                      binned_mutual_information, binned_mutual_information_reference,
                      entropy_of_codes, original_bins)
from .discrete import entropy_bits, mutual_information_xy
from .gaussian import gaussian_entropy, gaussian_mi, linear_channel_mi, linear_gaussian_mi
from .kde import (gaussian_noise_entropy, kde_mutual_information, kde_mutual_information_many,
                  mixture_entropy_bd,
                  mixture_entropy_kl)
from .knn import knn_entropy
from .sp import mixture_entropy_mc, sp_information, sp_mutual_information

__all__ = ["EdgeBins", "FixedWidthBins", "MachinePrecisionBins", "tanh_spaced_bins", "QuantileBins", "RangeBins", "original_bins",
           "binned_mutual_information", "binned_mutual_information_reference", "entropy_of_codes", "entropy_bits",
           "mutual_information_xy", "gaussian_noise_entropy", "kde_mutual_information",
           "mixture_entropy_bd", "mixture_entropy_kl", "kde_mutual_information_many", "gaussian_entropy", "gaussian_mi",
           "linear_channel_mi", "linear_gaussian_mi",
           "knn_entropy", "mixture_entropy_mc", "sp_information", "sp_mutual_information"]
