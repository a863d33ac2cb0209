"""Chapter 9: minibatch against full-batch training; the ``linear_*`` parameters make the
one-neuron linear chain of Saxe et al. Fig. 8."""
from __future__ import annotations

from typing import Any, ClassVar

from ..config import Count, Positive, config
from ..experiments import linear_networks as ln
from .base import Estimators


@config
class Parameters(Estimators):
    """Chapter 9: minibatch Adam (chapter 6's runs) against full-batch Adam and plain
    gradient descent with learning rate ``gd_lr_tanh`` / ``gd_lr_relu``; the ``linear_*``
    parameters make the one-neuron linear chain of Saxe et al. Fig. 8."""

    NOTEBOOK: ClassVar[str] = "09_batch_vs_stochastic"
    gd_lr_tanh: Positive = 0.7
    gd_lr_relu: Positive = 0.3
    linear_seeds: Count = 10
    linear_epochs: Count = 2000
    linear_n_records: Count = 100
    linear_snr: Positive = 10.0
    linear_batch_size: Count = 20
    linear_lr: Positive = 0.005
    linear_init_scale: Positive = 0.1

    def linear(self) -> ln.Config:
        """The linear chain 1-1-1 trained with minibatches."""
        return self.pick(ln.Config, prefix="linear_", n_inputs=1, hidden=(1,), n_train=100)

    def gd_lr(self, activation: str) -> float:
        """The gradient-descent learning rate of ``activation``."""
        return {"tanh": self.gd_lr_tanh, "relu": self.gd_lr_relu}[activation]

    def experiments(self) -> dict[str, Any]:
        from ..experiments.batch_vs_stochastic import full_batch, gradient_descent
        runs: dict[str, Any] = {}
        for a in ("tanh", "relu"):
            net = self.network(activation=a)
            runs[f"{a} minibatch Adam"] = self.estimators(net)
            runs[f"{a} full-batch Adam"] = self.estimators(full_batch(net), kde_members=0)
            runs[f"{a} GD"] = self.estimators(gradient_descent(net, self.gd_lr(a)),
                                              kde_members=0)
        return runs | {"linear": self.linear()}
