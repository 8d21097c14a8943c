"""Does the behavioural engine still train exactly as an earlier commit's did?

Run: .venv/bin/python bench/twin_identity.py [--against 0711594] [--epochs 1]

The faster twin (writes reusing their reads, the twin reprogrammed in place, Anderson-accelerated
sweeps, writes finishing in a thread) must land on the same weights as the engine before it: this
checks out `--against` into a temporary directory, trains the default config there and here, each
in its own process, and prints the largest difference of any device state after the run. The
learning-rate schedule and momentum came later than 0711594, so both sides are pinned to the
training every older default run had: rates 0.2 and 0.05, constant, no momentum.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

#: One run with the tree on PYTHONPATH; its final device states go to an .npz.
DRIVER = r"""
import sys, tempfile, numpy as np
try:
    from memprop.cosim.config.config import loads
    from memprop.cosim.runs.trainer import Trainer
except ModuleNotFoundError:  # a tree from before cosim/ was split into rooms (issue 15)
    from memprop.cosim.config import loads
    from memprop.cosim.trainer import Trainer
cfg = loads(open(sys.argv[1]).read())
with tempfile.TemporaryDirectory() as run:
    t = Trainer(cfg, run)
    t.run()
    np.savez(sys.argv[2], **t.states.states)
"""


def checkout(commit: str, into: Path) -> Path:
    """The tree of `commit` (of this repository) in a fresh directory."""
    tree = into / "previous"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPO), str(tree)], check=True)
    subprocess.run(["git", "-C", str(tree), "checkout", "--quiet", commit], check=True)
    return tree


def pinned_config(tree: Path, epochs: int) -> str:
    """The default config for `tree`: one behavioural run of `epochs` with the pre-schedule
    training (its schedule fields only where the tree knows them)."""
    train = ["[train]", f"epochs = {epochs}", 'backend = "behavioral"', "lr = [0.2, 0.05]"]
    cosim = tree / "memprop" / "cosim"
    source = cosim / "config" / "config.py" if (cosim / "config").is_dir() else cosim / "config.py"
    if "lr_schedule" in source.read_text():
        train += ['lr_schedule = "constant"', "momentum = 0.0"]
    return "\n".join(train) + "\n"


def train(tree: Path, config: str, out: Path) -> dict[str, np.ndarray]:
    """One run of `config` with `tree`'s memprop, single-threaded so the BLAS sums are ordered alike."""
    path = out.with_suffix(".toml")
    path.write_text(config)
    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", DRIVER, str(path), str(out)], cwd=tree, env=env, check=True)
    with np.load(out) as states:
        return dict(states)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="0711594", help="the earlier commit (default: before issue 20)")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        previous = checkout(args.against, Path(tmp))
        old = train(previous, pinned_config(previous, args.epochs), Path(tmp) / "old.npz")
        new = train(REPO, pinned_config(REPO, args.epochs), Path(tmp) / "new.npz")
    worst = max(float(np.max(np.abs(new[k] - old[k]))) for k in old)
    print(f"largest device-state difference after {args.epochs} epoch(s), {args.against} vs this tree: "
          f"{worst:.3g} ({len(old)} crossbars, {sum(a.size for a in old.values())} devices)")


if __name__ == "__main__":
    main()
