"""Ensembles of fully connected networks whose members are a batch dimension.

All members share an architecture; their weights are stacked into tensors of shape
(members, fan_out, fan_in) and a layer is one batched matrix product, so 50 seeds train
in one pass. Activations flow feature-major, (members, width, batch): with layers this
narrow, a batched product whose long axis is last runs several times faster on a CPU. Each member is initialised from its own seed, so member k is the same
network whether it is trained alone or inside any ensemble.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from .rng import MemberNoise

NoiseSource = torch.Generator | MemberNoise
"""Where layer noise comes from: a :class:`~analysis.rng.MemberNoise` (per member, the
same on every backend) or a ``torch.Generator`` (one stream shared by all members)."""

def fast_tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) evaluated as 2 sigmoid(2x) - 1.

    Mathematically identical; in float32 it differs from ``torch.tanh`` by less than
    3e-7, and the CPU build of torch computes it several times faster.
    """
    return torch.sigmoid(2.0 * x).mul(2.0).sub(1.0)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": fast_tanh,
    "relu": torch.relu,
    "linear": lambda t: t,
    "sigmoid": torch.sigmoid,
    "softsign": nn.functional.softsign,
    "softplus": nn.functional.softplus,
}
"""Hidden-layer nonlinearities by name; add an entry to make a new one available."""

SZT_WIDTHS = (12, 10, 7, 5, 4, 3, 2)
"""The 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby (2017), Fig. 2-3."""


def check_architecture(widths: Sequence[int], activation: str, n_features: int | None = None,
                       n_classes: int | None = None) -> None:
    """Raise ValueError for widths or an activation that cannot make a network for the data."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; allowed: {', '.join(sorted(ACTIVATIONS))}"
        )
    if len(widths) < 2 or any(int(w) < 1 for w in widths):
        raise ValueError(f"widths must list at least input and output sizes >= 1, got {widths}")
    if n_features is not None and widths[0] != n_features:
        raise ValueError(
            f"widths[0] = {widths[0]} does not match the data's {n_features} input features"
        )
    if n_classes is not None and widths[-1] != n_classes:
        raise ValueError(
            f"widths[-1] = {widths[-1]} does not match the data's {n_classes} classes"
        )


def check_device(device: str) -> None:
    """Raise ValueError for a device this machine does not have."""
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda[:index]'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested, but CUDA is not available here")


class Activation(nn.Module):
    """A named entry of :data:`ACTIVATIONS` as a module."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name](x)


