"""The picture of EP training with sky130 neurons in the loop beside the same config trained
behaviourally (its ideal twin): test and validation accuracy per epoch.

Run: .venv/bin/python bench/sky130_training_plot.py [--sky130 runs/digits-sky130/metrics.jsonl]
     [--twin docs/reports/sky130/run-twin/metrics.jsonl] [--out docs/reports/sky130/training.png]

The sky130 metrics come from `memprop train configs/digits-ep-sky130.toml --out runs/digits-sky130`
(a copy: docs/reports/sky130/run-sky130/metrics.jsonl), the twin's from the same config with
`--backend behavioral --analysis op` (a copy: docs/reports/sky130/run-twin/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from memprop.cosim.runs.rundir import read_metrics

REPO = Path(__file__).resolve().parent.parent


def plot(sky130: list[dict], twin: list[dict], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from memprop.cosim.runs.plots import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for runs, name, colour in ((sky130, "sky130 neurons in ngspice", "C0"), (twin, "ideal twin (behavioural)", "C1")):
        epochs = [r["epoch"] for r in runs]
        ax.plot(epochs, [100 * r["test_accuracy"] for r in runs], "o-", color=colour, label=f"{name}: test")
        ax.plot(epochs, [100 * r["validation_accuracy"] for r in runs], "s:", color=colour,
                label=f"{name}: validation")
    ax.axhline(95.0, color="k", lw=0.6, ls="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_xticks(range(1, max(r["epoch"] for r in sky130 + twin) + 1))
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("8x8 digits, EP, 64-32-10, seed 0: transistor-level training vs its twin", fontsize=9)
    return save_figure(fig, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sky130", type=Path, default=REPO / "runs/digits-sky130/metrics.jsonl")
    parser.add_argument("--twin", type=Path, default=REPO / "docs/reports/sky130/run-twin/metrics.jsonl")
    parser.add_argument("--out", type=Path, default=REPO / "docs/reports/sky130/training.png")
    args = parser.parse_args()
    print(f"wrote {plot(read_metrics(args.sky130), read_metrics(args.twin), args.out)}")


if __name__ == "__main__":
    main()
