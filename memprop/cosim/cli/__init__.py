"""The `memprop` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from memprop.circuits.neuron import CORNERS, NEURON_LEVELS
from memprop.circuits.validation import ConfigError
from memprop.cosim.config.choices import ANALYSES, BACKENDS, DATASETS, UPDATES
from memprop.cosim.data.datasets import MIRRORS
from memprop.netgen.deck import FORMS


class _EmptyPath:
    """An empty path given on the command line: it would quietly mean the current directory, so
    `guarded` refuses it, naming the option."""

    def __init__(self, name: str) -> None:
        self.name = name


class PathArg(click.Path):
    """click.Path that lets an empty value through as _EmptyPath, to be refused in memprop's own words."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            return _EmptyPath(param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
                              if param else "path")
        return super().convert(value, param, ctx)


def _refuse_empty_paths(values: dict[str, Any]) -> None:
    for value in values.values():
        if isinstance(value, _EmptyPath):
            raise ConfigError(value.name, "is empty: give a path (. for the current directory)")


def _fail(message: str, code: int) -> None:
    click.echo(f"memprop: error: {message}", err=True)
    sys.exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one clear line on stderr and a non-zero exit, never a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from memprop.cosim.simulator.session import SimulationError

        try:
            _refuse_empty_paths(kwargs)
            return fn(*args, **kwargs)
        except ConfigError as err:
            _fail(str(err), 2)
        except SimulationError as err:
            _fail(str(err), 3)
        except OSError as err:
            _fail(f"{err.filename}: {err.strerror or err}" if err.filename else str(err.strerror or err), 4)
        except KeyboardInterrupt as err:  # Ctrl-C: one line, the shell's exit code for SIGINT
            _fail(str(err) or "interrupted", 130)
        except SystemExit:
            raise
        except Exception as err:  # a bug of ours: one line, not a traceback; MEMPROP_DEBUG=1 shows it
            import os
            import traceback

            if os.environ.get("MEMPROP_DEBUG"):
                traceback.print_exc()
            _fail(f"internal error ({type(err).__name__}: {err}); please report it "
                  "(MEMPROP_DEBUG=1 shows the traceback)", 70)
    return wrapper


@click.group()
@click.version_option(package_name="memprop")
def main() -> None:
    """memprop: memristor recurrent networks that learn, as SPICE netlists co-simulated with ngspice."""


@main.command()
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=PathArg(dir_okay=False, path_type=Path),
              help="where to write the deck")
@click.option("--analysis", type=click.Choice(ANALYSES), default=None, help="overrides [sim].analysis")
@click.option("--form", type=click.Choice(FORMS), default=None,
              help="devices as frozen read elements, or with live state equations (default: read for op, "
                   "dynamic for tran)")
@click.option("--map", "map_path", type=PathArg(dir_okay=False, path_type=Path), default=None,
              help="also write the node map (neuron -> node names) as JSON")
@guarded
def netgen(config: Path | None, output: Path, analysis: str | None, form: str | None,
           map_path: Path | None) -> None:
    """Write the ngspice deck of a config's network (runs as-is with `ngspice -b`)."""
    from memprop import api
    from memprop.cosim.config.config import load
    from memprop.cosim.runs.commands import write_deck

    cfg = load(config)
    click.echo(write_deck(api.network(cfg), api.netlist(cfg, analysis=analysis, form=form), output, map_path))


@main.command()
def models() -> None:
    """List the device models and neuron levels with their parameters."""
    from memprop.cosim.runs.commands import models_text

    click.echo(models_text())


@main.group("config")
def config_group() -> None:
    """Inspect configurations."""


@config_group.command("show")
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("--doc", is_flag=True, help="every field's unit and meaning as a comment beside it")
@guarded
def config_show(config: Path | None, doc: bool) -> None:
    """Print the fully resolved config (defaults filled in) as TOML."""
    from memprop.cosim.config.config import documented, dumps, load

    click.echo((documented if doc else dumps)(load(config)), nl=False)


def _show(result: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print a command's figures: as JSON with --json (indent 1, like every --json), else as its text."""
    click.echo(json.dumps(result, indent=1) if as_json else text(result))


@main.command()
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice([*BACKENDS, "both"]), default="ngspice")
@click.option("--json", "as_json", is_flag=True, help='print {"backend": ..., "voltages": {node: volts}}')
@guarded
def settle(config: Path | None, backend: str, as_json: bool) -> None:
    """Settle one sample and print every neuron's equilibrium voltage."""
    from memprop.cosim.config.config import load
    from memprop.cosim.runs.commands import settle_report

    click.echo(settle_report(load(config), backend, as_json))


