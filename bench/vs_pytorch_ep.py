"""memprop's behavioural engine against the reference PyTorch EP implementation, side by side.

Run: .venv/bin/python bench/vs_pytorch_ep.py --reference PATH_OR_GIT_URL [--pairs 3] [--samples 0]
(needs `pip install torch==2.13.0`, memprop's optional `bench` extra; never a runtime dependency,
and the Debian package dataset-fashion-mnist).

The reference is Laborieux et al. 2021, github.com/Laborieux-Axel/Equilibrium-Propagation: it is
cloned into a temporary directory and its own P_MLP and train() are imported from there (nothing of
it is copied into memprop). Its MLP command is the one of its check/train_mnist.sh (Adam 5e-4, the
sigmoid `mysig`, beta 0.1, T1 = 30 free and T2 = 10 nudged steps, batch 50) with the third phase
(symmetric +-beta, as memprop's default) and 784-500-10. It reads MNIST through torchvision, which
is not installable here: its module is imported for data loading and convnets only, so the driver
registers an empty module under that name and feeds both programs the same Fashion-MNIST images
(memprop's loader: 60 000 training images, the 10 000 test images, pixels in [0, 1]).

memprop runs configs/fashion-784-500-10-adam.toml for one epoch by default: the reference's algorithm
as the reference runs it (Adam 5e-4, beta 0.1 with the third phase, its sigmoid, float32, batch 50),
so the two differ in how they compute it: memprop settles every phase to its fixed point, on weights
held as device conductances; the reference runs 30 free and 10 nudged steps. `--config
configs/fashion-784-500-10.toml` runs memprop's own 30-epoch setting instead (momentum SGD, the hard
sigmoid, float64).

Both run in their own process with 2 threads (OPENBLAS/OMP for numpy, torch.set_num_threads for
torch), in interleaved pairs, and each reports samples/s over its whole epoch (training and the
test-set evaluation after it) and the test accuracy. Both clocks cover the same span: the
reference's starts after its data loaders and model are built and stops after its train() (an epoch
and its test evaluation); memprop's is the epoch row's `seconds` (its training and test evaluation),
so loading the images and building the network are outside it too (until 2026-12-07 memprop's clock
also held those, about 3 s of its ~32). The verdict prints the median of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The reference's side: its model and training loop, our data (run as `python -c` in the clone).
REFERENCE_DRIVER = r"""
import json, sys, time, types
sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))  # data loading only, unused here
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(2)
torch.manual_seed(int(sys.argv[3]))
import model_utils as ref
from memprop.cosim.data.datasets import load_splits

# optional: the batch size (default the reference's 50) and how many test images it evaluates (0: all)
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 50
test_size = int(sys.argv[5]) if len(sys.argv) > 5 else 0
splits = load_splits("fashion-mnist", seed=0, validation=0.0, train_size=int(sys.argv[2]), test_size=test_size)

def loader(data, batch, shuffle, train):
    ds = torch.utils.data.TensorDataset(torch.tensor(data.x, dtype=torch.float32),
                                        torch.tensor(data.y, dtype=torch.long))
    ds.train = train  # evaluate() names the split by this attribute
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=shuffle, num_workers=0)

model = ref.P_MLP([784, 500, 10], activation=ref.my_sigmoid)
optimizer = torch.optim.Adam([{"params": s.parameters(), "lr": 5e-4} for s in model.synapses])
criterion = torch.nn.MSELoss(reduction="none")
train, test = loader(splits.train, batch, True, True), loader(splits.test, 200, False, False)
t0 = time.perf_counter()
ref.train(model, optimizer, train, test, 30, 10, (0.0, 0.1), torch.device("cpu"), 1, criterion,
          thirdphase=True)
seconds = time.perf_counter() - t0
accuracy = ref.evaluate(model, test, 30, torch.device("cpu")) / len(splits.test.y)  # it returns a count
print("RESULT " + json.dumps({"seconds": seconds, "samples": len(splits.train.y), "test_accuracy": accuracy}))
"""

MEMPROP_DRIVER = r"""
import json, sys, tempfile, time
from dataclasses import replace
from memprop.cosim.config.config import load
from memprop.cosim.runs.trainer import Trainer

cfg = load(sys.argv[1])
cfg = replace(cfg, data=replace(cfg.data, train_size=int(sys.argv[2])),
              train=replace(cfg.train, epochs=1, seed=int(sys.argv[3]), checkpoint_every=10**6))
with tempfile.TemporaryDirectory() as run:
    t0 = time.perf_counter()
    rows = Trainer(cfg, run).run()
    wall = time.perf_counter() - t0
n = rows[-1]
# the epoch's own span (its training and the test evaluation after it), as the reference's clock:
# loading the images and building the network are outside both
print("RESULT " + json.dumps({"seconds": n["seconds"], "samples": cfg.data.train_size or 60000,
                              "test_accuracy": n["test_accuracy"], "train_seconds": n["train_seconds"],
                              "wall_seconds": wall}))
"""


def clone(reference: str, into: Path) -> Path:
    """A fresh working copy of the reference (a local path, a bare mirror or a git URL)."""
    target = into / "reference"
    subprocess.run(["git", "clone", "--quiet", reference, str(target)], check=True)
    return target


def run_driver(code: str, args: list[str], cwd: Path) -> dict:
    """One epoch in its own process with two threads; the JSON line it printed."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2", MKL_NUM_THREADS="2",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"driver failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["samples_per_s"] = result["samples"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="path or git URL of Laborieux-Axel/Equilibrium-Propagation")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved pairs of epochs (default 3)")
    parser.add_argument("--samples", type=int, default=0, help="training images per epoch (0: all 60 000)")
    parser.add_argument("--config", default=str(REPO / "configs" / "fashion-784-500-10-adam.toml"))
    parser.add_argument("--json", type=Path, help="write every pair's results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_dir = clone(args.reference, Path(tmp))
        pairs = []
        for k in range(args.pairs):
            # the drivers run in the temporary directory: the config by its absolute path
            ours = run_driver(MEMPROP_DRIVER, [str(Path(args.config).resolve()), str(args.samples), str(k)],
                              Path(tmp))
            theirs = run_driver(REFERENCE_DRIVER, [str(ref_dir), str(args.samples), str(k)], ref_dir)
            ratio = ours["samples_per_s"] / theirs["samples_per_s"]
            pairs.append({"memprop": ours, "reference": theirs, "ratio": ratio})
            print(f"pair {k + 1}: memprop {ours['samples_per_s']:7.1f} samples/s ({ours['seconds']:.1f} s, test "
                  f"{100 * ours['test_accuracy']:.2f} %)  reference {theirs['samples_per_s']:7.1f} samples/s "
                  f"({theirs['seconds']:.1f} s, test {100 * theirs['test_accuracy']:.2f} %)  ratio {ratio:.2f}",
                  flush=True)
    ratios = [p["ratio"] for p in pairs]
    print(f"median ratio memprop / reference: {statistics.median(ratios):.2f} (pairs: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); test accuracy memprop "
          f"{100 * statistics.mean(p['memprop']['test_accuracy'] for p in pairs):.2f} % vs reference "
          f"{100 * statistics.mean(p['reference']['test_accuracy'] for p in pairs):.2f} % (mean over pairs)")
    if args.json:
        args.json.write_text(json.dumps(pairs, indent=1))


if __name__ == "__main__":
    main()
