"""`memprop bench sky130`: the default digits network validated with SkyWater SKY130 neurons.

The default network (64-32-10, VTEAM, EP) is trained behaviourally (5 epochs, seed 0), ported to
the sky130 level (runs/validate.py `sky130_config`: 0.5 V swing, impedances x100, the same
weights) and validated in ngspice: the whole test split at tt, 27 degC, then every corner x
temperature on the first IMAGES test images. Transistor-level images are settled one after another
in one transient (`chained`); energy per inference and settling from rest come from one transient
of the first test image. The reference is the run's own (ideal) level, `.op` per image.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from memprop.circuits.neuron import CORNERS
from memprop.cosim.bench.reporting import Log, pyplot, render, save_png, write_results
from memprop.cosim.config.config import Config

COMMAND = "memprop bench sky130 -o docs/reports/sky130"
TEMPS = (-40.0, 27.0, 125.0)
#: Test images per corner x temperature (the whole split only at tt, 27 degC).
IMAGES = 40
#: The from-rest transient for settling and energy (the chained windows are 100 tau = 100 us).
T_STOP = 100e-6
FIGURES = ("accuracy_points", "energy_nj", "settling_us")


def _trained(out: Path, quick: bool, log: Log) -> Path:
    """The default digits run, trained behaviourally (quick: 1 epoch on 200 images)."""
    from memprop.cosim.runs.trainer import Trainer

    run_dir = out / "run"
    if not (run_dir / "checkpoint.npz").exists():
        cfg = Config()
        train = replace(cfg.train, backend="behavioral", epochs=1 if quick else cfg.train.epochs)
        cfg = replace(cfg, train=train, data=replace(cfg.data, train_size=200) if quick else cfg.data)
        log(f"training {run_dir} ({train.epochs} epochs, behavioural)")
        Trainer(cfg, run_dir).run()
    return run_dir


def row(result: dict[str, Any]) -> dict[str, Any]:
    """One table row from a validate result: accuracies, settling and energy, what was unsettled."""
    val = result["validated"]
    out = {"corner": result["corner"], "temp": result["temp"], "images": val["images"],
           "accuracy": val["accuracy"], "reference_accuracy": result["reference"]["accuracy"],
           "accuracy_points": result["accuracy_change_points"], "unsettled": val.get("unsettled", 0),
           "mean_settling_us": 1e6 * val.get("mean_settling_time_s", float("nan")),
           "max_settling_us": 1e6 * val.get("max_settling_time_s", float("nan")),
           "seconds_per_image": val["seconds_per_image"]}
    if "validated_mean_energy_j" in result:
        out.update(energy_nj=1e9 * result["validated_mean_energy_j"],
                   settling_us=1e6 * result["validated_mean_settling_time_s"],
                   energy_per_mac_fj=1e15 * result["validated_energy_per_mac_j"],
                   **{f"energy_{part}_nj": 1e9 * result[f"validated_mean_energy_{part}_j"]
                      for part in ("neurons", "read_rails", "sources")})
    return out


def run(out: str | Path, quick: bool = False, log: Log = print,
        validate: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train (or reuse out/run), validate, write report.md, sky130.png and results.json."""
    from memprop.cosim.runs.trainer import load_run
    from memprop.cosim.runs.validate import validate as validate_states

    validate, out, t0 = validate or validate_states, Path(out), time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    cfg, states, _ = load_run(_trained(out, quick, log))
    images = 3 if quick else IMAGES
    log("tt, 27 degC, the whole test split")
    whole = validate(cfg, states, "sky130", images=3 if quick else 100000, transients=1, t_stop=T_STOP)
    rows = []
    for corner in CORNERS:
        for temp in TEMPS:
            log(f"{corner}, {temp:g} degC, {images} images")
            rows.append(row(validate(cfg, states, "sky130", images=images, transients=1, t_stop=T_STOP,
                                     corner=corner, temp=temp, op_check=0)))
    results = {"whole_split": row(whole), "op_check": whole["validated"].get("op_check"), "corners": rows,
               "images": images, "macs": whole["macs"], "quick": quick, "seconds": time.perf_counter() - t0}
    write_results(out / "results.json", results)
    _figure(rows, out / "sky130.png")
    (out / "report.md").write_text(render("sky130.md.j2", r=results, command=COMMAND, t_stop_us=1e6 * T_STOP), encoding="utf-8")
    return results


def _figure(rows: list[dict[str, Any]], path: Path) -> str:
    """Accuracy change, energy per inference and settling time, each a corner x temperature map."""
    import numpy as np

    plt = pyplot()
    fig, axes = plt.subplots(1, len(FIGURES), figsize=(4.2 * len(FIGURES), 3.2))
    titles = {"accuracy_points": "accuracy change (points)", "energy_nj": "energy per inference (nJ)",
              "settling_us": "settling from rest (us)"}
    for ax, key in zip(axes, FIGURES):
        grid = np.array([[r.get(key, np.nan) for r in rows if r["corner"] == c] for c in CORNERS])
        im = ax.imshow(grid, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(TEMPS)), [f"{t:g} °C" for t in TEMPS])
        ax.set_yticks(range(len(CORNERS)), CORNERS)
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.2g}", ha="center", va="center", color="w", fontsize=8)
        ax.set_title(titles[key], fontsize=9)
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return save_png(fig, path)