class Ensemble(nn.Module):
    """What every ensemble shares: members as a leading dimension, optional layer noise.

    Subclasses set ``weights`` and ``biases`` (parameter lists, one entry per layer, each
    with the members first), ``seeds`` and ``noise_std``, and implement ``_propagate``,
    which yields (S_l, T_l) layer by layer as tensors of shape (members, features, batch).
    """

    weights: nn.ParameterList
    biases: nn.ParameterList
    seeds: tuple[int, ...]
    noise_std: float

    def _set_members(self, seeds: Sequence[int], noise_std: float) -> None:
        """Check and store the members' seeds and the layer noise."""
        if len(seeds) < 1:
            raise ValueError("an ensemble needs at least one seed")
        if noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}")
        self.seeds = tuple(int(s) for s in seeds)
        self.noise_std = float(noise_std)

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    def forward(self, x: torch.Tensor, return_layers: bool = False,
                noise_generator: NoiseSource | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits of every member, and optionally every layer's output.

        Parameters
        ----------
        x : Tensor, shape (M, d, B) or (d, B)
            Inputs, feature-major: per member, or one batch shared by all members.
        return_layers : bool
            Also return the list of layer outputs T_1..T_L, each of shape (M, width, B);
            the last one is the softmax output, as recorded by Shwartz-Ziv & Tishby.
        noise_generator : MemberNoise or torch.Generator, optional
            Source of the per-layer Gaussian noise of a noisy network: a
            :class:`~analysis.rng.MemberNoise` gives every member its own noise, fixed
            by its seed (as :func:`analysis.train.noise_generator` makes it); a
            ``torch.Generator`` draws all members' noise from one stream; None uses
            torch's global generator.

        Returns
        -------
        logits : Tensor, shape (M, n_classes, B)
        layers : list of Tensor, only with ``return_layers``
        """
        layers = []
        for i, (s, t) in enumerate(self._propagate(x, noise_generator)):
            if return_layers:
                layers.append(torch.softmax(t, dim=1) if i == len(self.weights) - 1 else t)
        return (t, layers) if return_layers else t

    def signals(self, x: torch.Tensor, noise_generator: NoiseSource | None = None
                ) -> list[torch.Tensor]:
        """Every layer's noiseless output S_l = f_l(T_(l-1)), the noise of earlier layers included.

        In a noisy network T_l = S_l + Z_l; the sample-propagation estimator needs the
        S_l (the centres of the Gaussian mixture that T_l is) of inputs propagated
        through the noisy earlier layers (Goldfeld et al. 2019, section 3). The last entry
        is the logits. Shapes as in :meth:`forward`'s layers.
        """
        return [s for s, _ in self._propagate(x, noise_generator)]

    def _add_noise(self, s: torch.Tensor, noise_generator: NoiseSource | None, layer: int,
                   members_first: bool = True) -> torch.Tensor:
        """T = S + N(0, noise_std^2 I) for a noisy ensemble, S itself otherwise.

        ``layer`` is the layer's index (0 for the first hidden layer); ``s`` has shape
        (members, features, batch), or with ``members_first=False`` (batch, members *
        channels, height, width) (a convolutional layer). A :class:`MemberNoise` draws
        member k's noise in (features, batch) order from its own stream either way.
        """
        if self.noise_std <= 0:
            return s
        if isinstance(noise_generator, MemberNoise):
            if members_first:
                z = noise_generator.normal(layer, s.shape, s.device, s.dtype)
            else:
                m, batch = self.n_members, s.shape[0]
                z = noise_generator.normal(layer, (m, s[0].numel() // m, batch), s.device,
                                           s.dtype).permute(2, 0, 1).reshape(s.shape)
        else:
            z = torch.randn(s.shape, generator=noise_generator, device=s.device,
                            dtype=s.dtype)
        return s + self.noise_std * z

    def _propagate(self, x: torch.Tensor, noise_generator: NoiseSource | None
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError


class EnsembleMLP(Ensemble):
    """M independent MLPs with softmax output, evaluated as one batched network.

    Parameters
    ----------
    widths : sequence of int
        Layer sizes from input to output, e.g. (12, 10, 7, 5, 4, 3, 2).
    activation : str
        Hidden nonlinearity, a key of :data:`ACTIVATIONS`.
    seeds : sequence of int
        One seed per member; it fixes that member's initial weights.
    noise_std : float
        Standard deviation beta of Gaussian noise added to every hidden layer's output
        (noisy networks of Goldfeld et al. 2019); 0 for deterministic networks.
    device : str or torch.device
        Where the parameters live ("cpu", "cuda", ...).

    Notes
    -----
    Weights are drawn from a normal distribution with standard deviation 1/sqrt(fan_in),
    truncated at two standard deviations, and biases start at zero, as in the code of
    Shwartz-Ziv & Tishby (2017).
    """

    def __init__(self, widths: Sequence[int], activation: str = "tanh",
                 seeds: Sequence[int] = (0,), noise_std: float = 0.0,
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        check_architecture(widths, activation)
        self._set_members(seeds, noise_std)
        self.widths = tuple(int(w) for w in widths)
        self.activation = activation
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        per_member = [self._init_member(s) for s in self.seeds]
        for layer in range(len(self.widths) - 1):
            self.weights.append(nn.Parameter(torch.stack([m[layer] for m in per_member])))
            self.biases.append(nn.Parameter(torch.zeros(len(seeds), self.widths[layer + 1], 1)))
        self.to(device)

    def _init_member(self, seed: int) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        layers = []
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:]):
            std = fan_in ** -0.5
            w = torch.empty(fan_in, fan_out)
            nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std, generator=gen)
            layers.append(w.T.contiguous())
        return layers

    def _propagate(self, x: torch.Tensor, noise_generator: NoiseSource | None
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(S_l, T_l) layer by layer: the activation's output and the same plus noise."""
        h = x.expand(self.n_members, *x.shape) if x.dim() == 2 else x
        act = ACTIVATIONS[self.activation]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = torch.baddbmm(b, w, h)
            s = z if i == last else act(z)
            h = s if i == last else self._add_noise(s, noise_generator, i)
            yield s, h

    def member(self, k: int) -> nn.Sequential:
        """Member k as a plain ``nn.Sequential`` (linear layers and activations) with copied weights."""
        mods: list[nn.Module] = []
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            lin = nn.Linear(w.shape[2], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(w[k])
                lin.bias.copy_(b[k, :, 0])
            mods.append(lin)
            if i < len(self.weights) - 1:
                mods.append(Activation(self.activation))
        return nn.Sequential(*mods).to(self.device)


def conv_output_size(size: int, kernel: int, stride: int) -> int:
    """Side of a convolution's output with padding ``kernel // 2`` (PyTorch's formula)."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def _trunc_normal(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> torch.Tensor:
    """N(0, 1/fan_in) truncated at two standard deviations (the MLPs' initialisation)."""
    std = fan_in ** -0.5
    return nn.init.trunc_normal_(torch.empty(shape), std=std, a=-2 * std, b=2 * std,
                                 generator=gen)


class EnsembleCNN(Ensemble):
    """M independent small convolutional networks, evaluated as one grouped network.

    Convolutions with ``channels[i]`` filters of ``kernel`` x ``kernel``, stride ``stride``
    and padding ``kernel // 2``, then fully connected layers of widths ``dense`` and the
    output layer; every hidden layer (convolutional or dense) is followed by the
    activation and, in a noisy network, by N(0, noise_std² I) (Goldfeld et al. 2019,
    section 7: a noisy CNN on MNIST). The members' convolutions run as one grouped
    convolution (``groups = M``).

    The interface is :class:`EnsembleMLP`'s: inputs are flattened images, feature-major,
    shape (M, C·H·W, B) or (C·H·W, B); every layer's output comes flattened in (channel,
    row, column) order, shape (M, features, B); so :func:`analysis.train.train_ensemble`
    and the estimators take either network.

    Parameters
    ----------
    image_shape : (channels, height, width)
    channels : sequence of int
        Filters of each convolutional layer.
    dense : sequence of int
        Widths of the fully connected hidden layers after the convolutions.
    n_classes : int
        Width of the output layer.
    kernel, stride : int
    activation, seeds, noise_std, device
        As for :class:`EnsembleMLP`.
    """

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28),
                 channels: Sequence[int] = (8, 16), dense: Sequence[int] = (64,),
                 n_classes: int = 10, kernel: int = 5, stride: int = 2,
                 activation: str = "tanh", seeds: Sequence[int] = (0,),
                 noise_std: float = 0.0, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.image_shape = tuple(int(v) for v in image_shape)
        self.channels = tuple(int(c) for c in channels)
        self.kernel, self.stride = int(kernel), int(stride)
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        if not self.channels or min(self.channels) < 1 or self.kernel < 1 or self.stride < 1:
            raise ValueError("need at least one convolution, with channels, kernel and "
                             f"stride >= 1; got {channels}, {kernel}, {stride}")
        flat = self._conv_widths()[-1]
        self.widths = (self.image_shape[0] * self.image_shape[1] * self.image_shape[2],
                       *self._conv_widths(), *(int(w) for w in dense), int(n_classes))
        check_architecture((flat, *dense, n_classes), activation)
        self._set_members(seeds, noise_std)
        self.activation = activation
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        per_member = [self._init_member(s, flat, dense, n_classes) for s in self.seeds]
        for layer, w in enumerate(per_member[0]):
            self.weights.append(nn.Parameter(torch.stack([m[layer] for m in per_member])))
            bias_shape = (len(self.seeds), w.shape[0]) + ((1,) if w.dim() == 2 else ())
            self.biases.append(nn.Parameter(torch.zeros(bias_shape)))
        self.to(device)

    def _conv_widths(self) -> list[int]:
        """Flattened size C·H·W of every convolutional layer's output."""
        out, (h, w) = [], self.image_shape[1:]
        for c in self.channels:
            h, w = (conv_output_size(v, self.kernel, self.stride) for v in (h, w))
            out.append(c * h * w)
        return out

    def _init_member(self, seed: int, flat: int, dense: Sequence[int], n_classes: int
                     ) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        layers, c_in = [], self.image_shape[0]
        for c_out in self.channels:
            layers.append(_trunc_normal((c_out, c_in, self.kernel, self.kernel),
                                        c_in * self.kernel ** 2, gen))
            c_in = c_out
        widths = (flat, *dense, n_classes)
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers.append(_trunc_normal((fan_out, fan_in), fan_in, gen))
        return layers

    def _propagate(self, x: torch.Tensor, noise_generator: NoiseSource | None
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        m = self.n_members
        x = x.expand(m, *x.shape) if x.dim() == 2 else x
        batch = x.shape[2]
        h = x.permute(2, 0, 1).reshape(batch, m * self.image_shape[0], *self.image_shape[1:])
        act = ACTIVATIONS[self.activation]
        n_conv, last = len(self.channels), len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if i < n_conv:
                z = nn.functional.conv2d(h, w.flatten(0, 1), b.flatten(), stride=self.stride,
                                         padding=self.kernel // 2, groups=m)
                s = act(z)
                h = self._add_noise(s, noise_generator, i, members_first=False)
                yield (s.reshape(batch, m, -1).permute(1, 2, 0),
                       h.reshape(batch, m, -1).permute(1, 2, 0))
                if i == n_conv - 1:
                    h = h.reshape(batch, m, -1).permute(1, 2, 0)
                continue
            z = torch.baddbmm(b, w, h)
            s = z if i == last else act(z)
            h = s if i == last else self._add_noise(s, noise_generator, i)
            yield s, h
