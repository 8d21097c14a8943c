"""memprop's Python API: the functions the `memprop` command line is made of.

A `Config` describes a whole experiment (network, neuron cell, memristor model, analyses, training,
data); every function here takes one, as a `Config`, a dict of TOML tables, TOML text or a path
to a TOML file. Bad input raises `ConfigError` (a ValueError naming the field and the reason);
a simulator failure raises `SimulationError`.

Layering: memprop.circuits <- memprop.netgen <- memprop.cosim <- memprop.api (nothing below
imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError
from memprop.cosim.engines.settle import Settled
from memprop.cosim.config.config import Config
from memprop.cosim.simulator.session import SimulationError
from memprop.netgen.deck import Deck

#: What every function accepts as a config.
ConfigLike = Config | Mapping[str, Any] | str | Path | None

__all__ = ["Config", "ConfigError", "Run", "Settled", "SimulationError", "config", "dialects", "evaluate",
           "export", "layered", "netlist", "network", "open_run", "recurrent", "settle", "train", "validate"]


# ---- configs and networks ----
def config(source: ConfigLike = None, **tables: Mapping[str, Any]) -> Config:
    """A validated Config from a dict of TOML tables, TOML text, a TOML file's path or None (the
    defaults), with `tables` (e.g. train={"epochs": 1}) merged over it.

    Every value is checked where it is parsed, so a typo fails here, not in ngspice.

    Example:
        >>> cfg = memprop.config({"network": {"layers": [64, 16, 10]}}, train={"epochs": 1})
        >>> cfg.network.layers, cfg.train.epochs
        ((64, 16, 10), 1)
    """
    from memprop.cosim.config.config import parse, to_dict

    base = _as_config(source)
    if not tables:
        return base
    merged = to_dict(base)
    for section, values in tables.items():
        given = _table(section, values)
        if section == "device" and "model" in given:  # another model: its own parameter defaults
            merged["device"]["params"] = {}
        merged[section] = {**merged.get(section, {}), **given}
    return parse(merged, base.source)


def _table(section: str, values: Any) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ConfigError(section, f"must be a table (a dict of keys), got {type(values).__name__}")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def _as_config(source: ConfigLike) -> Config:
    """Any accepted config form as a Config (strings with a newline or `=` are TOML text)."""
    from memprop.cosim.config.config import load, loads

    if source is None or isinstance(source, Config):
        return source or Config()
    if isinstance(source, Mapping):
        return _from_tables(source, "<dict>")
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return loads(source, "<text>")
    if isinstance(source, (str, Path)):
        return load(source)
    raise ConfigError("config", f"give a Config, a dict of tables, TOML text or a path, not {type(source).__name__}")


def _from_tables(tables: Mapping[str, Any], source: str) -> Config:
    from memprop.cosim.config.config import parse

    return parse({k: dict(v) if isinstance(v, Mapping) else v for k, v in tables.items()}, source)


def layered(layers: list[int] | tuple[int, ...], *, neuron: str = "ideal", device: str = "vteam",
            bias: bool = True, seed: int = 0, **tables: Mapping[str, Any]) -> Config:
    """The config of a layered network (inputs, then each neuron layer; symmetric feedback between
    neighbouring layers), with a neuron level (ideal, macromodel, cmos, sky130) and a memristor
    model (see `memprop models`); other sections as `tables`.

    Example:
        >>> cfg = memprop.layered([64, 16, 10], neuron="macromodel", train={"backend": "behavioral"})
        >>> memprop.network(cfg).n_neurons
        26
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise ConfigError("layers", f"must be a list of sizes, got {layers!r}")
    net = {"topology": "layered", "layers": list(layers), "bias": bias, "seed": seed}
    return _with_cell(net, neuron, device, tables, "memprop.layered")


def recurrent(neurons: int, inputs: int, outputs: int, *, neuron: str = "ideal", device: str = "vteam",
              bias: bool = True, seed: int = 0, **tables: Mapping[str, Any]) -> Config:
    """The config of a fully recurrent (Hopfield-like) network of `neurons`, the last `outputs` of
    them read out, driven by `inputs` lines.

    Example:
        >>> cfg = memprop.recurrent(20, 64, 10, device="hp-biolek")
        >>> net = memprop.network(cfg); net.topology, net.n_neurons
        ('recurrent', 20)
    """
    net = {"topology": "recurrent", "neurons": neurons, "inputs": inputs, "outputs": outputs, "bias": bias,
           "seed": seed}
    return _with_cell(net, neuron, device, tables, "memprop.recurrent")


