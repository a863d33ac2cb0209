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
from matplotlib.ticker import FuncFormatter

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
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
    ax.set_xlim(left=0, right=None if epochs is None else max(1, float(np.max(epochs))) * 1.1)
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: f"{x:g}" if x < 1e4 else f"$10^{{{np.log10(x):.0f}}}$"))
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
    ax.set_xlabel("$I(X;T)$ [bits]")
    ax.set_ylabel("$I(T;Y)$ [bits]")
    if title:
        ax.set_title(title)
    if colorbar and sc is not None:
        ax.figure.colorbar(sc, ax=ax, label="epoch")


def snapshots(axes: Sequence[Axes], i_xt: np.ndarray, i_ty: np.ndarray, epochs: np.ndarray,
              at_epochs: Sequence[int]) -> list[int]:
    """Every member's layers in the plane at chosen epochs (Shwartz-Ziv & Tishby, Fig. 2).

    Each panel shows the recorded epoch nearest to the requested one; returns those epochs.
    The layers are labelled for one legend under the panels (:func:`legend_below`).
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
        ax.set_xlabel("$I(X;T)$ [bits]")
    axes[0].set_ylabel("$I(T;Y)$ [bits]")
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
    """Per layer, the norms of the gradients' mean and std against epoch (SZT Fig. 4).

    One panel per layer (log axes); vertical lines mark the drift-to-diffusion transition
    (grey) and the start of compression (red, dotted) where they exist. Labelled for one
    legend under the panels (:func:`legend_below`).
    """
    keep = epochs > 0
    for layer, ax in enumerate(axes):
        ax.plot(epochs[keep], mean[keep, layer], color="C0", label="|mean|")
        ax.plot(epochs[keep], std[keep, layer], "--", color="C1", label="|std|")
        if transitions is not None and np.isfinite(transitions[layer]):
            ax.axvline(transitions[layer], color="0.4", lw=1, label="transition")
        if onsets is not None and np.isfinite(onsets[layer]):
            ax.axvline(onsets[layer], color="tab:red", ls=":", lw=1.5,
                       label="compression starts")
        ax.set_yscale("log")
        epoch_axis(ax, epochs)
        ax.set_title(f"layer {layer + 1}")
        spec = ax.get_subplotspec()
        if spec is None or spec.is_first_col():
            ax.set_ylabel("gradient norm")
        if spec is not None and not spec.is_last_row() and layer + MAX_COLUMNS < len(axes):
            ax.set_xlabel("")


def gradient_snr(ax: Axes, epochs: np.ndarray, snr: np.ndarray,
                 transitions: np.ndarray | None = None, labels: Sequence[str] | None = None,
                 colors: Sequence | None = None) -> None:
    """Smoothed gradient SNR of every layer against epoch, with the drift/diffusion line.

    ``snr`` has shape (epochs, layers) for the recorded ``epochs`` after 0; circles mark
    each layer's transition (the SNR stays below 1 from there on).
    """
    colors = layer_colors(snr.shape[1]) if colors is None else colors
    for layer in range(snr.shape[1]):
        label = labels[layer] if labels is not None else f"layer {layer + 1}"
        ax.plot(epochs, snr[:, layer], color=colors[layer], lw=1.4, label=label)
        if transitions is not None and np.isfinite(transitions[layer]):
            k = int(np.searchsorted(epochs, transitions[layer]))
            ax.plot(epochs[k], snr[k, layer], "o", color=colors[layer], mec="k", mew=0.6,
                    ms=5, zorder=3)
    ax.axhline(1.0, color="0.2", lw=0.8, ls="--")
    ax.set_yscale("log")
    epoch_axis(ax, epochs)
    ax.set_ylabel("smoothed SNR")


def idnns_gradients(ax: Axes, epochs: np.ndarray, cum_mean: np.ndarray,
                    root_std: np.ndarray) -> None:
    """The authors' code's gradient plot (``plot_gradients.py``): for each layer l, the sum
    of the mean-gradient norms of layers 1..l (solid) and the square root of the sum of
    their std norms (dotted), coloured by layer."""
    keep = epochs > 0
    colors = layer_colors(cum_mean.shape[1])
    for layer in range(cum_mean.shape[1]):
        ax.plot(epochs[keep], cum_mean[keep, layer], color=colors[layer],
                label=f"layers 1–{layer + 1}" if layer else "layer 1")
        ax.plot(epochs[keep], root_std[keep, layer], ":", color=colors[layer], lw=2)
    ax.set_yscale("log")
    epoch_axis(ax, epochs)
    ax.set_ylabel("cumulative norm")


def animate_information_plane(i_xt: np.ndarray, i_ty: np.ndarray, epochs: np.ndarray,
                              max_frames: int = 30, title: str = "", height: float = 3.0,
                              quality: int = 70) -> str:
    """The information plane over epochs as a self-contained JavaScript animation.

    Every frame shows all members' layers (small points) and the member-averaged layers
    (large points joined in layer order), with a legend of the layers beside the panel and
    the epoch in the title. Frames are JPEG images of the column's width at 100 px per
    inch, so fonts match the static figures, and ``max_frames`` at most (spread evenly over
    the recorded epochs, which are log-spaced): about 25 kB a frame. Returns HTML that plays
    in a browser without any extra software (matplotlib's ``HTMLWriter``); display it with
    ``IPython.display.HTML``. matplotlib links the icons of the player's buttons from a
    CDN; that link is removed so the page reads offline (the book's theme ships Font
    Awesome, which draws the same icons).
    """
    import tempfile

    from matplotlib.animation import FuncAnimation, HTMLWriter

    frames = np.unique(np.linspace(0, len(epochs) - 1, min(max_frames, len(epochs))).astype(int))
    colors = layer_colors(i_xt.shape[2])
    with plt.rc_context({"savefig.bbox": "standard", "animation.frame_format": "jpeg"}):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, height), dpi=100)
        members = [ax.scatter([], [], s=8, color=c, alpha=0.35, linewidths=0) for c in colors]
        line, = ax.plot([], [], color="0.3", lw=1)
        means = ax.scatter(i_xt[:, 0].mean(0), i_ty[:, 0].mean(0), s=50, c=colors,
                           edgecolors="k", linewidths=0.6, zorder=3)
        ax.set_xlim(-0.3, max(12.5, float(np.nanmax(i_xt)) + 0.3))
        ax.set_ylim(-0.03, float(np.nanmax(i_ty)) * 1.05 + 0.02)
        ax.set_xlabel("$I(X;T)$ [bits]")
        ax.set_ylabel("$I(T;Y)$ [bits]")
        handles = [plt.Line2D([], [], ls="", marker="o", color=c, markeredgecolor="k",
                              markeredgewidth=0.6, label=f"layer {k + 1}")
                   for k, c in enumerate(colors)]
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5),
                  frameon=False)
        head = ax.set_title("")
        fig.subplots_adjust(left=0.09, right=0.83, bottom=0.17, top=0.88)
        prefix = f"{title}, " if title else ""

        def draw(k: int):
            for layer, sc in enumerate(members):
                sc.set_offsets(np.c_[i_xt[:, k, layer], i_ty[:, k, layer]])
            mx, my = i_xt[:, k].mean(0), i_ty[:, k].mean(0)
            line.set_data(mx, my)
            means.set_offsets(np.c_[mx, my])
            head.set_text(f"{prefix}epoch {epochs[k]}")
            return (*members, line, means, head)

        anim = FuncAnimation(fig, draw, frames=frames, interval=150, blit=False)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "animation.html"
            anim.save(str(path), writer=HTMLWriter(fps=1000 / 150, embed_frames=True,
                                                   default_mode="once"),
                      dpi=100, savefig_kwargs={"pil_kwargs": {"quality": quality}})
            html = path.read_text()
        plt.close(fig)
    return re.sub(r'<link[^>]*href="https?://[^"]*font-awesome[^"]*"[^>]*>\s*', "", html)


def layer_falls(ax: Axes, falls: dict[str, tuple[np.ndarray, ...]], layer_names: Sequence[str],
                threshold: float = 0.05) -> None:
    """The compression criterion of every layer with its 95% interval, one marker per run.

    ``falls`` maps a label to ``(fall, low, high, at_start)``, arrays over the layers (as
    :func:`analysis.experiments.mnist_networks.layer_falls` returns them); layers whose
    I(X;T) peaks at the start (not testable for compression) are drawn hollow. The dashed
    line is the threshold.
    """
    width = 0.8 / max(len(falls), 1)
    for k, (label, (fall, low, high, at_start)) in enumerate(falls.items()):
        x = np.arange(len(fall)) + (k - (len(falls) - 1) / 2) * width
        color = f"C{k}"
        ax.errorbar(x, fall, yerr=[np.maximum(fall - low, 0), np.maximum(high - fall, 0)],
                    fmt="none", ecolor=color, elinewidth=1, capsize=2)
        ax.scatter(x[~at_start], fall[~at_start], color=color, s=18, zorder=3, label=label)
        ax.scatter(x[at_start], fall[at_start], facecolors="none", edgecolors=color, s=18,
                   zorder=3)
    ax.axhline(threshold, color="grey", ls="--", lw=0.8)
    ax.set_xticks(np.arange(len(layer_names)), layer_names)
    ax.set_ylabel("fall of I(X;T) after its peak")


def layer_curves(ax: Axes, epochs: np.ndarray, values: np.ndarray,
                 peaks: np.ndarray | None = None, marked: np.ndarray | None = None,
                 ylabel: str = "$I(X;T)$ [bits]") -> None:
    """Member mean (line) and one standard deviation over members (band) of a per-layer
    quantity against epoch, one colour per layer; circles at ``peaks`` (record indices),
    filled where ``marked`` (e.g. the layers that compress), hollow elsewhere.

    ``values`` has shape (members, epochs, layers).
    """
    colors = layer_colors(values.shape[2])
    mean, sd = values.mean(axis=0), values.std(axis=0)
    for layer, color in enumerate(colors):
        ax.plot(epochs, mean[:, layer], color=color, lw=1.4, label=f"layer {layer + 1}")
        ax.fill_between(epochs, mean[:, layer] - sd[:, layer], mean[:, layer] + sd[:, layer],
                        color=color, alpha=0.15, lw=0)
        if peaks is not None:
            k = int(peaks[layer])
            filled = marked is None or bool(marked[layer])
            ax.plot(epochs[k], mean[k, layer], "o", ms=6, mec=color, mew=1.5, zorder=3,
                    color=color if filled else "white")
    epoch_axis(ax, epochs)
    ax.set_ylabel(ylabel)


def plain_log_axis(ax: Axes, axis: str = "y") -> None:
    """Label a logarithmic axis with plain numbers (0.5, 1, 2, 5, 10) instead of powers."""
    from matplotlib.ticker import FuncFormatter

    def minor(v: float, _pos: int) -> str:
        return f"{v:g}" if v > 0 and round(v / 10 ** np.floor(np.log10(v))) in (2, 5) else ""

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(minor))


def epoch_colorbar(fig: Figure, axes: Sequence[Axes], epochs: np.ndarray) -> None:
    """One colour bar of the epoch scale of :func:`information_plane` for several panels
    (draw the panels with ``colorbar=False``)."""
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm=_epoch_norm(np.asarray(epochs)), cmap=EPOCH_CMAP),
                 ax=list(axes), label="epoch", fraction=0.03, pad=0.02)
