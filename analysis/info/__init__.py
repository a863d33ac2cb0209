"""Estimators of entropy and mutual information, one module each."""
from .binning import (EdgeBins, FixedWidthBins, QuantileBins, RangeBins,
                      binned_mutual_information, binned_mutual_information_reference,
                      entropy_of_codes, original_bins)
from .discrete import entropy_bits, mutual_information_xy

__all__ = ["EdgeBins", "FixedWidthBins", "QuantileBins", "RangeBins", "original_bins",
           "binned_mutual_information", "binned_mutual_information_reference", "entropy_of_codes", "entropy_bits",
           "mutual_information_xy"]
