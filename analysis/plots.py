"""One figure style for the whole book, and the information-plane plots."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

EPOCH_CMAP = "viridis"


def set_style(width: float = 7.0, height: float = 4.0) -> None:
    """The book's figure style: seaborn 'whitegrid', one palette, a default size."""
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    plt.rcParams.update({"figure.figsize": (width, height), "figure.dpi": 100,
                         "savefig.dpi": 150, "axes.titlesize": "medium"})


def layer_colors(n_layers: int) -> list:
    """One colour per layer, from the first (light) to the last (dark)."""
    return sns.color_palette("rocket_r", n_layers + 1)[1:]


def _epoch_norm(epochs: np.ndarray) -> LogNorm:
    return LogNorm(vmin=max(1, int(epochs[epochs > 0].min(initial=1))), vmax=max(2, int(epochs.max())))


def information_plane(ax: Axes, i_xt: np.ndarray, i_ty: np.ndarray, epochs: np.ndarray,
                      title: str = "", colorbar: bool = True) -> None:
    """Seed-averaged trajectories of every layer in the plane, coloured by epoch.

    Parameters
    ----------
    i_xt, i_ty : ndarray, shape (members, epochs, layers)
        Mutual information in bits; averaged over members before plotting.
    epochs : ndarray, shape (epochs,)
        The recorded epochs (colour scale, logarithmic).
    """
    mx, my = i_xt.mean(axis=0), i_ty.mean(axis=0)
    norm = _epoch_norm(epochs)
    colour_epochs = np.maximum(epochs, norm.vmin)
    sc = None
    for layer in range(mx.shape[1]):
        ax.plot(mx[:, layer], my[:, layer], color="0.75", lw=0.8, zorder=1)
        sc = ax.scatter(mx[:, layer], my[:, layer], c=colour_epochs, cmap=EPOCH_CMAP,
                        norm=norm, s=9, zorder=2, linewidths=0)
    ax.set_xlabel("I(X;T) [bits]")
    ax.set_ylabel("I(T;Y) [bits]")
    if title:
        ax.set_title(title)
    if colorbar and sc is not None:
        ax.figure.colorbar(sc, ax=ax, label="epoch")


def snapshots(axes: Sequence[Axes], i_xt: np.ndarray, i_ty: np.ndarray, epochs: np.ndarray,
              at_epochs: Sequence[int]) -> list[int]:
    """Every member's layers in the plane at chosen epochs (Shwartz-Ziv & Tishby, Fig. 2).

    Each panel shows the recorded epoch nearest to the requested one; returns those epochs.
    """
    colors = layer_colors(i_xt.shape[2])
    shown = []
    for ax, want in zip(axes, at_epochs):
        k = int(np.argmin(np.abs(epochs - want)))
        shown.append(int(epochs[k]))
        for layer in range(i_xt.shape[2]):
            ax.scatter(i_xt[:, k, layer], i_ty[:, k, layer], s=14, color=colors[layer],
                       alpha=0.6, linewidths=0, label=f"layer {layer + 1}")
        ax.set_title(f"epoch {epochs[k]}")
        ax.set_xlabel("I(X;T) [bits]")
    axes[0].set_ylabel("I(T;Y) [bits]")
    axes[-1].legend(loc="lower right", fontsize="small", frameon=True)
    return shown


def learning_curves(ax: Axes, epochs: np.ndarray, train: np.ndarray, test: np.ndarray,
                    ylabel: str = "accuracy", label: str = "") -> None:
    """Mean and one standard deviation over members of train and test curves, log epochs."""
    x = np.maximum(epochs, 1)
    for values, name, style in ((train, "train", "-"), (test, "test", "--")):
        mean, sd = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        line, = ax.plot(x, mean, style, label=f"{label}{name}".strip())
        ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` (format from the suffix) with tight bounding box; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path
