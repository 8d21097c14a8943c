"""The `memprop` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.neuron import CORNERS, NEURON_LEVELS, Neuron
from memprop.circuits.params import describe
from memprop.circuits.validation import ConfigError


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
@click.option("--analysis", type=click.Choice(["op", "tran"]), default=None, help="overrides [sim].analysis")
@click.option("--form", type=click.Choice(["read", "dynamic"]), default=None,
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
    from memprop.cosim.data.files import write_output

    cfg = load(config)
    network = api.network(cfg)
    deck = api.netlist(cfg, analysis=analysis, form=form)
    write_output(output, deck.text)
    if map_path is not None:
        write_output(map_path, json.dumps(deck.node_map, indent=1, sort_keys=True) + "\n")
    click.echo(f"wrote {output} ({network.n_neurons} neurons, {network.n_devices} memristors)")


@main.command()
def models() -> None:
    """List the device models and neuron levels with their parameters."""
    for name, model in DEVICE_MODELS.items():
        click.echo(f"device {name}: {type(model).__doc__.strip().splitlines()[0]}")
        click.echo(f"  G range {model.g_min * 1e6:.3g} .. {model.g_max * 1e6:.3g} uS; reads below "
                   f"{model.read_limit:g} V leave the state alone" if model.read_limit else
                   f"  G range {model.g_min * 1e6:.3g} .. {model.g_max * 1e6:.3g} uS; no threshold")
        for pname, value, unit, doc in describe(model):
            click.echo(f"    {pname:<10} = {value!s:<10} {unit:<9} {doc}")
    for level in NEURON_LEVELS:
        click.echo(f"neuron level {level}")
    click.echo("neuron parameters:")
    for pname, value, unit, doc in describe(Neuron()):
        click.echo(f"    {pname:<10} = {value!s:<10} {unit:<9} {doc}")


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


@main.command()
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["ngspice", "behavioral", "both"]), default="ngspice")
@click.option("--json", "as_json", is_flag=True, help='print {"backend": ..., "voltages": {node: volts}}')
@guarded
def settle(config: Path | None, backend: str, as_json: bool) -> None:
    """Settle one sample and print every neuron's equilibrium voltage."""
    from memprop import api
    from memprop.cosim.config.config import load

    cfg = load(config)
    names = ["ngspice", "behavioral"] if backend == "both" else [backend]
    results = [api.settle(cfg, b) for b in names]
    if as_json:
        payload = [{"backend": r.backend, "analysis": r.analysis, "voltages": r.voltages} for r in results]
        click.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=1))
        return
    nodes = list(results[0].voltages)
    click.echo(f"{'node':<12}" + "".join(f"{r.backend:>14}" for r in results)
               + ("   |diff| mV" if len(results) == 2 else ""))
    for node in nodes:
        row = f"{node:<12}" + "".join(f"{r.voltages[node]:>14.6f}" for r in results)
        if len(results) == 2:
            row += f"   {abs(results[0].voltages[node] - results[1].voltages[node]) * 1e3:9.4f}"
        click.echo(row)
    if len(results) == 2:
        worst = max(abs(results[0].voltages[n] - results[1].voltages[n]) for n in nodes)
        click.echo(f"max |ngspice - behavioral| = {worst * 1e3:.6f} mV over {len(nodes)} neurons "
                   f"({results[0].analysis})")


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

    for b in betas:
        if not (0 < abs(b) <= 10):
            raise ConfigError("--beta", f"must be non-zero and at most 10 in size, got {b}")
    result = gradcheck(load(config), batch=batch, betas=tuple(betas) or (0.001, 0.01, 0.1),
                       spice=not no_spice, max_fd=max_fd)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    click.echo(f"{result['network']} network, {result['neurons']} neurons, {result['weights_checked']} of "
               f"{result['weights']} weights, batch {result['batch']}")
    click.echo(f"{'pair':<72}{'cosine':>10}{'rel. err':>11}")
    for name, fig in result["pairs"].items():
        click.echo(f"{name:<72}{fig['cosine']:>10.5f}{fig['relative_error']:>11.2e}")
    trained = result["training_beta"]
    click.echo(f"EP at the training beta ({trained['beta']:g}, train.beta) vs finite differences, same batch and weights:")
    for activation, figs in trained["activations"].items():
        for nudging, fig in figs.items():
            name = f"{activation} activation, {nudging}"
            click.echo(f"{name:<72}{fig['cosine']:>10.5f}{fig['relative_error']:>11.2e}")


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

    known = api.dialects()
    if list_only:
        for name, line in known.items():
            click.echo(f"{name:<9} {line}")
        return
    if dialect not in known:
        raise ConfigError("--dialect", f"unknown dialect {dialect!r}; known: {', '.join(known)}")
    if output is None:
        raise ConfigError("-o", "give an output directory")
    if (run is None) == (config is None):
        raise ConfigError("RUN", "give either a run directory or --config CONFIG")
    source = api.open_run(run) if run is not None else load(config)
    files = api.export(source, output, dialect)
    click.echo(f"wrote {', '.join(str(f) for f in files)}")


