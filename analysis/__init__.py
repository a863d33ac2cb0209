"""ib-book's shared library: data, ensembles of networks, training, estimators of mutual
information, experiments (one module per chapter), verdicts, caching and plots.

Run ``python -m analysis --help`` for the command line.
"""
__version__ = "0.1.0"