def _with_cell(net: dict[str, Any], neuron: str, device: str, tables: Mapping[str, Any], source: str) -> Config:
    given = {k: _table(k, v) for k, v in tables.items()}
    for section, values in (("network", net), ("neuron", {"level": neuron}), ("device", {"model": device})):
        given[section] = {**values, **given.get(section, {})}
    return _from_tables(given, source)


def network(cfg: ConfigLike = None) -> Network:
    """The circuit a config describes: neuron groups, crossbars, device model (no simulator needed).

    Example:
        >>> net = memprop.network(memprop.layered([4, 3, 2]))
        >>> net.n_inputs, net.n_neurons, net.n_devices
        (4, 5, 58)
    """
    from memprop.cosim.config.config import build_network

    return build_network(_as_config(cfg))


# ---- simulation ----
def netlist(cfg: ConfigLike = None, *, analysis: str | None = None, form: str | None = None) -> Deck:
    """The ngspice deck of a config's network with its initial states and [sample] inputs, as
    `memprop netgen` writes it: `.text` runs as-is with `ngspice -b`, `.node_map` names the nodes.

    analysis: "op" or "tran" (default: [sim].analysis); form: "read" or "dynamic" devices.

    Example:
        >>> deck = memprop.netlist(memprop.layered([4, 3, 2]))
        >>> deck.text.splitlines()[0]
        '* memprop layered network, 5 neurons, 58 vteam devices'
    """
    from memprop.cosim.engines.settle import sample_inputs
    from memprop.cosim.config.config import build_network, dumps, initial_states
    from memprop.netgen.deck import TranSpec, render

    cfg = _as_config(cfg)
    net = build_network(cfg)
    return render(net, initial_states(cfg, net), inputs=sample_inputs(cfg, net), analysis=analysis or cfg.sim.analysis,
                  form=form, tran=TranSpec(cfg.sim.tran_step, cfg.sim.tran_stop),
                  header=["resolved config:"] + dumps(cfg).splitlines(),
                  title=f"memprop {net.topology} network, {net.n_neurons} neurons, "
                        f"{net.n_devices} {net.device.kind} devices")


def settle(cfg: ConfigLike = None, backend: str = "ngspice") -> Settled:
    """Settle the config's [sample] on one backend ("ngspice" or "behavioral", the numpy twin) and
    return every neuron's equilibrium voltage (`.voltages`: node -> volts).

    Example:
        >>> cfg = memprop.layered([4, 3, 2])
        >>> a, b = memprop.settle(cfg, "ngspice"), memprop.settle(cfg, "behavioral")
        >>> max(abs(a.voltages[n] - b.voltages[n]) for n in a.voltages) < 1e-3
        True
    """
    from memprop.cosim.engines.settle import settle as settle_config

    return settle_config(_as_config(cfg), backend)


# ---- runs ----
@dataclass
class Run:
    """A run directory's content: config, latest device states, per-epoch metrics and its files."""

    path: Path
    config: Config
    states: SynapseStates
    epochs: int
    #: files written at the end of training (trained deck, plots); empty when plots were skipped.
    artifacts: list[Path] = field(default_factory=list)

    @property
    def paths(self) -> dict[str, Path]:
        """The run's files by role (config, metrics, checkpoint, deck)."""
        from memprop.cosim.runs import rundir

        return {role: self.path / name for role, name in (("config", rundir.CONFIG), ("metrics", rundir.METRICS),
                                                          ("checkpoint", rundir.CHECKPOINT), ("deck", rundir.DECK))}

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """One row per finished epoch (losses, accuracies, timings), read from metrics.jsonl."""
        from memprop.cosim.runs import rundir

        path = self.path / rundir.METRICS
        return rundir.read_metrics(path) if path.exists() else []

    @property
    def test_accuracy(self) -> float | None:
        """The last epoch's test accuracy (None before the first epoch)."""
        rows = self.metrics
        return rows[-1]["test_accuracy"] if rows else None

    @property
    def best_validation(self) -> dict[str, Any] | None:
        """The epoch of the highest validation accuracy and its test accuracy (None without a
        validation split): the figure to report when the test set may not pick the epoch."""
        from memprop.cosim.runs.trainer import best_validation

        return best_validation(self.metrics)


