"""The `memprop` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.neuron import NEURON_LEVELS, Neuron
from memprop.circuits.params import describe
from memprop.circuits.validation import ConfigError


def _fail(message: str, code: int) -> None:
    click.echo(f"memprop: error: {message}", err=True)
    sys.exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one clear line on stderr and a non-zero exit, never a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from memprop.cosim.session import SimulationError

        try:
            return fn(*args, **kwargs)
        except ConfigError as err:
            _fail(str(err), 2)
        except SimulationError as err:
            _fail(str(err), 3)
        except OSError as err:
            _fail(f"{getattr(err, 'filename', '') or ''}: {err.strerror or err}", 4)
    return wrapper


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a crash never leaves half a file where a good one was."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@click.group()
@click.version_option(package_name="memprop")
def main() -> None:
    """memprop: memristor recurrent networks that learn, as SPICE netlists co-simulated with ngspice."""


@main.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the deck")
@click.option("--analysis", type=click.Choice(["op", "tran"]), default=None, help="overrides [sim].analysis")
@click.option("--form", type=click.Choice(["read", "dynamic"]), default=None,
              help="devices as frozen read elements, or with live state equations (default: read for op, "
                   "dynamic for tran)")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the node map (neuron -> node names) as JSON")
@guarded
def netgen(config: Path | None, output: Path, analysis: str | None, form: str | None,
           map_path: Path | None) -> None:
    """Write the ngspice deck of a config's network (runs as-is with `ngspice -b`)."""
    from memprop.cosim.backends import sample_inputs
    from memprop.cosim.config import build_network, dumps, initial_states, load
    from memprop.netgen.deck import TranSpec, render

    cfg = load(config)
    network = build_network(cfg)
    states = initial_states(cfg, network)
    deck = render(network, states, inputs=sample_inputs(cfg, network), analysis=analysis or cfg.sim.analysis, form=form,
                  tran=TranSpec(cfg.sim.tran_step, cfg.sim.tran_stop),
                  header=["resolved config:"] + dumps(cfg).splitlines(),
                  title=f"memprop {network.topology} network, {network.n_neurons} neurons, "
                        f"{network.n_devices} {network.device.kind} devices")
    _write_text(output, deck.text)
    if map_path is not None:
        _write_text(map_path, json.dumps(deck.node_map, indent=1, sort_keys=True) + "\n")
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
    click.echo("neuron level cmos: reserved for the transistor-level neuron (not yet available)")
    click.echo("neuron parameters:")
    for pname, value, unit, doc in describe(Neuron()):
        click.echo(f"    {pname:<10} = {value!s:<10} {unit:<9} {doc}")


@main.group("config")
def config_group() -> None:
    """Inspect configurations."""


@config_group.command("show")
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@guarded
def config_show(config: Path | None) -> None:
    """Print the fully resolved config (defaults filled in) as TOML."""
    from memprop.cosim.config import dumps, load

    click.echo(dumps(load(config)), nl=False)


@main.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["ngspice", "behavioral", "both"]), default="ngspice")
@click.option("--json", "as_json", is_flag=True, help='print {"backend": ..., "voltages": {node: volts}}')
@guarded
def settle(config: Path | None, backend: str, as_json: bool) -> None:
    """Settle one sample and print every neuron's equilibrium voltage."""
    from memprop.cosim.backends import settle as do_settle
    from memprop.cosim.config import load

    cfg = load(config)
    names = ["ngspice", "behavioral"] if backend == "both" else [backend]
    results = [do_settle(cfg, b) for b in names]
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


if __name__ == "__main__":
    main()