@main.command("gradcheck")
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("--batch", type=click.IntRange(1, 10000), default=8, help="samples in the batch")
@click.option("--beta", "betas", type=float, multiple=True, help="EP nudging strengths (repeatable)")
@click.option("--no-spice", is_flag=True, help="skip the SPICE side network")
@click.option("--max-fd", type=click.IntRange(1, 10**6), default=300, help="finite-difference weights (sampled)")
@click.option("--json", "as_json", is_flag=True, help="print the pairwise figures as JSON")
@guarded
def gradcheck_cmd(config: Path | None, batch: int, betas: tuple[float, ...], no_spice: bool, max_fd: int,
                  as_json: bool) -> None:
    """Compare EP, RBP (twin and SPICE side network) and finite-difference gradients on one batch."""
    from memprop.cosim.config.config import load
    from memprop.cosim.learning.gradcheck import gradcheck
    from memprop.cosim.runs.commands import gradcheck_betas, gradcheck_text

    result = gradcheck(load(config), batch=batch, betas=gradcheck_betas(betas), spice=not no_spice, max_fd=max_fd)
    _show(result, as_json, gradcheck_text)


@main.command("export")
@click.argument("run", required=False, type=PathArg(file_okay=False, path_type=Path))
@click.option("--config", "config", type=PathArg(dir_okay=False, path_type=Path), default=None,
              help="export an untrained network from a config instead of a run")
@click.option("--dialect", default="ngspice", help="target simulator (see --list)")
@click.option("-o", "--output", type=PathArg(file_okay=False, path_type=Path), default=None,
              help="directory for the netlist, model files and testbench")
@click.option("--list", "list_only", is_flag=True, help="list the dialects")
@guarded
def export_cmd(run: Path | None, config: Path | None, dialect: str, output: Path | None, list_only: bool) -> None:
    """Write a self-contained netlist (+ model files) of a trained network and a testbench."""
    from memprop import api
    from memprop.cosim.config.config import load
    from memprop.cosim.runs.commands import check_export, dialects_text, files_line

    if list_only:
        click.echo(dialects_text(api.dialects()))
        return
    check_export(dialect, api.dialects(), output, run, config)
    source = api.open_run(run) if run is not None else load(config)
    click.echo(files_line(api.export(source, output, dialect)))


@main.command("validate")
@click.argument("run", type=PathArg(file_okay=False, path_type=Path))
@click.option("--neuron", "level", type=click.Choice(NEURON_LEVELS), default="cmos")
@click.option("--corner", type=click.Choice(list(CORNERS)), default="tt", help="sky130: process corner")
@click.option("--temp", type=click.FloatRange(-55.0, 150.0), default=27.0, help="sky130: temperature (degC)")
@click.option("--images", type=click.IntRange(1, 100000), default=100, help="test images for the accuracy change")
@click.option("--transients", type=click.IntRange(0, 1000), default=3, help="samples for settling time and energy")
@click.option("--json", "as_json", is_flag=True)
@guarded
def validate_cmd(run: Path, level: str, corner: str, temp: float, images: int, transients: int,
                 as_json: bool) -> None:
    """Re-run a trained network's inference at another neuron level (e.g. transistor level) in ngspice."""
    from memprop import api
    from memprop.cosim.runs.commands import validation_text

    result = api.validate(run, level, images=images, transients=transients, corner=corner, temp=temp)
    _show(result, as_json, validation_text)


@main.group("bench")
def bench_group() -> None:
    """Measurements that print their figures (long: not part of the tests)."""


@bench_group.command("speed")
@click.option("--quick", is_flag=True, help="fewer sizes and batches")
@click.option("--json", "as_json", is_flag=True)
@guarded
def bench_speed(quick: bool, as_json: bool) -> None:
    """Samples/s vs network size for both backends, cost growth, 1 vs 2 workers, peak RSS."""
    from memprop.cosim.bench.speed import format_speed, speed

    _show(speed(quick=quick), as_json, format_speed)


@bench_group.command("scale")
@click.argument("config_path", type=PathArg(dir_okay=False, path_type=Path))
@click.option("--samples", type=click.IntRange(1, 10**7), default=5000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 512), default=None, help="default: the config's")
@click.option("--json", "as_json", is_flag=True)
@guarded
def bench_scale(config_path: Path, samples: int, workers: int | None, as_json: bool) -> None:
    """CONFIG's first N training samples with ngspice in the loop and behaviourally: cost per sample,
    the projected epoch, and the two runs' weights compared."""
    from memprop.cosim.bench.speed import format_scale, scale_run
    from memprop.cosim.config.config import load

    _show(scale_run(load(config_path), samples, workers), as_json, format_scale)


