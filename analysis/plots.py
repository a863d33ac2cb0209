"""One figure style for the whole book, and the information-plane plots.

Every figure is made for the book's text column (:data:`COLUMN_WIDTH` inches, shown at
100 px per inch, so fonts match the text around them) by :func:`figure`, at most three
panels a row, and is rendered at twice its resolution for high-resolution screens
(:func:`set_style`). Layers get distinct colours (:func:`layer_colors`), multi-panel
figures one legend below the panels (:func:`legend_below`), and epoch axes show epoch 0
honestly on a symlog scale (:func:`epoch_axis`) instead of moving it to epoch 1.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

EPOCH_CMAP = "viridis"
COLUMN_WIDTH = 7.2
"""Width of the book's text column in inches (at 100 px per inch)."""
MAX_COLUMNS = 3
"""Panels per row at most: more wrap into further rows."""


def set_style(width: float = COLUMN_WIDTH, height: float = 3.6) -> None:
    """The book's figure style: seaborn 'whitegrid', fonts sized for the text column,
    figures rendered at twice their resolution (sharp on high-resolution screens)."""
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    plt.rcParams.update({
        "figure.figsize": (width, height), "figure.dpi": 100, "savefig.dpi": 200,
        "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
        "legend.title_fontsize": 9, "figure.titlesize": 11,
        "animation.frame_format": "jpeg", "savefig.bbox": "tight"})
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")
    except ImportError:  # outside IPython: nothing to configure
        pass


def figure(n_panels: int = 1, ncols: int | None = None, panel_height: float = 2.6,
           width: float = COLUMN_WIDTH, **kwargs) -> tuple[Figure, list[Axes]]:
    """A figure of ``n_panels`` panels for the text column, at most three a row.

    Returns the figure and its panels as a flat list (unused cells of the last row are
    hidden). ``kwargs`` go to :func:`matplotlib.pyplot.subplots` (``sharex``, ...).
    """
    ncols = min(n_panels, MAX_COLUMNS) if ncols is None else min(ncols, MAX_COLUMNS)
    nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel_height * nrows + 0.4),
                             squeeze=False, **kwargs)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def legend_below(fig: Figure, axes: Sequence[Axes], ncol: int | None = None,
                 **kwargs) -> None:
    """One legend for all panels, below them, from the labelled artists of ``axes``."""
    handles, labels = [], []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels and not label.startswith("_"):
                handles.append(h)
                labels.append(label)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=ncol or min(len(labels), 6),
                   bbox_to_anchor=(0.5, -0.02), frameon=False, **kwargs)
        fig.tight_layout(rect=(0, 0.08 + 0.04 * ((len(labels) - 1) // (ncol or 6)), 1, 1))


def epoch_axis(ax: Axes, epochs: np.ndarray | None = None) -> None:
    """A symlog epoch axis: logarithmic beyond epoch 1, linear below, so epoch 0 shows
    where it is (never moved to epoch 1)."""
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.25)
    ax.set_xlim(left=0, right=None if epochs is None else max(1, float(np.max(epochs))) * 1.1)
    ax.set_xlabel("epoch")


def layer_colors(n_layers: int) -> list:
    """One distinct colour per layer (a qualitative palette; the last layer darkest)."""
    return sns.color_palette("colorblind", max(n_layers, 1))[:n_layers]


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
    for values, name, style in ((train, "train", "-"), (test, "test", "--")):
        mean, sd = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        line, = ax.plot(epochs, mean, style, label=f"{label}{name}".strip())
        ax.fill_between(epochs, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, lw=0)
    epoch_axis(ax, epochs)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` (format from the suffix) with tight bounding box; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


def gradient_phases(axes: Sequence[Axes], epochs: np.ndarray, mean: np.ndarray,
                    std: np.ndarray, transitions: np.ndarray | None = None,
                    onsets: np.ndarray | None = None) -> None:
    """Per layer, the norms of the gradients' mean and std on log-log axes (SZT Fig. 4).

    Vertical lines mark the drift-to-diffusion transition (grey) and the start of
    compression (red, dotted) where they exist.
    """
    keep = epochs > 0
    for layer, ax in enumerate(axes):
        ax.loglog(epochs[keep], mean[keep, layer], label="mean")
        ax.loglog(epochs[keep], std[keep, layer], "--", label="std")
        if transitions is not None and np.isfinite(transitions[layer]):
            ax.axvline(transitions[layer], color="0.4", lw=1, label="transition")
        if onsets is not None and np.isfinite(onsets[layer]):
            ax.axvline(onsets[layer], color="tab:red", ls=":", lw=1.5, label="compression")
        ax.set_title(f"layer {layer + 1}")
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("gradient norm")
    axes[0].legend(fontsize="small")


def animate_information_plane(i_xt: np.ndarray, i_ty: np.ndarray, epochs: np.ndarray,
                              max_frames: int = 60, title: str = "") -> str:
    """The information plane over epochs as a self-contained JavaScript animation.

    Every frame shows all members' layers (small points) and the seed-averaged layers
    (large points joined in layer order). Returns HTML that plays in a browser without
    any extra software (matplotlib's ``to_jshtml``); display it with
    ``IPython.display.HTML``. matplotlib links the icons of the player's buttons from a
    CDN; that link is removed so the page reads offline (the book's theme ships Font
    Awesome, which draws the same icons).
    """
    from matplotlib.animation import FuncAnimation

    frames = np.unique(np.linspace(0, len(epochs) - 1, min(max_frames, len(epochs))).astype(int))
    colors = layer_colors(i_xt.shape[2])
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=70)
    members = [ax.scatter([], [], s=8, color=c, alpha=0.35, linewidths=0) for c in colors]
    line, = ax.plot([], [], color="0.3", lw=1)
    means = ax.scatter(i_xt[:, 0].mean(0), i_ty[:, 0].mean(0), s=60, c=colors,
                       edgecolors="k", zorder=3)
    ax.set_xlim(-0.3, max(12.5, float(np.nanmax(i_xt)) + 0.3))
    ax.set_ylim(-0.03, float(np.nanmax(i_ty)) * 1.05 + 0.02)
    ax.set_xlabel("I(X;T) [bits]")
    ax.set_ylabel("I(T;Y) [bits]")
    label = ax.text(0.02, 0.95, "", transform=ax.transAxes, va="top")
    if title:
        ax.set_title(title)

    def draw(k: int):
        for layer, sc in enumerate(members):
            sc.set_offsets(np.c_[i_xt[:, k, layer], i_ty[:, k, layer]])
        mx, my = i_xt[:, k].mean(0), i_ty[:, k].mean(0)
        line.set_data(mx, my)
        means.set_offsets(np.c_[mx, my])
        label.set_text(f"epoch {epochs[k]}")
        return (*members, line, means, label)

    anim = FuncAnimation(fig, draw, frames=frames, interval=120, blit=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return re.sub(r'<link[^>]*href="https?://[^"]*font-awesome[^"]*"[^>]*>\s*', "", html)
