"""What the dynamic form (every device's state equation live) costs per time point, here and at an
earlier commit.

Run: .venv/bin/python bench/dynamic_form.py [--against c6c5b7b] [--layers 64-32-10] [--pairs 2]

One sample's free, +beta and -beta phases (20 tau each) on the per-phase transient engine, VTEAM
devices: seconds inside ngspice's transients, their time points, and how far the phases end from
the twin's equilibria. `--against` is checked out into a temporary directory; the two trees run in
interleaved pairs, each run in its own process (one ngspice per process), so both see the same
machine. c6c5b7b is the last commit before the one-source state equation, the XSPICE divider and
gear with tenth-of-a-phase steps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from twin_identity import REPO, checkout  # bench/ is the script's directory: its own module

#: One timing with the tree on PYTHONPATH; prints a JSON line.
DRIVER = r"""
import json, sys, time
import numpy as np
from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.perphase import NgspiceEngine
layers = tuple(int(v) for v in sys.argv[1].split("-"))
net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
x = np.random.default_rng(0).uniform(0, 1, (1, net.n_inputs))
y = np.eye(layers[-1])[:1]
engine = NgspiceEngine(net, analysis="tran")
engine.program(glorot_states(net, 0, gain=0.5))
engine._ensure_loaded()
tran, spent, points = engine.session.tran, [], []
def timed(*args, **kwargs):
    t0 = time.perf_counter()
    plot = tran(*args, **kwargs)
    spent.append(time.perf_counter() - t0)
    points.append(len(engine.session.vector(plot, "time")))
    return plot
engine.session.tran = timed
engine.phases(x, y, [0.0, 0.3, -0.3])
print(json.dumps({"seconds": sum(spent), "points": sum(points), "ms_per_point": 1e3 * sum(spent) / sum(points),
                  "max_twin_diff_mv": engine.stats["max_twin_diff_mv"]}))
engine.close()
"""


def time_tree(tree: Path, layers: str) -> dict[str, float]:
    """One timing of `tree`'s dynamic form in its own process (run from the tree: `python -c` puts the
    working directory first on the path)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", DRIVER, layers], env=env, cwd=tree, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="c6c5b7b", help="the earlier commit to time beside this tree")
    parser.add_argument("--layers", default="64-32-10")
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.against, Path(tmp))
        for k in range(args.pairs):
            old, new = time_tree(before, args.layers), time_tree(REPO, args.layers)
            print(f"pair {k + 1}: {args.against} {old['seconds']:.1f} s, {old['points']} points, "
                  f"{old['ms_per_point']:.1f} ms/point, <= {old['max_twin_diff_mv']:.2f} mV | this tree "
                  f"{new['seconds']:.1f} s, {new['points']} points, {new['ms_per_point']:.1f} ms/point, "
                  f"<= {new['max_twin_diff_mv']:.2f} mV | per sample x{old['seconds'] / new['seconds']:.1f}, "
                  f"per time point x{old['ms_per_point'] / new['ms_per_point']:.1f}")


if __name__ == "__main__":
    main()