def _report_bench(name: str, *out_flags: str, quick_help: str) -> Callable[[Callable[..., Any]], Any]:
    """A `bench` command that writes a report directory: OUT (default: the bench's name) under
    `out_flags`, --quick with its help, and `guarded`. One place for the options every report shares."""

    def wrap(fn: Callable[..., Any]) -> Any:
        fn = click.option("--quick", is_flag=True, help=quick_help)(guarded(fn))
        fn = click.option(*out_flags, "out", type=PathArg(file_okay=False, path_type=Path), default=Path(name))(fn)
        return bench_group.command(name)(fn)
    return wrap


@_report_bench("robustness", "--out", quick_help="fewer severities, epochs and training images")
def bench_robustness(out: Path, quick: bool) -> None:
    """Accuracy vs severity of each non-ideality, for EP and RBP (report.md, robustness.png, results.json)."""
    from memprop.cosim.bench.commands import robustness

    click.echo(robustness(out, quick))


@_report_bench("reconstruction", "--out", quick_help="a reduced sweep")
@click.option("--seeds", "seeds", type=str, default="3", show_default=True,
              help="seeds of the three-size sweep (mean ± sd), 3 to 20")
@click.option("--legacy", is_flag=True, help="the earlier single-seed sweep (EP and RBP, corruption sweeps, ngspice point)")
def bench_reconstruction(out: Path, quick: bool, seeds: str, legacy: bool) -> None:
    """Pattern reconstruction: memristor networks at three sizes vs five Hopfield baselines
    (report.md, PNGs, results.json)."""
    from memprop.cosim.bench.commands import reconstruction

    click.echo(reconstruction(out, quick, seeds, legacy))


@_report_bench("classification", "--out", quick_help="fewer epochs and images")
def bench_classification(out: Path, quick: bool) -> None:
    """Digits and Fashion-MNIST with EP, trained behaviourally, evaluated in ngspice (report directory)."""
    from memprop.cosim.bench.commands import classification

    click.echo(classification(out, quick))


