"""The plain device write of one 784 x 500 crossbar: numpy's passes against the compiled ones.

Run: .venv/bin/python bench/device_write.py [--rows 500] [--cols 785] [--repeats 30]

A training batch of the behavioural engine writes every device (issue 20): the twin's operator
from the targets (the main thread waits for it) and the new states with their reads and the
fidelity sums (the write thread). This times both parts, numpy (the form the write thread ran
before the compiled write, and still runs for device models it does not cover) against
programming/fused.py, in alternation on the same crossbar, with the last-level cache flushed
before each run as it is in training (the rest of a batch streams ~40 MB through it). Prints
the median milliseconds of each and their ratio. One thread each.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from memprop.circuits.devices import VTEAM
from memprop.cosim.programming import fused
from memprop.cosim.programming.writes import Fidelity, _states_and_reads, _targets_in_chunks


@dataclasses.dataclass(frozen=True)
class NumpyVTEAM(VTEAM):
    """VTEAM with its read restated, so that the write takes numpy (fused.covers is False)."""

    def conductance(self, x):
        return super().conductance(x)


def numpy_write(dev, g, dg, block, part):
    """Targets into the twin's rows as they are computed, then states, reads and fidelity."""
    def rows(sl, reads):
        np.subtract(reads[0], reads[1], out=block[sl])
        part[sl] = -(reads[0].sum(axis=1) + reads[1].sum(axis=1))
    target = _targets_in_chunks(dev, g, dg, rows)
    return _states_and_reads(dev, g, target, dg, 1.0, Fidelity(), in_blocks=False)


def compiled_write(dev, g, dg, block, part):
    fused.twin_rows(dev, g, dg, block, part)
    return fused.states_and_reads(dev, g, dg, np.zeros(6))


def timed(write, flush: np.ndarray, *args) -> float:
    flush.sum()  # 64 MB through the cache: the crossbar's arrays come from memory, as in training
    start = time.perf_counter()
    write(*args)
    return 1000.0 * (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--cols", type=int, default=785)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    dev = NumpyVTEAM()
    assert not fused.covers(dev) and fused.covers(VTEAM())
    rng = np.random.default_rng(0)
    g = dev.conductance(rng.uniform(0.2, 0.8, (2, args.rows, args.cols)))
    dg = rng.normal(0.0, 1e-7, (args.rows, args.cols))
    block, part = np.zeros((args.rows, args.cols)), np.zeros(args.rows)
    flush = np.ones(8 * 1024 * 1024)
    times: dict[str, list[float]] = {"numpy": [], "compiled": []}
    with threadpool_limits(1):
        compiled_write(VTEAM(), g, dg, block, part)  # compiled (or loaded from numba's cache) once
        for _ in range(args.repeats):
            times["numpy"].append(timed(numpy_write, flush, dev, g, dg, block, part))
            times["compiled"].append(timed(compiled_write, flush, VTEAM(), g, dg, block, part))
    slow, fast = (statistics.median(times[k]) for k in ("numpy", "compiled"))
    print(f"{2 * args.rows * args.cols} devices: numpy {slow:.2f} ms, compiled {fast:.2f} ms (medians of "
          f"{args.repeats}, alternating), {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