@main.command("validate")
@click.argument("run", type=PathArg(file_okay=False, path_type=Path))
@click.option("--neuron", "level", type=click.Choice(["cmos", "sky130", "macromodel", "ideal"]), default="cmos")
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

    opened = api.open_run(run)
    cfg = opened.config
    result = api.validate(opened, level, images=images, transients=transients, corner=corner, temp=temp)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    ref, val = result["reference"], result["validated"]
    click.echo(f"accuracy on {val['images']} test images: {cfg.neuron.level} {100 * ref['accuracy']:.1f} %, "
               f"{level} {100 * val['accuracy']:.1f} % (change {result['accuracy_change_points']:+.1f} points; "
               f"{val['seconds_per_image']:.2f} s per image at {level}, {val['failed']} failed)")
    for s in result["transients"]:
        click.echo(f"image {s['image']}: settling to 1 %: {1e6 * s['reference']['settling_time_s']:.2f} us -> "
                   f"{1e6 * s['validated']['settling_time_s']:.2f} us; energy to settle "
                   f"{1e9 * s['reference']['energy_to_settle_j']:.2f} nJ -> {1e9 * s['validated']['energy_to_settle_j']:.2f} nJ")
    if not result["transients"]:
        click.echo("no transients asked for (--transients 0): no settling time or energy")
        return
    click.echo(f"mean settling {1e6 * result['validated_mean_settling_time_s']:.2f} us, mean energy per inference "
               f"{1e9 * result['validated_mean_energy_j']:.2f} nJ at {level}")
    parts = ", ".join(f"{name} {1e9 * result[f'validated_mean_energy_{key}_j']:.3g} nJ"
                      for key, name in (("neurons", "neurons"), ("read_rails", "crossbar read rails"),
                                        ("sources", "input and bias sources")))
    click.echo(f"energy drawn by {parts}; {1e15 * result['validated_energy_per_mac_j']:.3g} fJ per MAC "
               f"({result['macs']} MACs per inference)")


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

    result = speed(quick=quick)
    click.echo(json.dumps(result, indent=1) if as_json else format_speed(result))


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

    result = scale_run(load(config_path), samples, workers)
    click.echo(json.dumps(result, indent=1) if as_json else format_scale(result))


