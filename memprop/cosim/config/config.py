"""Run configuration: TOML in, typed and validated dataclasses out, and back to TOML.

Every field has a default, so an empty file (or none) is the default run. Unknown sections or
keys, wrong types and bad values are rejected with a ConfigError naming the file, the field
(`section.key`) and the reason. Values that reach a netlist are validated by the circuit
dataclasses themselves (memprop.circuits), so the same checks guard the API and the CLI.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from memprop.circuits.devices import DEVICE_MODELS, HPLinearDrift, MemristorModel, device_model
from memprop.circuits.network import (MAX_GROUP_SIZE, Network, SynapseStates, glorot_states, layered_network,
                                      random_states, recurrent_network)
from memprop.circuits.neuron import Neuron
from memprop.circuits.nonideal import NonIdeal
from memprop.circuits.params import describe, param
from memprop.circuits.programming import PulseScheme
from memprop.circuits.validation import ConfigError, check_choice, check_finite, check_int, one_safe_line
from memprop.cosim.config.choices import (ANALYSES, BACKENDS, BATCHINGS, DATASETS, DEVICE_FORMS, INITS, LR_SCHEDULES,
                                          NUDGINGS, OPTIMIZERS, PRECISIONS, RULES, SAMPLE_KINDS, TOPOLOGIES, UPDATES,
                                          Analysis, Backend, Batching, Dataset, DeviceForm, Init, LrSchedule, Nudging,
                                          Optimizer, Precision, Rule, SampleKind, Topology, Update)
from memprop.cosim.data.files import read_bounded

MAX_CONFIG_BYTES = 1_000_000
#: train.scheduler: empty, local, or [scheme://]host:port with a scheme Dask knows (host: a name, an IPv4 or [IPv6]).
SCHEDULER = re.compile(r"(|local|((tcp|tls|ws|wss|ucx)://)?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])"
                       r":[0-9]{1,5})\Z")


@dataclass(frozen=True)
class NetworkConfig:
    """Topology and initial programming of the network."""

    topology: Topology = param("layered", "layered (Scellier-Bengio, symmetric feedback) or recurrent (Hopfield)")
    layers: tuple[int, ...] = param((64, 32, 10), "layered: input size, then each neuron layer's size")
    neurons: int = param(50, "recurrent: number of neurons (outputs included)")
    inputs: int = param(10, "recurrent: number of input lines")
    outputs: int = param(5, "recurrent: number of output neurons (the last ones)")
    bias: bool = param(True, "a bias line (at v_high) with one differential pair per neuron")
    wire_resistance: float = param(0.0, "crossbar wire resistance per segment (0 = ideal wires)", "Ohm")
    init: Init = param("glorot", "initial weights: glorot (uniform, scaled by fan-in/out) or uniform (G anywhere in range)")
    init_gain: float = param(0.5, "glorot: scale of the initial weights")
    seed: int = param(0, "seed of the initial device states")

    def __post_init__(self) -> None:
        check_choice("topology", self.topology, TOPOLOGIES)
        if not isinstance(self.layers, tuple) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                         for v in self.layers):
            raise ConfigError("layers", f"must be a list of integers, got {self.layers!r}")
        if not 2 <= len(self.layers) <= 16:
            raise ConfigError("layers", f"needs 2 to 16 entries (inputs, then neuron layers), got {len(self.layers)}")
        for k, size in enumerate(self.layers):
            check_int(f"layers[{k}]", size, low=1, high=MAX_GROUP_SIZE)
        check_int("neurons", self.neurons, low=1, high=MAX_GROUP_SIZE)
        check_int("inputs", self.inputs, low=1, high=MAX_GROUP_SIZE)
        check_int("outputs", self.outputs, low=1, high=self.neurons)
        if not isinstance(self.bias, bool):
            raise ConfigError("bias", f"must be true or false, got {self.bias!r}")
        check_finite("wire_resistance", self.wire_resistance, nonnegative=True, high=1e6)
        check_choice("init", self.init, INITS)
        check_finite("init_gain", self.init_gain, positive=True, high=100.0)
        check_int("seed", self.seed, low=0, high=2**32 - 1)


@dataclass(frozen=True)
class DeviceConfig:
    """Which memristor model the synapses use, and parameter overrides."""

    model: str = param("vteam", f"device model: {', '.join(DEVICE_MODELS)}")
    params: dict[str, Any] = field(default_factory=dict, metadata={
        "doc": "overrides of the model's parameters (see `memprop models`)", "unit": ""})

    def __post_init__(self) -> None:
        check_choice("model", self.model, tuple(DEVICE_MODELS))
        if not isinstance(self.params, dict):
            raise ConfigError("params", "must be a table of parameter = value")
        # Canonical form: keep only the overrides that differ from the model's defaults, so a config
        # and its resolved dump (which lists every parameter) parse to equal objects.
        base = DEVICE_MODELS[self.model]
        object.__setattr__(self, "params", {
            k: v for k, v in self.params.items()
            if not (k in base.__dataclass_fields__ and type(v) is type(getattr(base, k)) and v == getattr(base, k))})
        object.__setattr__(self, "_model", self._resolve())

    def build(self) -> MemristorModel:
        """The model's own dataclass (VTEAM, HPLinearDrift, ...) with the overrides applied: built
        and validated when the config is made, so a bad parameter never reaches a netlist."""
        return self._model

    def _resolve(self) -> MemristorModel:
        try:
            model = device_model(self.model, **self.params)
        except ConfigError as err:
            field_name = err.field if err.field == "model" else f"params.{err.field}"
            raise ConfigError(field_name, err.reason) from None
        except TypeError as err:
            raise ConfigError("params", str(err)) from None
        _check_derived(model)
        return model


def _check_derived(model: MemristorModel) -> None:
    """Parameters each within bounds can still combine into an overflow or an empty range (HP's
    k = mu_v r_on / thickness^2, Yakopcic's a1 * b, 1 / r_on): reject them here, naming the
    parameters, rather than as a traceback or a non-finite number at render time."""
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        try:
            g_min, g_max = model.g_min, model.g_max
            g_range = f"{g_min:g} .. {g_max:g} S"
        except (ArithmeticError, FloatingPointError) as err:
            g_min = g_max = math.nan
            g_range = f"that overflows ({err})"
        if not (math.isfinite(g_min) and math.isfinite(g_max) and 0.0 <= g_min < g_max):
            raise ConfigError("params", f"the parameters give a read conductance range {g_range}; "
                                        "it must be finite and non-empty")
        if isinstance(model, HPLinearDrift):
            try:
                k = model.k
            except (ArithmeticError, FloatingPointError):
                k = math.inf
            if not (math.isfinite(k) and k > 0.0):
                raise ConfigError("params", f"mobility rate k = mu_v * r_on / thickness^2 = {k:g} 1/(A s) "
                                            "must be finite and > 0")


@dataclass(frozen=True)
class SimConfig:
    """Analyses and nudging of the one deck `memprop netgen` writes and `memprop settle` solves.

    `analysis` and `beta` are also fields of [train], on purpose: there they say how training's
    phases settle and how hard EP nudges (default 0.3), here what a standalone deck holds (default
    a free-phase `.op`, no nudging sources). One field for both would nudge every default deck or
    leave the default training without nudging."""

    analysis: Analysis = param("op", "op (equilibrium) or tran (dynamics from zero, with uic)")
    tran_step: float = param(2e-8, "transient print step", "s")
    tran_stop: float = param(2e-5, "transient stop time", "s")
    beta: float = param(0.0, "nudging strength; nudging sources are in the deck when non-zero")

    def __post_init__(self) -> None:
        check_choice("analysis", self.analysis, ANALYSES)
        check_finite("tran_step", self.tran_step, low=1e-15, high=1.0)
        check_finite("tran_stop", self.tran_stop, low=1e-12, high=10.0)
        if self.tran_stop / self.tran_step > 1e6:
            raise ConfigError("tran_stop", "more than 1e6 transient steps: raise tran_step or lower tran_stop")
        if self.tran_step >= self.tran_stop:
            raise ConfigError("tran_step", "must be smaller than tran_stop")
        check_finite("beta", self.beta, low=-1e3, high=1e3)


@dataclass(frozen=True)
class SampleConfig:
    """The input sample that `memprop settle` and `netgen` program into the sources."""

    kind: SampleKind = param("auto", "auto (a digit image when there are 64 inputs, else random), digits or random")
    index: int = param(0, "digits: which image of scikit-learn's load_digits")
    seed: int = param(0, "random: seed of the uniform [v_low, v_high] inputs")

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, SAMPLE_KINDS)
        check_int("index", self.index, low=0, high=1796)
        check_int("seed", self.seed, low=0, high=2**32 - 1)


@dataclass(frozen=True)
class TrainConfig:
    """The learning run: rule, phases, schedule, how updates are written."""

    rule: Rule = param("ep", "learning rule: ep (equilibrium propagation) or rbp (recurrent backpropagation "
                            "with the analog side network)")
    backend: Backend = param("ngspice", "ngspice (co-simulated) or behavioral (numpy twin)")
    analysis: Analysis = param("op", "how phases settle in ngspice: op (equilibria) or tran (transients)")
    batching: Batching = param("sweep", "op in ngspice: sweep (every phase of many batches as points of one warm-started "
                                   "sweep, paused between batches to write the devices) or per-phase (a cold .op "
                                   "for every phase)")
    device_form: DeviceForm = param("auto", "tran: auto (devices as resistors wherever every device's voltage stays below "
                                     "its switching threshold - checked before and after each batch - their state "
                                     "equations live otherwise) or dynamic (the state equations always live)")
    precision: Precision = param("float64", "behavioral backend: float64, or float32 (the twin settles in single "
                                      "precision to 1e-5 V; device states and writes stay float64)")
    epochs: int = param(5, "passes over the training set")
    batch_size: int = param(10, "samples per weight update")
    lr: tuple[float, ...] = param((0.04, 0.01), "learning rate per neuron layer (first to last; the last repeats)")
    lr_schedule: LrSchedule = param("step", "the learning rate's factor per epoch: constant, step (times lr_step_factor "
                                     "every lr_step_epochs, never below lr_min) or cosine (from 1 down to lr_min "
                                     "over lr_decay_epochs, then lr_min)")
    lr_min: float = param(0.05, "step: the factor the rate never goes below; cosine: the factor it decays to")
    lr_step_epochs: int = param(1, "step: epochs between two steps")
    lr_step_factor: float = param(0.5, "step: what each step multiplies the rate by")
    lr_decay_epochs: int = param(5, "cosine: epochs the decay spans (its own field, not train.epochs, so a "
                                    "resumed run that goes longer keeps its schedule)")
    optimizer: Optimizer = param("sgd", "how the controller turns the rule's change into writes: sgd (rate x change, "
                                  "with heavy-ball momentum) or adam (Kingma & Ba; lr is then the step in weight "
                                  "units, as in PyTorch)")
    momentum: float = param(0.9, "sgd: heavy-ball momentum of the weight updates (0: none); adam: the first "
                                 "moment's decay (beta1). The controller keeps one velocity per primary crossbar, "
                                 "checkpointed with the run")
    adam_beta2: float = param(0.999, "adam: the second moment's decay")
    adam_eps: float = param(1e-8, "adam: added to the root of the second moment (weight units per update)")
    beta: float = param(0.3, "nudging strength")
    nudging: Nudging = param("symmetric", "one-sided, symmetric (+beta and -beta), or random-sign (one-sided, "
                                      "sign drawn per batch)")
    update: Update = param("ideal", "ideal (set the new conductance) or pulse (programming pulses)")
    seed: int = param(0, "seed of shuffling, random nudging signs and anything else random")
    checkpoint_every: int = param(10, "write a checkpoint every this many batches (and at each epoch end)")
    eval_size: int = param(0, "evaluate on at most this many test images per epoch (0: all)")
    settle_time: float = param(20.0, "tran: each phase lasts this many tau")
    workers: int = param(1, "worker processes settling the samples of a batch in parallel (one ngspice each)")
    isolate: bool = param(False, "run ngspice in a worker process even with one worker: a crash or hang "
                                 "restarts the worker and retries the batch instead of ending the run")
    worker_timeout: float = param(600.0, "seconds a worker may take for one batch before it counts as hung", "s")
    scheduler: str = param("", "Dask scheduler address (tcp://host:port), or local for a LocalCluster; "
                               "empty: a local process pool when workers > 1")

    def __post_init__(self) -> None:
        check_choice("rule", self.rule, RULES)
        if self.rule == "rbp" and self.analysis != "op":
            raise ConfigError("analysis", "rbp's side network settles with .op: use analysis = \"op\"")
        check_choice("backend", self.backend, BACKENDS)
        check_choice("analysis", self.analysis, ANALYSES)
        check_choice("batching", self.batching, BATCHINGS)
        check_choice("device_form", self.device_form, DEVICE_FORMS)
        check_choice("precision", self.precision, PRECISIONS)
        if self.precision == "float32" and (self.backend != "behavioral" or self.workers > 1 or self.scheduler):
            raise ConfigError("precision", "float32 is for the behavioral backend in this process (ngspice's "
                                           "twin checks, and workers, settle in float64)")
        check_int("epochs", self.epochs, low=0, high=100000)
        check_int("batch_size", self.batch_size, low=1, high=100000)
        if not isinstance(self.lr, tuple) or not 1 <= len(self.lr) <= 16:
            raise ConfigError("lr", "must be a list of 1 to 16 learning rates")
        for k, value in enumerate(self.lr):
            check_finite(f"lr[{k}]", value, nonnegative=True, high=100.0)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_finite("lr_min", self.lr_min, low=0.0, high=1.0)
        check_int("lr_step_epochs", self.lr_step_epochs, low=1, high=100000)
        check_finite("lr_step_factor", self.lr_step_factor, positive=True, high=1.0)
        check_int("lr_decay_epochs", self.lr_decay_epochs, low=1, high=100000)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_finite("momentum", self.momentum, low=0.0, high=0.999)
        check_finite("adam_beta2", self.adam_beta2, low=0.0, high=0.999999)
        check_finite("adam_eps", self.adam_eps, positive=True, high=1.0)
        check_finite("beta", self.beta, positive=True, high=100.0)
        check_choice("nudging", self.nudging, NUDGINGS)
        check_choice("update", self.update, UPDATES)
        check_int("seed", self.seed, low=0, high=2**32 - 1)
        check_int("checkpoint_every", self.checkpoint_every, low=1, high=10**9)
        check_int("eval_size", self.eval_size, low=0, high=10**7)
        check_finite("settle_time", self.settle_time, low=1.0, high=1e4)
        check_int("workers", self.workers, low=1, high=512)
        if not isinstance(self.isolate, bool):
            raise ConfigError("isolate", f"must be true or false, got {self.isolate!r}")
        check_finite("worker_timeout", self.worker_timeout, low=1.0, high=1e6)
        if not isinstance(self.scheduler, str) or len(self.scheduler) > 256 or not SCHEDULER.match(self.scheduler):
            raise ConfigError("scheduler", "must be empty, local, or a Dask scheduler's address like tcp://host:8786 "
                                           f"(tcp, tls, ws, wss or ucx, a host and a port); got {self.scheduler!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which data the network learns, and how it is split."""

    dataset: Dataset = param("digits", "digits (8x8, embedded), mnist or fashion-mnist (IDX files)")
    data_dir: str = param("", "directory with the IDX files (empty: look in system locations)")
    verify: bool = param(True, "check IDX files against published checksums")
    validation: float = param(0.1, "fraction of the training set held out for validation")
    train_size: int = param(0, "use at most this many training images (0: all)")
    test_size: int = param(0, "use at most this many test images (0: all)")
    seed: int = param(0, "seed of the splits")

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        if not isinstance(self.data_dir, str) or "\x00" in self.data_dir or len(self.data_dir) > 4096:
            raise ConfigError("data_dir", "must be a path string")
        if not isinstance(self.verify, bool):
            raise ConfigError("verify", f"must be true or false, got {self.verify!r}")
        check_finite("validation", self.validation, low=0.0, high=0.5)
        check_int("train_size", self.train_size, low=0, high=10**7)
        check_int("test_size", self.test_size, low=0, high=10**7)
        check_int("seed", self.seed, low=0, high=2**32 - 1)


@dataclass(frozen=True)
class Config:
    """A whole run: network, neuron cell, device, analyses and sample."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    neuron: Neuron = field(default_factory=Neuron)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    pulse: PulseScheme = field(default_factory=PulseScheme)
    nonideal: NonIdeal = field(default_factory=NonIdeal)
    #: where the config came from (for messages); not part of the TOML.
    source: str = field(default="<defaults>", compare=False)


SECTIONS: dict[str, type] = {"network": NetworkConfig, "neuron": Neuron, "device": DeviceConfig,
                             "sim": SimConfig, "sample": SampleConfig, "train": TrainConfig, "data": DataConfig,
                             "pulse": PulseScheme, "nonideal": NonIdeal}


def _as_float(field_name: str, value: int, source: str) -> float:
    """A TOML integer as a float (TOML integers are unbounded; a float is not)."""
    try:
        return float(value)
    except OverflowError:
        raise ConfigError(field_name, f"integer with {len(str(abs(value)))} digits is out of range", source) from None


def _section(name: str, cls: type, table: Any, source: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(name, "must be a table ([" + name + "])", source)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{name}.{key}", f"unknown key; known keys: {', '.join(known)}", source)
    values = dict(table)
    for key, value in values.items():
        default = known[key].default
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name}.{key}", f"must be finite, got {value!r}", source)
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise ConfigError(f"{name}.{key}", f"must be a list, got {type(value).__name__}", source)
            values[key] = tuple(value)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            values[key] = _as_float(f"{name}.{key}", value, source)
    if cls is DeviceConfig and "params" not in values:
        values["params"] = {}
    if cls is DeviceConfig and isinstance(values.get("params"), dict):
        for key, value in values["params"].items():
            if isinstance(value, int) and not isinstance(value, bool):
                values["params"][key] = _as_float(f"device.params.{key}", value, source)
    try:
        return cls(**values)
    except ConfigError as err:
        raise err.located(source, name) from None


def parse(data: dict[str, Any], source: str = "<config>") -> Config:
    """A Config from a parsed TOML document."""
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(key, f"unknown section; known sections: {', '.join(SECTIONS)}", source)
    parts = {name: _section(name, cls, data.get(name, {}), source) for name, cls in SECTIONS.items()}
    cfg = Config(**parts, source=source)
    if cfg.pulse.half_select != "none" and cfg.train.update != "pulse":
        raise ConfigError("pulse.half_select", "writes through the crossbar's lines are programming pulses: "
                                               "set train.update = \"pulse\"", source)
    if cfg.nonideal.threshold_sigma > 0 and cfg.train.update != "pulse":
        raise ConfigError("nonideal.threshold_sigma", "threshold variation acts on programming pulses only: "
                                                      "set train.update = \"pulse\"", source)
    check_parallel(cfg)
    if cfg.nonideal.read_side and cfg.train.analysis == "tran":
        raise ConfigError("nonideal", "device variation and stuck devices are modelled in the read form only: "
                                      "use train.analysis = \"op\"", source)
    try:
        network = build_network(cfg)
        cfg.pulse.resolved(network.device)
    except ConfigError as err:
        raise ConfigError(err.field, err.reason, source) from None
    return cfg


def check_parallel(cfg: Config) -> None:
    """Worker processes settle with `.op`, and transistor-level cells also in transient mode: their
    engine keeps the devices as resistors (engines/transistor.py), so a worker's batch cannot move
    the device states the parent holds; the ideal cells' transient may fall back to the dynamic
    form, where the devices move inside ngspice."""
    t = cfg.train
    if t.analysis == "op" or cfg.neuron.transistor_level:
        return
    for name, used in (("workers", t.workers > 1), ("scheduler", bool(t.scheduler)), ("isolate", t.isolate)):
        if used:
            raise ConfigError(f"train.{name}", "worker processes settle with .op at the ideal and macromodel levels "
                                               f"(transient mode there runs serially in this process); use analysis "
                                               f"= \"op\" or leave train.{name} at its default", cfg.source)


def check_trainable(cfg: Config, network: Network) -> None:
    """The data fits the network: pixels = inputs, classes = outputs; the neuron level trains."""
    check_parallel(cfg)  # again: --workers and --analysis override the parsed config
    if cfg.neuron.transistor_level and cfg.train.backend == "ngspice":
        _check_transistor_training(cfg, network)
    if cfg.train.rule == "rbp" and cfg.train.backend == "ngspice" and cfg.neuron.transistor_level:
        raise ConfigError("train.rule", f"rbp in ngspice settles the analog side network, which is built at the ideal "
                                        f"and macromodel levels only, not {cfg.neuron.level}", cfg.source)
    pixels = 64 if cfg.data.dataset == "digits" else 784
    if network.n_inputs != pixels:
        raise ConfigError("data.dataset", f"{cfg.data.dataset} images have {pixels} pixels but the network has "
                                          f"{network.n_inputs} inputs", cfg.source)
    if network.group(network.output_group).size != 10:
        raise ConfigError("network", f"{cfg.data.dataset} has 10 classes: the network needs 10 outputs",
                          cfg.source)


def _check_transistor_training(cfg: Config, network: Network) -> None:
    """Transistor-level cells train in ngspice with their phases back to back in one transient
    (engines/transistor.py), the devices as resistors: a sky130 `.op` or warm-started sweep point
    needs gmin stepping every time (~1 300 Newton iterations, ~4 s at 64-32-10). (The behavioral
    backend trains the twin, the ideal model of the same network, at any level.)"""
    t, level = cfg.train, cfg.neuron.level
    if level == "sky130" and t.analysis != "tran":
        raise ConfigError("train.analysis", "sky130 neurons train with analysis = \"tran\" (phases back to back in one "
                                            "transient): each .op or sweep point at sky130 needs gmin stepping, ~4 s",
                          cfg.source)
    if t.analysis != "tran":
        return  # cmos .op phases go to the sweep (engines/serial.py)
    if t.device_form != "auto":
        raise ConfigError("train.device_form", f"{level} neurons train with the devices in their read form "
                                               "(device_form = \"auto\"): their dynamic form is built for ideal cells",
                          cfg.source)
    if network.device.read_limit <= 0:
        raise ConfigError("device.model", f"{level} neurons train with the devices in their read form, which needs a "
                                          f"switching threshold; {cfg.device.model!r} has none", cfg.source)
    _check_read_form_holds(cfg, network)
    if t.batching != "sweep":
        raise ConfigError("train.batching", f"{level} neurons train with their phases back to back in one transient "
                                            "(batching = \"sweep\"); one transient per phase would start each "
                                            "from its operating point", cfg.source)


def _check_read_form_holds(cfg: Config, network: Network) -> None:
    """The lines swing within [v_low, v_high] and so do the inputs: if that reaches 90 % of the
    devices' switching threshold, every batch would be refused (the transistor engine has no
    dynamic form to fall back to), so the run is refused before it starts."""
    nrn, swing = network.neuron, max(abs(network.neuron.v_low), abs(network.neuron.v_high))
    if not network.device.reads_safely(swing):
        raise ConfigError("device.model", f"{cfg.device.model!r} switches from {network.device.read_limit:.3g} V, "
                                          f"and the {nrn.level} lines swing to {swing:g} V: the read form needs a "
                                          "10 % margin (a device with a higher threshold, or a smaller "
                                          "neuron.v_high)", cfg.source)


def load(path: str | Path | None) -> Config:
    """Read and validate a TOML config file (None: all defaults)."""
    if path is None:
        return Config()
    return loads(_read_text(Path(path)), str(path))


def _read_text(path: Path) -> str:
    """A config file's text: a regular file within the size bound, UTF-8."""
    raw = read_bounded(path, MAX_CONFIG_BYTES, wanted="a TOML file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError("file", f"not UTF-8 text ({err.reason} at byte {err.start})", str(path)) from None


def loads(text: str, source: str = "<config>") -> Config:
    """A Config from TOML text (`source` names where it came from, in errors)."""
    return parse(_toml(text, source), source)


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError("file", "not valid TOML: arrays or tables nested too deeply", source) from None
    except ValueError as err:  # TOMLDecodeError, or an integer beyond Python's digit limit
        raise ConfigError("file", f"not valid TOML: {err}", source) from None


#: The pulse scheme of every pulse run written before `[pulse] scheme` existed (SET-calibrated widths).
LEGACY_PULSE_SCHEME = "set-calibrated"
#: How every run written before [train] had a schedule and momentum learnt: the rates of train.lr
#: unchanged, no momentum. The reports made then pin it too, so their commands still reproduce them.
LEGACY_SCHEDULE = {"lr_schedule": "constant", "momentum": 0.0}
#: The learning rates of the default run before the schedule (with LEGACY_SCHEDULE: the old default run).
LEGACY_LR = (0.2, 0.05)


def legacy_schedule(train: TrainConfig) -> TrainConfig:
    """`train` learning as the default run did before the schedule: rates 0.2, 0.05, constant, no
    momentum. The benchmark reports made then pin it, so their printed commands still reproduce them."""
    return dataclasses.replace(train, lr=LEGACY_LR, **LEGACY_SCHEDULE)


def loads_stored(text: str, source: str) -> Config:
    """A run's own resolved config (config.toml, a checkpoint's copy). Written by memprop, it holds
    every field; one without `[pulse] scheme` predates the schemes, and a pulse run then programmed
    with SET-calibrated widths: it reads as that, so resuming cannot silently switch schemes. One
    without `[train] lr_schedule` and `momentum` predates them and reads as LEGACY_SCHEDULE."""
    data = _toml(text, source)
    pulse = data.get("pulse")
    legacy = isinstance(pulse, dict) and "scheme" not in pulse
    train = data.get("train")
    if isinstance(train, dict) and "lr_schedule" not in train and "momentum" not in train:
        data["train"] = {**LEGACY_SCHEDULE, **train}
    cfg = parse(data, source)
    if legacy and cfg.train.update == "pulse":
        return dataclasses.replace(cfg, pulse=dataclasses.replace(cfg.pulse, scheme=LEGACY_PULSE_SCHEME))
    return cfg


def load_stored(path: str | Path) -> Config:
    """A run directory's config.toml (see `loads_stored`)."""
    return loads_stored(_read_text(Path(path)), str(path))


def to_dict(cfg: Config) -> dict[str, Any]:
    """The fully resolved config (device parameters included) as plain TOML-able data."""
    out: dict[str, Any] = {}
    for name in SECTIONS:
        section = getattr(cfg, name)
        table = {}
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            table[f.name] = list(value) if isinstance(value, tuple) else value
        out[name] = table
    device = cfg.device.build()
    out["device"]["params"] = {f.name: getattr(device, f.name) for f in dataclasses.fields(device)}
    return out


def dumps(cfg: Config) -> str:
    return tomli_w.dumps(to_dict(cfg))


def _inline(value: Any) -> str:
    """A TOML value on one line (tomli_w writes lists one item per line)."""
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).strip()[len("v = "):]


