"""Throughput of the behavioural engine at a small batch against batch 50, side by side.

Run: .venv/bin/python bench/batch_size.py [--config configs/fashion-784-500-10.toml] [--samples 10000]
     [--small 20] [--pairs 2] [--reference PATH_OR_GIT_URL]

Issue 20 asks that batch 20 trains at >= 0.8x the samples/s of batch 50: the cost of a batch that
does not scale with its size (the device writes, the twin's reprogramming, the per-sweep overhead)
decides it. Each run trains one epoch on the first `--samples` training images in its own process
with 2 BLAS threads, in interleaved pairs; samples/s counts the training only (train_seconds).

--reference (a clone of Laborieux-Axel/Equilibrium-Propagation, as bench/vs_pytorch_ep.py takes it;
needs torch): each pair also trains the reference PyTorch EP implementation at both batch sizes
(its own algorithm and settings, only the batch size changed), so its own ratio is measured in
the same run, and memprop's samples/s is compared with the reference's at each batch size (a
like-for-like comparison with `--config configs/fashion-784-500-10-adam.toml`, the reference's
algorithm, as bench/vs_pytorch_ep.py runs by default; the default config is memprop's own
setting). The reference's clock holds its train() with an evaluation of 200 test images (one
batch of its loader, under 1 % of an epoch of 10 000 images).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from vs_pytorch_ep import REFERENCE_DRIVER, REPO, clone, run_driver  # bench/ is the script's directory: its own module

#: One epoch at one batch size; prints its training time and the twin's sweep count.
DRIVER = r"""
import json, sys, tempfile
from dataclasses import replace
from memprop.cosim.config.config import load
from memprop.cosim.runs.trainer import Trainer

cfg = load(sys.argv[1])
batch, samples = int(sys.argv[2]), int(sys.argv[3])
cfg = replace(cfg, data=replace(cfg.data, train_size=samples, test_size=1000),
              train=replace(cfg.train, epochs=1, batch_size=batch, checkpoint_every=10**6))
with tempfile.TemporaryDirectory() as run:
    row = Trainer(cfg, run).run()[-1]
print("RESULT " + json.dumps({"samples": samples, "seconds": row["train_seconds"], "sweeps": row["twin_sweeps"]}))
"""


def run_one(config: Path, batch: int, samples: int) -> dict:
    """One epoch in its own process with two threads (vs_pytorch_ep's runner adds samples_per_s)."""
    return run_driver(DRIVER, [str(config), str(batch), str(samples)], REPO)


def run_reference(ref_dir: Path, batch: int, samples: int, seed: int) -> dict:
    """One epoch of the reference at `batch`, evaluating 200 test images (run in its clone)."""
    return run_driver(REFERENCE_DRIVER, [str(ref_dir), str(samples), str(seed), str(batch), "200"], ref_dir)


def measure(args: argparse.Namespace, config: Path, ref_dir: Path | None) -> None:
    """The interleaved pairs: memprop at 50 and at the small batch (and the reference, if given)."""
    ratios, ref_ratios = [], []
    for k in range(args.pairs):
        big, small = run_one(config, 50, args.samples), run_one(config, args.small, args.samples)
        ratios.append(small["samples_per_s"] / big["samples_per_s"])
        print(f"pair {k + 1}: batch 50 {big['samples_per_s']:7.0f} samples/s ({big['sweeps']} sweeps), batch "
              f"{args.small} {small['samples_per_s']:7.0f} samples/s ({small['sweeps']} sweeps), ratio "
              f"{ratios[-1]:.2f}", flush=True)
        if ref_dir is not None:
            ref_big, ref_small = (run_reference(ref_dir, b, args.samples, k) for b in (50, args.small))
            ref_ratios.append(ref_small["samples_per_s"] / ref_big["samples_per_s"])
            print(f"        reference: batch 50 {ref_big['samples_per_s']:7.0f} samples/s, batch {args.small} "
                  f"{ref_small['samples_per_s']:7.0f} samples/s, ratio {ref_ratios[-1]:.2f}; memprop / reference "
                  f"{big['samples_per_s'] / ref_big['samples_per_s']:.2f} at 50, "
                  f"{small['samples_per_s'] / ref_small['samples_per_s']:.2f} at {args.small} "
                  f"(memprop: {config.name})", flush=True)
    print(f"median ratio batch {args.small} / batch 50: {statistics.median(ratios):.2f}")
    if ref_ratios:
        print(f"the reference's own (same pairs): {statistics.median(ref_ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "fashion-784-500-10.toml")
    parser.add_argument("--samples", type=int, default=10000, help="training images of the epoch")
    parser.add_argument("--small", type=int, default=20, help="the small batch size (against 50)")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--reference", help="path or git URL of Laborieux-Axel/Equilibrium-Propagation (optional)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_dir = clone(args.reference, Path(tmp)) if args.reference else None
        measure(args, args.config.resolve(), ref_dir)


if __name__ == "__main__":
    main()