@bench_group.command("seeds")
@click.option("-o", "--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("seeds"))
@click.option("--backend", type=click.Choice(sorted(BACKENDS)), default="behavioral", show_default=True)
@click.option("--seed", "seeds", type=click.IntRange(0, 2**32 - 1), multiple=True,
              help="training seeds (repeatable; default 0, 1, 2)")
@click.option("--epochs", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--no-baseline", is_flag=True, help="skip the old default (constant rates, no momentum)")
@guarded
def bench_seeds(out: Path, backend: str, seeds: tuple[int, ...], epochs: int, no_baseline: bool) -> None:
    """The default digits EP run over training seeds: test accuracy per epoch, mean ± sd, the largest
    epoch-to-epoch drop, the best-validation epoch (report.md, results.json)."""
    from memprop.cosim.bench import commands

    click.echo(commands.seeds(out, backend, seeds, epochs, no_baseline, log=click.echo))


@bench_group.command("offsets")
@click.option("-o", "--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("offsets"))
@click.option("--offset", "offsets", type=click.FloatRange(-100.0, 100.0), multiple=True,
              help="op-amp input offsets in mV (repeatable; default 0, 0.1, 0.3, 1, 3)")
@click.option("--max-fd", type=click.IntRange(1, 10**6), default=300, show_default=True,
              help="finite-difference weights (sampled)")
@click.option("--beta", type=float, default=0.001, show_default=True, help="EP's nudging (symmetric)")
@guarded
def bench_offsets(out: Path, offsets: tuple[float, ...], max_fd: int, beta: float) -> None:
    """An op-amp input offset vs the gradients the circuit measures: RBP's SPICE side network and EP
    in ngspice against the true gradient (report.md, results.json)."""
    from memprop.cosim.bench import commands

    click.echo(commands.offsets(out, offsets, max_fd, beta, log=click.echo))


@_report_bench("sky130", "-o", "--out", quick_help="one training epoch on 200 images, 3 test images per corner")
def bench_sky130(out: Path, quick: bool) -> None:
    """The default digits network validated with SkyWater SKY130 neurons: the whole test split at tt 27 degC,
    every corner x temperature on 40 images (report.md, sky130.png, results.json; needs memprop[pdk])."""
    from memprop.cosim.bench.commands import sky130

    click.echo(sky130(out, quick))


@_report_bench("programming", "-o", "--out", quick_help="one epoch, 100 training images, one seed")
def bench_programming(out: Path, quick: bool) -> None:
    """Every pulse programming scheme against ideal writes on the digits (report.md, programming.png, results.json)."""
    from memprop.cosim.bench.commands import programming

    click.echo(programming(out, quick))


@_report_bench("crossbar-write", "-o", "--out", quick_help="one epoch, 100 training images, one seed")
def bench_crossbar_write(out: Path, quick: bool) -> None:
    """Writes through the crossbar's lines (V/2, V/3): ngspice vs twin, and disturb's cost in training."""
    from memprop.cosim.bench.commands import crossbar_write

    click.echo(crossbar_write(out, quick, log=click.echo))


@main.group("data")
def data_group() -> None:
    """Datasets: where they are, and fetching the IDX files."""


@data_group.command("download")
@click.argument("name", type=click.Choice([name for name in DATASETS if name in MIRRORS]))
@click.argument("directory", type=PathArg(file_okay=False, path_type=Path))
@guarded
def data_download(name: str, directory: Path) -> None:
    """Download NAME's four IDX files into DIRECTORY (needs network; checksums verified)."""
    from memprop.cosim.runs.commands import download_dataset

    for path in download_dataset(name, directory):
        click.echo(f"wrote {path}")


@data_group.command("info")
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@guarded
def data_info(config: Path | None) -> None:
    """Load a config's dataset (verifying checksums) and print the split sizes."""
    from memprop.cosim.config.config import load
    from memprop.cosim.runs.commands import split_sizes_text

    click.echo(split_sizes_text(load(config)))


class _EpochBars:
    """A click progress bar with ETA per epoch, fed by the trainer's progress callback; closed
    before the epoch lines are printed (`report`) and when training ends, however it ends."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __call__(self, label: str, n: int) -> None:
        if not self.enabled:
            return
        if label:
            self.close()
            self.bar = click.progressbar(length=n, label=label, show_eta=True, show_pos=True, file=sys.stderr)
            self.bar.__enter__()
        elif self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def report(self, rows: list[dict[str, Any]]) -> None:
        """The trainer's report callback: the epoch lines, below the finished bar."""
        from memprop.cosim.runs.commands import epoch_lines

        self.close()
        for line in epoch_lines(rows):
            click.echo(line)

    def __enter__(self) -> _EpochBars:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@main.command()
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=PathArg(file_okay=False, path_type=Path), help="run directory")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help="overrides [train].backend")
@click.option("--analysis", type=click.Choice(ANALYSES), default=None, help="overrides [train].analysis")
@click.option("--epochs", type=click.IntRange(0, 100000), default=None, help="overrides [train].epochs")
@click.option("--update", type=click.Choice(UPDATES), default=None, help="overrides [train].update")
@click.option("--workers", type=click.IntRange(1, 512), default=None, help="parallel worker processes "
              "(one ngspice each); overrides [train].workers")
@click.option("--scheduler", default=None, help="Dask scheduler address, or 'local' for a LocalCluster")
@click.option("--resume", is_flag=True, help="continue the run in --out from its last checkpoint")
@click.option("--quiet", is_flag=True, help="no progress bars")
@click.option("--no-plots", is_flag=True, help="skip the PNG plots and trained deck at the end")
@guarded
def train(config: Path | None, out: Path, backend: str | None, analysis: str | None, epochs: int | None,
          update: str | None, workers: int | None, scheduler: str | None, resume: bool, quiet: bool,
          no_plots: bool) -> None:
    """Train a network on the circuit (EP), co-simulated in ngspice or with the numpy twin."""
    from memprop import api
    from memprop.cosim.runs.commands import files_line, training_setup

    cfg, changes = training_setup(config, out, resume, backend=backend, analysis=analysis, epochs=epochs,
                                  update=update, workers=workers, scheduler=scheduler)
    with _EpochBars(not quiet) as bars:
        done = api.train(cfg, out, resume=resume, plots=not no_plots, progress=bars, report=bars.report, **changes)
    if not no_plots:
        click.echo(files_line(done.artifacts))


@main.command("eval")
@click.argument("run", type=PathArg(file_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="default: the run's own backend")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@guarded
def evaluate_run(run: Path, backend: str | None, as_json: bool) -> None:
    """Evaluate a run's latest devices on its test and validation sets."""
    from memprop import api
    from memprop.cosim.runs.commands import evaluation_text

    _show(api.evaluate(run, backend), as_json, evaluation_text)


if __name__ == "__main__":
    main()
