"""PNG plots of a run: learning curves, free-vs-nudged waveforms, conductance histograms and maps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from memprop.circuits.network import Network, SynapseStates  # noqa: E402
from memprop.circuits.validation import one_safe_line  # noqa: E402
from memprop.cosim.engines.transient import Waveform  # noqa: E402


def save_figure(fig: Any, path: Path, dpi: int = 110) -> Path:
    """Lay out, render and close a figure, then write the PNG atomically (see files.atomic_write)."""
    import io

    from memprop.cosim.data.files import atomic_write

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path



def cost_panel(ax: Any, rows: list[dict[str, Any]], legend_size: float | None = None) -> list[int]:
    """Training and test cost per epoch of a run's metrics rows (the left panel of its learning
    curves, in a run's plots and in the classification bench alike); returns the epochs."""
    epochs = [r["epoch"] for r in rows]
    ax.plot(epochs, [r["train_loss"] for r in rows], "o-", label="train (free phase)")
    ax.plot(epochs, [r["test_loss"] for r in rows], "s--", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost ½‖V_out − y‖² (V²)")
    ax.legend(fontsize=legend_size)
    return epochs


def accuracy_panel(ax: Any, epochs: list[int], rows: list[dict[str, Any]]) -> None:
    """Test accuracy per epoch, and validation accuracy where the run held a validation split out
    (a run without one has NaN there: no empty line in the legend)."""
    ax.plot(epochs, [100 * r["test_accuracy"] for r in rows], "o-", label="test")
    validation = [100 * r.get("validation_accuracy", float("nan")) for r in rows]
    if any(math.isfinite(v) for v in validation):
        ax.plot(epochs, validation, "s--", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.legend()


def learning_curves(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    accuracy_panel(ax2, cost_panel(ax1, rows), rows)
    fig.suptitle(one_safe_line(title), fontsize=10)
    return save_figure(fig, path)


def waveforms(wave: Waveform, network: Network, path: Path, label: int | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    out = network.output_slice()
    t_us = wave.t * 1e6
    lo, hi = network.neuron.v_low, network.neuron.v_high
    top = hi + 0.12 * (hi - lo)
    for k, idx in enumerate(range(out.start, out.stop)):
        style = "-" if label is None or k != label else "-"
        width = 2.4 if label is not None and k == label else 1.0
        ax.plot(t_us, wave.v[:, idx], style, lw=width, label=f"out {k}" + (" (target)" if k == label else ""))
    for p, beta in enumerate(wave.betas):
        t0 = t_us[wave.phase == p][0]
        ax.axvline(t0, color="k", lw=0.5, ls=":")
        ax.text(t0, hi + 0.02 * (hi - lo), "free" if beta == 0 else f"β = {beta:+g}", fontsize=8, va="bottom")
    ax.set_xlabel("time (µs)")
    ax.set_ylabel("output V (V)")
    ax.set_ylim(lo - 0.05 * (hi - lo), top)  # the activation's swing, the phase labels above it
    ax.legend(fontsize=7, ncol=5, loc="lower right")
    ax.set_title(f"{wave.simulator} transient: free phase, then nudged phases continuing from it", fontsize=10)
    return save_figure(fig, path)


def conductances(network: Network, states: SynapseStates, path_hist: Path, path_maps: Path) -> tuple[Path, Path]:
    dev = network.device
    primary = [b for b in network.crossbars if b.tied_to is None]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for bar in primary:
        g = dev.conductance(states[bar.name])[:, bar.mask().astype(bool)]
        ax.hist(g.ravel() * 1e6, bins=60, histtype="step", label=bar.name)
    ax.set_xlabel("conductance (µS)")
    ax.set_ylabel("devices")
    ax.legend(fontsize=8)
    save_figure(fig, path_hist)
    fig, axes = plt.subplots(1, len(primary), figsize=(3.2 * len(primary), 3.2), squeeze=False)
    for ax, bar in zip(axes[0], primary):
        g = dev.conductance(states[bar.name])
        w = network.neuron.r_f * (g[0] - g[1]) * bar.mask()
        lim = max(float(np.max(np.abs(w))), 1e-9)
        im = ax.imshow(w, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        ax.set_title(f"W = R_f(G+ − G−): {bar.name}", fontsize=8)
        ax.set_xlabel(f"source ({bar.source})")
        ax.set_ylabel(f"target ({bar.target})")
        fig.colorbar(im, ax=ax, fraction=0.046)
    return path_hist, save_figure(fig, path_maps)
