"""Training throughput of both backends on the 8x8 digits (64-32-10, EP).

Run: .venv/bin/python bench/training_speed.py [--samples 200] [--nudging symmetric] [--batch 10]
Prints samples/s for the behavioural and the ngspice backend, and for ngspice the share of wall
time spent outside ngspice analyses (Python: twin reference, alters, reads, updates).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

from memprop.cosim.config.config import Config
from memprop.cosim.runs.trainer import Trainer


def run(backend: str, samples: int, nudging: str, batch: int) -> dict:
    cfg = Config()
    cfg = replace(cfg, data=replace(cfg.data, train_size=samples, test_size=1, validation=0.0),
                  train=replace(cfg.train, backend=backend, epochs=1, nudging=nudging, batch_size=batch,
                                checkpoint_every=10**6))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp)
        t0 = time.perf_counter()
        rows = trainer.run()
        wall = time.perf_counter() - t0
    row = rows[-1]
    out = {"backend": backend, "samples": samples, "wall_s": wall, "samples_per_s": samples / wall}
    if backend == "ngspice":
        analysis = row["ngspice_analysis_seconds"]
        out.update(analyses=row["ngspice_analyses"], analysis_s=analysis,
                   outside_share=1.0 - analysis / wall, ms_per_analysis=1e3 * analysis / row["ngspice_analyses"],
                   restarts=row["ngspice_restarts"], max_twin_diff_mv=row["ngspice_max_twin_diff_mv"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--nudging", default="symmetric", choices=["one-sided", "symmetric", "random-sign"])
    parser.add_argument("--batch", type=int, default=10, help="batch size (the default config's is 10)")
    args = parser.parse_args()
    for backend in ("behavioral", "ngspice"):
        r = run(backend, args.samples, args.nudging, args.batch)
        line = (f"{backend:>10}: {r['samples_per_s']:8.1f} samples/s ({r['samples']} samples, batch {args.batch}, "
                f"{r['wall_s']:.2f} s)")
        if backend == "ngspice":
            line += (f"; {r['analyses']} analyses, {r['ms_per_analysis']:.1f} ms each; outside ngspice analyses "
                     f"{100 * r['outside_share']:.1f} % of wall time; nodeset restarts {r['restarts']}; "
                     f"max |ngspice - twin| {r['max_twin_diff_mv']:.2e} mV")
        print(line, flush=True)


if __name__ == "__main__":
    main()
