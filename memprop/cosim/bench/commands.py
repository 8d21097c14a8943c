"""What each `memprop bench X` command does: check its options (errors named as on the command
line), run the bench, and return the line it prints.

The click commands only parse options and echo what these return. The command line a report
records is rebuilt here from the options, so a report says how to run it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from memprop.circuits.validation import ConfigError

Log = Callable[[str], Any]


def written(out: Path, names: tuple[str, ...], seconds: float | None = None, last: str = " and ") -> str:
    """The line a bench prints when done: the files it wrote in `out` and, if known, how long it took."""
    paths = [str(out / name) for name in names]
    took = f" ({seconds:.0f} s)" if seconds is not None else ""
    return f"wrote {', '.join(paths[:-1])}{last}{paths[-1]}{took}"


def robustness(out: Path, quick: bool) -> str:
    """`memprop bench robustness`."""
    from memprop.cosim.bench.robustness import run

    return written(out, ("report.md", "robustness.png", "results.json"), run(out, quick=quick)["seconds"], ", ")


def seed_count(text: str) -> int:
    """--seeds as a whole number from 3 to 20 (mean ± sd needs several; 20 bounds the run)."""
    try:
        count = int(text.strip())
    except ValueError:
        raise ConfigError("--seeds", f"must be a whole number from 3 to 20, got {text!r}") from None
    if not 3 <= count <= 20:
        raise ConfigError("--seeds", f"must be a whole number from 3 to 20, got {count}")
    return count


def reconstruction(out: Path, quick: bool, seeds: str, legacy: bool) -> str:
    """`memprop bench reconstruction`: the three-size sweep over `seeds` seeds, or the legacy
    single-seed sweep (--seeds is checked either way, so a typo fails the same)."""
    count = seed_count(seeds)
    if legacy:
        from memprop.cosim.bench.reconstruction import run_reconstruction

        run_reconstruction(out, quick=quick)
    else:
        from memprop.cosim.bench.recon_sizes import run_sizes, sizes_plan

        command = f"memprop bench reconstruction --out {out}" + (" --quick" if quick else "") + (
            f" --seeds {count}" if count != 3 else "")
        run_sizes(out, sizes_plan(quick=quick, seeds=count), command=command)
    return written(out, ("report.md", "results.json"))


def classification(out: Path, quick: bool) -> str:
    """`memprop bench classification`."""
    from memprop.cosim.bench.classification import run_classification

    run_classification(out, quick=quick)
    return written(out, ("report.md", "results.json"))


def seeds(out: Path, backend: str, training_seeds: tuple[int, ...], epochs: int, no_baseline: bool, log: Log) -> str:
    """`memprop bench seeds`: the default digits run over training seeds (default 0, 1, 2), with
    the old default schedule beside it unless `no_baseline`."""
    from memprop.cosim.bench.seeds import SCHEDULES, SeedsPlan, run

    plan = SeedsPlan(backend=backend, seeds=tuple(training_seeds) or (0, 1, 2), epochs=epochs,
                     schedules=SCHEDULES[:1] if no_baseline else SCHEDULES)
    command = (f"memprop bench seeds -o {out} --backend {backend}" + "".join(f" --seed {s}" for s in training_seeds)
               + (f" --epochs {epochs}" if epochs != 5 else "") + (" --no-baseline" if no_baseline else ""))
    return written(out, ("report.md", "results.json"), run(out, plan, command=command, log=log)["seconds"])


def offsets(out: Path, offsets_mv: tuple[float, ...], max_fd: int, beta: float, log: Log) -> str:
    """`memprop bench offsets`: the plan's own checks, reported under the option's name."""
    from memprop.cosim.bench.offsets import OffsetsPlan, run

    try:
        plan = OffsetsPlan(offsets_mv=tuple(offsets_mv) or OffsetsPlan().offsets_mv, max_fd=max_fd, beta=beta)
    except ConfigError as err:
        option = {"offsets_mv": "--offset", "max_fd": "--max-fd", "beta": "--beta"}
        raise ConfigError(option.get(err.field.split("[")[0], err.field), err.reason) from None
    command = (f"memprop bench offsets -o {out}" + "".join(f" --offset {v:g}" for v in offsets_mv)
               + (f" --max-fd {max_fd}" if max_fd != 300 else "") + (f" --beta {beta:g}" if beta != 0.001 else ""))
    return written(out, ("report.md", "results.json"), run(out, plan, command=command, log=log)["seconds"])


def programming(out: Path, quick: bool) -> str:
    """`memprop bench programming`."""
    from memprop.cosim.bench.programming import run

    return written(out, ("report.md", "programming.png", "results.json"), run(out, quick=quick)["seconds"])


def crossbar_write(out: Path, quick: bool, log: Log) -> str:
    """`memprop bench crossbar-write`."""
    from memprop.cosim.bench.crossbar_write import run

    return written(out, ("report.md", "crossbar-write.png", "results.json"),
                   run(out, quick=quick, log=log)["seconds"])


def sky130(out: Path, quick: bool) -> str:
    """`memprop bench sky130`."""
    from memprop.cosim.bench.sky130 import run

    return written(out, ("report.md", "sky130.png", "results.json"), run(out, quick=quick)["seconds"], ", ")