@bench_group.command("robustness")
@click.option("--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("robustness"))
@click.option("--quick", is_flag=True, help="fewer severities, epochs and training images")
@guarded
def bench_robustness(out: Path, quick: bool) -> None:
    """Accuracy vs severity of each non-ideality, for EP and RBP (report.md, robustness.png, results.json)."""
    from memprop.cosim.bench.robustness import run

    result = run(out, quick=quick)
    click.echo(f"wrote {out / 'report.md'}, {out / 'robustness.png'}, {out / 'results.json'} "
               f"({result['seconds']:.0f} s)")


@bench_group.command("reconstruction")
@click.option("--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("reconstruction"))
@click.option("--quick", is_flag=True, help="a reduced sweep")
@click.option("--seeds", "seeds", type=str, default="3", show_default=True,
              help="seeds of the three-size sweep (mean ± sd), 3 to 20")
@click.option("--legacy", is_flag=True, help="the earlier single-seed sweep (EP and RBP, corruption sweeps, ngspice point)")
@guarded
def bench_reconstruction(out: Path, quick: bool, seeds: str, legacy: bool) -> None:
    """Pattern reconstruction: memristor networks at three sizes vs five Hopfield baselines
    (report.md, PNGs, results.json)."""
    count = _seed_count(seeds)
    if legacy:
        from memprop.cosim.bench.experiments import run_reconstruction

        run_reconstruction(out, quick=quick)
    else:
        from memprop.cosim.bench.recon_sizes import run_sizes, sizes_plan

        command = f"memprop bench reconstruction --out {out}" + (" --quick" if quick else "") + (
            f" --seeds {count}" if count != 3 else "")
        run_sizes(out, sizes_plan(quick=quick, seeds=count), command=command)
    click.echo(f"wrote {out / 'report.md'} and {out / 'results.json'}")


def _seed_count(text: str) -> int:
    """--seeds as a whole number from 3 to 20 (mean ± sd needs several; 20 bounds the run)."""
    try:
        count = int(text.strip())
    except ValueError:
        raise ConfigError("--seeds", f"must be a whole number from 3 to 20, got {text!r}") from None
    if not 3 <= count <= 20:
        raise ConfigError("--seeds", f"must be a whole number from 3 to 20, got {count}")
    return count


@bench_group.command("classification")
@click.option("--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("classification"))
@click.option("--quick", is_flag=True, help="fewer epochs and images")
@guarded
def bench_classification(out: Path, quick: bool) -> None:
    """Digits and Fashion-MNIST with EP, trained behaviourally, evaluated in ngspice (report directory)."""
    from memprop.cosim.bench.experiments import run_classification

    run_classification(out, quick=quick)
    click.echo(f"wrote {out / 'report.md'} and {out / 'results.json'}")


@bench_group.command("seeds")
@click.option("-o", "--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("seeds"))
@click.option("--backend", type=click.Choice(["behavioral", "ngspice"]), default="behavioral", show_default=True)
@click.option("--seed", "seeds", type=click.IntRange(0, 2**32 - 1), multiple=True,
              help="training seeds (repeatable; default 0, 1, 2)")
@click.option("--epochs", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--no-baseline", is_flag=True, help="skip the old default (constant rates, no momentum)")
@guarded
def bench_seeds(out: Path, backend: str, seeds: tuple[int, ...], epochs: int, no_baseline: bool) -> None:
    """The default digits EP run over training seeds: test accuracy per epoch, mean ± sd, the largest
    epoch-to-epoch drop, the best-validation epoch (report.md, results.json)."""
    from memprop.cosim.bench.seeds import SCHEDULES, SeedsPlan, run

    plan = SeedsPlan(backend=backend, seeds=tuple(seeds) or (0, 1, 2), epochs=epochs,
                     schedules=SCHEDULES[:1] if no_baseline else SCHEDULES)
    command = (f"memprop bench seeds -o {out} --backend {backend}" + "".join(f" --seed {s}" for s in seeds)
               + (f" --epochs {epochs}" if epochs != 5 else "") + (" --no-baseline" if no_baseline else ""))
    result = run(out, plan, command=command, log=click.echo)
    click.echo(f"wrote {out / 'report.md'} and {out / 'results.json'} ({result['seconds']:.0f} s)")


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
    from memprop.cosim.bench.offsets import OffsetsPlan, run

    try:
        plan = OffsetsPlan(offsets_mv=tuple(offsets) or OffsetsPlan().offsets_mv, max_fd=max_fd, beta=beta)
    except ConfigError as err:
        option = {"offsets_mv": "--offset", "max_fd": "--max-fd", "beta": "--beta"}
        raise ConfigError(option.get(err.field.split("[")[0], err.field), err.reason) from None
    command = (f"memprop bench offsets -o {out}" + "".join(f" --offset {v:g}" for v in offsets)
               + (f" --max-fd {max_fd}" if max_fd != 300 else "") + (f" --beta {beta:g}" if beta != 0.001 else ""))
    result = run(out, plan, command=command, log=click.echo)
    click.echo(f"wrote {out / 'report.md'} and {out / 'results.json'} ({result['seconds']:.0f} s)")


@bench_group.command("programming")
@click.option("-o", "--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("programming"))
@click.option("--quick", is_flag=True, help="one epoch, 100 training images, one seed")
@guarded
def bench_programming(out: Path, quick: bool) -> None:
    """Every pulse programming scheme against ideal writes on the digits (report.md, programming.png, results.json)."""
    from memprop.cosim.bench.programming import run

    result = run(out, quick=quick)
    click.echo(f"wrote {out / 'report.md'}, {out / 'programming.png'} and {out / 'results.json'} "
               f"({result['seconds']:.0f} s)")


@bench_group.command("crossbar-write")
@click.option("-o", "--out", "out", type=PathArg(file_okay=False, path_type=Path), default=Path("crossbar-write"))
@click.option("--quick", is_flag=True, help="one epoch, 100 training images, one seed")
@guarded
def bench_crossbar_write(out: Path, quick: bool) -> None:
    """Writes through the crossbar's lines (V/2, V/3): ngspice vs twin, and disturb's cost in training."""
    from memprop.cosim.bench.crossbar_write import run

    result = run(out, quick=quick, log=click.echo)
    click.echo(f"wrote {out / 'report.md'}, {out / 'crossbar-write.png'} and {out / 'results.json'} "
               f"({result['seconds']:.0f} s)")


@main.group("data")
def data_group() -> None:
    """Datasets: where they are, and fetching the IDX files."""


@data_group.command("download")
@click.argument("name", type=click.Choice(["mnist", "fashion-mnist"]))
@click.argument("directory", type=PathArg(file_okay=False, path_type=Path))
@guarded
def data_download(name: str, directory: Path) -> None:
    """Download NAME's four IDX files into DIRECTORY (needs network; checksums verified)."""
    import urllib.error

    from memprop.cosim.data.datasets import download

    try:
        for path in download(name, directory):
            click.echo(f"wrote {path}")
    except (urllib.error.URLError, TimeoutError) as err:
        raise ConfigError("download", f"could not reach the {name} mirror ({err}); copy the four IDX files "
                                      f"into {directory} and set data.data_dir") from None


@data_group.command("info")
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@guarded
def data_info(config: Path | None) -> None:
    """Load a config's dataset (verifying checksums) and print the split sizes."""
    from memprop.cosim.config.config import load
    from memprop.cosim.data.datasets import load_splits

    cfg = load(config)
    s = load_splits(cfg.data.dataset, seed=cfg.data.seed, validation=cfg.data.validation,
                    train_size=cfg.data.train_size, test_size=cfg.data.test_size,
                    data_dir=cfg.data.data_dir or None, verify=cfg.data.verify)
    click.echo(f"{cfg.data.dataset}: {len(s.train.y)} train, {len(s.validation.y)} validation, "
               f"{len(s.test.y)} test images of {s.train.x.shape[1]} pixels")


class _EpochBars:
    """A click progress bar with ETA per epoch, fed by the trainer's progress callback."""

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


@main.command()
@click.argument("config", required=False, type=PathArg(dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=PathArg(file_okay=False, path_type=Path), help="run directory")
@click.option("--backend", type=click.Choice(["ngspice", "behavioral"]), default=None, help="overrides [train].backend")
@click.option("--analysis", type=click.Choice(["op", "tran"]), default=None, help="overrides [train].analysis")
@click.option("--epochs", type=click.IntRange(0, 100000), default=None, help="overrides [train].epochs")
@click.option("--update", type=click.Choice(["ideal", "pulse"]), default=None, help="overrides [train].update")
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
    from dataclasses import replace

    from memprop import api
    from memprop.cosim.runs import rundir
    from memprop.cosim.config.config import load, load_stored

    if resume:
        if config is not None:
            raise ConfigError("CONFIG", "with --resume the config is the run's own config.toml; give only --out")
        cfg = load_stored(out / rundir.CONFIG)
    else:
        cfg = load(config)
    changes = {k: v for k, v in (("backend", backend), ("analysis", analysis), ("epochs", epochs),
                                 ("update", update), ("workers", workers), ("scheduler", scheduler))
               if v is not None}
    if changes:
        try:
            cfg = replace(cfg, train=replace(cfg.train, **changes))
        except ConfigError as err:
            raise ConfigError(f"--{err.field}", err.reason) from None
    bars = _EpochBars(not quiet)

    def report(rows: list[dict[str, Any]]) -> None:
        from memprop.cosim.runs.trainer import best_validation

        bars.close()
        for row in rows:
            click.echo(f"epoch {row['epoch']:>3}: train loss {row['train_loss']:.4f}  test accuracy "
                       f"{100 * row['test_accuracy']:.2f} %  ({row['seconds']:.1f} s, {row['backend']})")
        best = best_validation(rows)
        if best is not None:
            click.echo(f"best validation: epoch {best['epoch']} ({100 * best['validation_accuracy']:.2f} %), "
                       f"its test accuracy {100 * best['test_accuracy']:.2f} %")

    try:
        done = api.train(None if resume else cfg, out, resume=resume, plots=not no_plots, progress=bars,
                         report=report, **changes)
    finally:
        bars.close()
    if not no_plots:
        click.echo("wrote " + ", ".join(str(p) for p in done.artifacts))


@main.command("eval")
@click.argument("run", type=PathArg(file_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["ngspice", "behavioral"]), default=None,
              help="default: the run's own backend")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@guarded
def evaluate_run(run: Path, backend: str | None, as_json: bool) -> None:
    """Evaluate a run's latest devices on its test and validation sets."""
    from memprop import api

    result = api.evaluate(run, backend)
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        click.echo(f"{run}: {result['epochs_done']} epochs; {result['backend']}: test accuracy "
                   f"{100 * result['test_accuracy']:.2f} % on {result['test_size']} images, validation "
                   f"{100 * result['validation_accuracy']:.2f} %")
        best = result["best_validation"]
        if best is not None:
            click.echo(f"best validation in the metrics: epoch {best['epoch']} "
                       f"({100 * best['validation_accuracy']:.2f} %), its test accuracy "
                       f"{100 * best['test_accuracy']:.2f} %")


if __name__ == "__main__":
    main()