def _documented_table(header: str, obj: Any, values: dict[str, Any]) -> list[str]:
    """`[header]` and one `key = value  # [unit] doc` line per field of a parameter dataclass."""
    lines = [f"[{header}]"]
    for name, _, unit, doc in describe(obj):
        if isinstance(values.get(name), dict):
            continue  # a sub-table ([device.params]) is written after its section
        text = f"{name} = {_inline(values[name])}"
        note = " ".join(part for part in (f"[{unit}]" if unit else "", one_safe_line(doc)) if part)
        lines.append(f"{text:<34} # {note}" if note else text)
    return lines


def documented(cfg: Config) -> str:
    """The resolved config as TOML with every field's unit and meaning as a comment beside it
    (`memprop config show --doc`): still valid TOML, it loads back to the same config."""
    data = to_dict(cfg)
    blocks = []
    for name in SECTIONS:
        blocks.append(_documented_table(name, getattr(cfg, name), data[name]))
        if name == "device":  # its parameters: the model's own dataclass, as a sub-table
            blocks.append(_documented_table("device.params", cfg.device.build(), data["device"]["params"]))
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def differences(a: Config, b: Config) -> list[tuple[str, Any, Any]]:
    """(section.key, value in a, value in b) for every resolved value where two configs differ."""
    da, db = to_dict(a), to_dict(b)
    out = []
    for section, table in da.items():
        for key, value in table.items():
            if key == "params" and section == "device":
                out += [(f"device.params.{k}", v, db[section][key].get(k)) for k, v in value.items()
                        if v != db[section][key].get(k)]
            elif value != db[section][key]:
                out.append((f"{section}.{key}", value, db[section][key]))
    return out


def build_network(cfg: Config) -> Network:
    """The Network a config describes (beta from [sim])."""
    device = cfg.device.build()
    n = cfg.network
    if n.wire_resistance > 0 and not device.linear_read:
        raise ConfigError("network.wire_resistance", f"wire resistance needs a device with a linear read; "
                                                     f"{cfg.device.model!r} has a nonlinear read")
    if n.topology == "layered":
        net = layered_network(cfg.neuron, device, n.layers, bias=n.bias, wire_resistance=n.wire_resistance,
                              beta=cfg.sim.beta)
    else:
        net = recurrent_network(cfg.neuron, device, n.neurons, n.inputs, n.outputs, bias=n.bias,
                                wire_resistance=n.wire_resistance, beta=cfg.sim.beta)
    return net.with_nonideal(cfg.nonideal) if cfg.nonideal.read_side else net


def initial_states(cfg: Config, network: Network) -> SynapseStates:
    if cfg.network.init == "glorot":
        return glorot_states(network, cfg.network.seed, gain=cfg.network.init_gain)
    return random_states(network, cfg.network.seed)