def open_run(path: str | Path) -> Run:
    """The run in directory `path` (as `memprop train --out` left it).

    Example:
        >>> run = memprop.open_run("run")
        >>> run.epochs, run.paths["checkpoint"].name
        (1, 'checkpoint.npz')
    """
    from memprop.cosim.runs.trainer import load_run

    path = _run_dir(path)
    cfg, states, meta = load_run(path)
    return Run(path, cfg, states, int(meta["epoch"]))


def _run_dir(run: Any) -> Path:
    if isinstance(run, Run):
        return run.path
    if isinstance(run, (str, Path)) and str(run):
        return Path(run)
    raise ConfigError("run", f"give a Run or a run directory, not {run!r}")


def train(cfg: ConfigLike, out: str | Path, *, resume: bool = False, plots: bool = True,
          progress: Callable[[str, int], Any] | None = None,
          report: Callable[[list[dict[str, Any]]], Any] | None = None, **changes: Any) -> Run:
    """Train the config's network on the circuit (EP or RBP, per [train]) into run directory `out`
    and return the Run. `changes` override [train] keys (epochs=2, backend="behavioral", ...);
    resume=True continues `out` from its checkpoint with its own config (pass cfg=None).
    plots=False skips the trained deck and PNGs; `report(rows)` sees the epoch rows before them.

    Example:
        >>> cfg = memprop.layered([64, 8, 10], data={"train_size": 40, "test_size": 20, "validation": 0.25})
        >>> run = memprop.train(cfg, "run1", epochs=1, backend="behavioral", plots=False)
        >>> len(run.metrics), 0.0 <= run.test_accuracy <= 1.0
        (1, True)
    """
    from memprop.cosim.runs.trainer import Trainer, write_artifacts

    out = _run_dir(out)
    cfg = _with_changes(_config_for_training(cfg, out, resume), changes)
    trainer = Trainer(cfg, out, progress=progress)
    with trainer.locked():  # the run and its plots: no other process in between
        rows = trainer.run(resume=resume, overrides=changes)
        if report is not None:
            report(rows)
        written = write_artifacts(cfg, out, trainer.network, trainer.states, rows, trainer.splits,
                                  waveform=True) if plots else []
    return replace(open_run(out), artifacts=written)


def _config_for_training(cfg: ConfigLike, out: Path, resume: bool) -> Config:
    from memprop.cosim.runs import rundir

    if not resume:
        return _as_config(cfg)
    if cfg is not None:
        raise ConfigError("config", "resume continues the run with its own config.toml: pass cfg=None")
    return _as_config(out / rundir.CONFIG)


def _with_changes(cfg: Config, changes: Mapping[str, Any]) -> Config:
    """cfg with [train] keys replaced (validated like the file's own values)."""
    from dataclasses import fields

    known = {f.name for f in fields(cfg.train)}
    for key in changes:
        if key not in known:
            raise ConfigError(f"train.{key}", f"unknown key; known keys: {', '.join(sorted(known))}")
    return replace(cfg, train=replace(cfg.train, **changes)) if changes else cfg


def evaluate(run: Run | str | Path, backend: str | None = None) -> dict[str, Any]:
    """Test and validation accuracy of a run's latest devices, on "ngspice" or "behavioral"
    (default: the run's own backend). The figures `memprop eval --json` prints.

    Example:
        >>> figures = memprop.evaluate("run", backend="behavioral")
        >>> figures["epochs_done"], 0.0 <= figures["test_accuracy"] <= 1.0
        (1, True)
    """
    from memprop.circuits.validation import check_choice
    from memprop.cosim.config.choices import BACKENDS
    from memprop.cosim.config.config import build_network
    from memprop.cosim.data.datasets import load_splits
    from memprop.cosim.engines.factory import make_engine
    from memprop.cosim.runs.trainer import evaluate as evaluate_engine

    if backend is not None:
        check_choice("backend", backend, BACKENDS)
    r = run if isinstance(run, Run) else open_run(_run_dir(run))
    cfg = r.config
    net = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
    splits = load_splits(cfg.data.dataset, seed=cfg.data.seed, validation=cfg.data.validation,
                         train_size=cfg.data.train_size, test_size=cfg.data.test_size,
                         data_dir=cfg.data.data_dir or None, verify=cfg.data.verify)
    engine = make_engine(backend or cfg.train.backend, net, *_eval_analysis(cfg, net))
    engine.program(r.states)
    try:
        test, val = evaluate_engine(engine, net, splits.test), evaluate_engine(engine, net, splits.validation)
    finally:
        engine.close()
    return {"run": str(r.path), "backend": engine.name, "epochs_done": r.epochs,
            "test_accuracy": test["accuracy"], "test_loss": test["loss"], "test_size": len(splits.test.y),
            "validation_accuracy": val["accuracy"], "validation_size": len(splits.validation.y),
            "best_validation": r.best_validation}


def _eval_analysis(cfg: Any, network: Any) -> tuple[str, float]:
    """How `evaluate` settles the images: as training did at transistor level (an `.op` there needs
    gmin stepping, ~4 s at sky130 64-32-10), else with `.op`s (the ideal and macromodel cells'
    transient ends where their operating point is)."""
    if network.neuron.transistor_level:
        return cfg.train.analysis, cfg.train.settle_time
    return "op", cfg.train.settle_time


# ---- export and validation ----
def dialects() -> dict[str, str]:
    """The export dialects and a line about each.

    Example:
        >>> sorted(memprop.dialects())
        ['hspice', 'ltspice', 'ngspice', 'spectre', 'vacask', 'xyce']
    """
    from memprop.netgen.dialects import DIALECTS

    return {name: cls.__doc__.strip().splitlines()[0] if cls.__doc__ else "" for name, cls in DIALECTS.items()}


def export(source: Run | Config | Mapping[str, Any] | str | Path, directory: str | Path,
           dialect: str = "ngspice") -> list[Path]:
    """Write a self-contained netlist of a trained run (a Run or a run directory) or of an untrained
    config, plus its testbench (and model files), for `dialect`; return the files written. Devices
    are baked in as their programmed resistances. All files are refused before any is written if
    one would overwrite something that is not a file.

    Example:
        >>> files = memprop.export(memprop.layered([4, 3, 2]), "out", dialect="hspice")
        >>> [f.name for f in files]
        ['network.sp', 'testbench.sp']
    """
    from memprop.cosim.data.files import atomic_write, check_replaceable
    from memprop.netgen.dialects import DIALECTS

    if dialect not in DIALECTS:
        raise ConfigError("dialect", f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}")
    if not isinstance(directory, (str, Path)) or not str(directory):
        raise ConfigError("directory", f"give a directory for the files (. for the current one), not {directory!r}")
    directory = Path(directory)
    files = DIALECTS[dialect]().files(_export_netlist(source, dialect))
    for name in files:
        check_replaceable(directory / name)  # all or nothing: refuse before the first file is written
    for name, text in files.items():
        atomic_write(directory / name, text)
    return [directory / name for name in files]


def _export_netlist(source: Any, dialect: str) -> Any:
    """The export IR of a run's trained devices, or of a config's initial ones."""
    from memprop.cosim.engines.settle import sample_inputs
    from memprop.cosim.config.config import build_network, initial_states
    from memprop.netgen.export import build

    if isinstance(source, Run) or (isinstance(source, (str, Path)) and Path(source).is_dir()):
        run = source if isinstance(source, Run) else open_run(source)
        cfg, states, what = run.config, run.states, f"trained run {run.path} ({run.epochs} epochs)"
    else:
        cfg = _as_config(source)
        states, what = None, f"untrained network from {cfg.source}"
    net = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
    return build(net, states or initial_states(cfg, net), sample_inputs(cfg, net),
                 title=f"memprop export ({dialect}): {what}",
                 comments=[f"{net.topology} network, {net.n_neurons} neurons, {net.n_devices} "
                           f"{net.device.kind} devices written as their programmed resistances"])


def validate(run: Run | str | Path, level: str = "cmos", *, images: int = 100, transients: int = 3,
             corner: str = "tt", temp: float = 27.0) -> dict[str, Any]:
    """Re-run a trained network's inference at another neuron level (cmos or sky130 transistors,
    or macromodel/ideal) in ngspice: accuracy change, settling time and energy per inference.

    Example:
        >>> result = memprop.validate("run", "macromodel", images=10, transients=1)
        >>> abs(result["accuracy_change_points"]) <= 100
        True
    """
    from memprop.circuits.neuron import CORNERS
    from memprop.circuits.validation import check_choice, check_finite, check_int
    from memprop.cosim.runs.validate import validate as validate_states

    check_int("images", images, low=1, high=100000)
    check_int("transients", transients, low=0, high=1000)
    check_choice("corner", corner, CORNERS)
    check_finite("temp", temp, low=-55.0, high=150.0)
    r = run if isinstance(run, Run) else open_run(_run_dir(run))
    return validate_states(r.config, r.states, level, images=images, transients=transients, corner=corner, temp=temp)
