"""What the `memprop` commands do beyond memprop.api: their option checks, with errors named as on
the command line, and the text they print.

The click commands (memprop.cosim.cli) only parse options, call one function here or in memprop.api
and echo the result, so everything a command decides or prints can be called and tested without
click. This module sits in runs/, the lowest room that sees everything the commands touch (the
config, the engines' settle, gradcheck, the datasets); what needs memprop.api (a run, an export)
takes the API's result as its argument instead of importing it. Heavy imports stay inside the
functions: `memprop --help` should not load numpy.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from memprop.circuits.validation import ConfigError


# ---- models ----
def models_text() -> str:
    """`memprop models`: every device model with its conductance range and parameters, then the
    neuron levels and parameters."""
    from memprop.circuits.devices import DEVICE_MODELS
    from memprop.circuits.neuron import NEURON_LEVELS, Neuron

    lines = []
    for name, model in DEVICE_MODELS.items():
        lines.append(f"device {name}: {type(model).__doc__.strip().splitlines()[0]}")
        g_range = f"  G range {model.g_min * 1e6:.3g} .. {model.g_max * 1e6:.3g} uS;"
        lines.append(f"{g_range} reads below {model.read_limit:g} V leave the state alone" if model.read_limit
                     else f"{g_range} no threshold")
        lines += _parameter_lines(model)
    lines += [f"neuron level {level}" for level in NEURON_LEVELS]
    return "\n".join(lines + ["neuron parameters:"] + _parameter_lines(Neuron()))


def _parameter_lines(obj: Any) -> list[str]:
    """One aligned line per parameter: name, value, unit, meaning (the same columns for devices and neurons)."""
    from memprop.circuits.params import describe

    return [f"    {pname:<10} = {value!s:<10} {unit:<9} {doc}" for pname, value, unit, doc in describe(obj)]


# ---- netgen, settle and gradcheck ----
def write_deck(network: Any, deck: Any, output: Path, map_path: Path | None) -> str:
    """`memprop netgen`: write the deck (and its node map as JSON when asked) and say what it holds."""
    import json

    from memprop.cosim.data.files import write_output

    write_output(output, deck.text)
    if map_path is not None:
        write_output(map_path, json.dumps(deck.node_map, indent=1, sort_keys=True) + "\n")
    return f"wrote {output} ({network.n_neurons} neurons, {network.n_devices} memristors)"


def settle_report(cfg: Any, backend: str, as_json: bool) -> str:
    """`memprop settle`: one sample's equilibrium on one backend, or on both ("both") side by side
    with their difference, the check that the twin and ngspice agree."""
    from memprop.cosim.config.choices import BACKENDS
    from memprop.cosim.engines.settle import settle

    results = [settle(cfg, b) for b in (BACKENDS if backend == "both" else (backend,))]
    if as_json:
        import json

        payload = [{"backend": r.backend, "analysis": r.analysis, "voltages": r.voltages} for r in results]
        return json.dumps(payload[0] if len(payload) == 1 else payload, indent=1)
    return "\n".join(_settle_table(results))


def _settle_table(results: list[Any]) -> list[str]:
    """Node rows with a column per backend; with two backends also |diff| and the worst case."""
    nodes, pair = list(results[0].voltages), len(results) == 2
    diff = {n: abs(results[0].voltages[n] - results[1].voltages[n]) for n in nodes} if pair else {}
    lines = [f"{'node':<12}" + "".join(f"{r.backend:>14}" for r in results) + ("   |diff| mV" if pair else "")]
    for node in nodes:
        lines.append(f"{node:<12}" + "".join(f"{r.voltages[node]:>14.6f}" for r in results)
                     + (f"   {diff[node] * 1e3:9.4f}" if pair else ""))
    if pair:
        lines.append(f"max |ngspice - behavioral| = {max(diff.values()) * 1e3:.6f} mV over {len(nodes)} neurons "
                     f"({results[0].analysis})")
    return lines


def gradcheck_betas(betas: Iterable[float]) -> tuple[float, ...]:
    """--beta's values (default 0.001, 0.01, 0.1), refused when zero or larger than 10: EP divides by
    beta, and a nudge that large no longer measures a derivative."""
    betas = tuple(betas)
    for b in betas:
        if not (0 < abs(b) <= 10):
            raise ConfigError("--beta", f"must be non-zero and at most 10 in size, got {b}")
    return betas or (0.001, 0.01, 0.1)


def gradcheck_text(result: dict[str, Any]) -> str:
    """`memprop gradcheck`'s table: every pair of estimates, then EP at the training beta against
    finite differences."""
    row = "{:<72}{:>10.5f}{:>11.2e}"
    trained = result["training_beta"]
    lines = [f"{result['network']} network, {result['neurons']} neurons, {result['weights_checked']} of "
             f"{result['weights']} weights, batch {result['batch']}", f"{'pair':<72}{'cosine':>10}{'rel. err':>11}"]
    lines += [row.format(name, fig["cosine"], fig["relative_error"]) for name, fig in result["pairs"].items()]
    lines.append(f"EP at the training beta ({trained['beta']:g}, train.beta) vs finite differences, "
                 "same batch and weights:")
    lines += [row.format(f"{activation} activation, {nudging}", fig["cosine"], fig["relative_error"])
              for activation, figs in trained["activations"].items() for nudging, fig in figs.items()]
    return "\n".join(lines)


# ---- train, eval, validate, export ----
def training_setup(config: Path | None, out: Path, resume: bool, **options: Any) -> tuple[Any, dict[str, Any]]:
    """The config to train (None when resuming: the run's own) and the [train] overrides among
    `options` (those given, i.e. not None), checked before anything runs, with errors naming the
    option (--epochs) rather than the key (train.epochs)."""
    from memprop.cosim.config.config import load, load_stored
    from memprop.cosim.runs import rundir

    if resume and config is not None:
        raise ConfigError("CONFIG", "with --resume the config is the run's own config.toml; give only --out")
    cfg = load_stored(out / rundir.CONFIG) if resume else load(config)
    changes = {key: value for key, value in options.items() if value is not None}
    if changes:
        try:
            cfg = replace(cfg, train=replace(cfg.train, **changes))
        except ConfigError as err:
            raise ConfigError(f"--{err.field}", err.reason) from None
    return (None if resume else cfg), changes


def epoch_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per finished epoch, then the best-validation epoch (the figure to report when the
    test set must not pick the epoch); nothing for no rows."""
    from memprop.cosim.runs.trainer import best_validation

    lines = [f"epoch {row['epoch']:>3}: train loss {row['train_loss']:.4f}  test accuracy "
             f"{100 * row['test_accuracy']:.2f} %  ({row['seconds']:.1f} s, {row['backend']})" for row in rows]
    best = best_validation(rows)
    if best is not None:
        lines.append(f"best validation: epoch {best['epoch']} ({_best_figures(best)}")
    return lines


def _best_figures(best: dict[str, Any]) -> str:
    return f"{100 * best['validation_accuracy']:.2f} %), its test accuracy {100 * best['test_accuracy']:.2f} %"


def evaluation_text(result: dict[str, Any]) -> str:
    """`memprop eval`'s lines from memprop.api.evaluate's figures."""
    lines = [f"{result['run']}: {result['epochs_done']} epochs; {result['backend']}: test accuracy "
             f"{100 * result['test_accuracy']:.2f} % on {result['test_size']} images, validation "
             f"{100 * result['validation_accuracy']:.2f} %"]
    best = result["best_validation"]
    if best is not None:
        lines.append(f"best validation in the metrics: epoch {best['epoch']} ({_best_figures(best)}")
    return "\n".join(lines)


def validation_text(result: dict[str, Any]) -> str:
    """`memprop validate`'s lines from memprop.api.validate's figures: the accuracy change, each
    transient's settling time and energy, then the means and where the energy is drawn."""
    ref, val, level = result["reference"], result["validated"], result["level"]
    lines = [f"accuracy on {val['images']} test images: {result['reference_level']} {100 * ref['accuracy']:.1f} %, "
             f"{level} {100 * val['accuracy']:.1f} % (change {result['accuracy_change_points']:+.1f} points; "
             f"{val['seconds_per_image']:.2f} s per image at {level}, {val['failed']} failed)"]
    lines += _chained_lines(val)
    for s in result["transients"]:
        before, after = s["reference"], s["validated"]
        lines.append(f"image {s['image']}: settling to 1 %: {1e6 * before['settling_time_s']:.2f} us -> "
                     f"{1e6 * after['settling_time_s']:.2f} us; energy to settle "
                     f"{1e9 * before['energy_to_settle_j']:.2f} nJ -> {1e9 * after['energy_to_settle_j']:.2f} nJ")
    if not result["transients"]:
        return "\n".join(lines + ["no transients asked for (--transients 0): no settling time or energy"])
    parts = ", ".join(f"{name} {1e9 * result[f'validated_mean_energy_{key}_j']:.3g} nJ"
                      for key, name in (("neurons", "neurons"), ("read_rails", "crossbar read rails"),
                                        ("sources", "input and bias sources")))
    lines.append(f"mean settling {1e6 * result['validated_mean_settling_time_s']:.2f} us, mean energy per "
                 f"inference {1e9 * result['validated_mean_energy_j']:.2f} nJ at {level}")
    lines.append(f"energy drawn by {parts}; {1e12 * result['validated_energy_per_mac_j']:.3g} pJ per MAC "
                 f"({result['macs']} MACs per inference)")
    return "\n".join(lines)


def _chained_lines(val: dict[str, Any]) -> list[str]:
    """How a transistor-level network's images were settled: one after another in one transient,
    and how its window ends compare with `.op`s of the first images."""
    if val.get("settled_by") != "chained transient":
        return []
    lines = [f"settled one after another in one transient, {1e6 * val['window_s']:.3g} us per image; after its "
             f"inputs switched, an image came within 1 % of the swing in {1e6 * val['mean_settling_time_s']:.1f} us "
             f"on average, {1e6 * val['max_settling_time_s']:.1f} us at most; {val['unsettled']} still moving at "
             f"the end of their window"]
    if "op_check" in val:
        check = val["op_check"]
        lines.append(f"the first {check['images']} images by .op as well: outputs within "
                     f"{1e3 * check['max_diff_v']:.2f} mV of the window ends, the same class for "
                     f"{100 * check['same_class']:.0f} %")
    return lines


def files_line(files: Iterable[Path]) -> str:
    """The line naming the files a command wrote (an export, a run's deck and plots), in order."""
    return "wrote " + ", ".join(str(f) for f in files)


def dialects_text(known: dict[str, str]) -> str:
    """`memprop export --list`: each dialect with its line (from memprop.api.dialects)."""
    return "\n".join(f"{name:<9} {line}" for name, line in known.items())


def check_export(dialect: str, known: Iterable[str], output: Path | None, run: Path | None,
                 config: Path | None) -> None:
    """Refuse an export the options cannot describe, before a run or config is read: a known
    dialect, an output directory, and exactly one of RUN and --config."""
    known = list(known)
    if dialect not in known:
        raise ConfigError("--dialect", f"unknown dialect {dialect!r}; known: {', '.join(known)}")
    if output is None:
        raise ConfigError("-o", "give an output directory")
    if (run is None) == (config is None):
        raise ConfigError("RUN", "give either a run directory or --config CONFIG")


# ---- data ----
def split_sizes_text(cfg: Any) -> str:
    """`memprop data info`: load the config's dataset as training would (checksums verified) and
    say how it splits, so a missing or damaged file shows before a run starts."""
    from memprop.cosim.data.datasets import load_splits

    d = cfg.data
    s = load_splits(d.dataset, seed=d.seed, validation=d.validation, train_size=d.train_size,
                    test_size=d.test_size, data_dir=d.data_dir or None, verify=d.verify)
    return (f"{d.dataset}: {len(s.train.y)} train, {len(s.validation.y)} validation, "
            f"{len(s.test.y)} test images of {s.train.x.shape[1]} pixels")


def download_dataset(name: str, directory: Path) -> list[Path]:
    """Fetch a dataset's IDX files; an unreachable mirror is a ConfigError that says how to do
    without the network (copy the files in, set data.data_dir)."""
    import urllib.error

    from memprop.cosim.data.datasets import download

    try:
        return download(name, directory)
    except (urllib.error.URLError, TimeoutError) as err:
        raise ConfigError("download", f"could not reach the {name} mirror ({err}); copy the four IDX files "
                                      f"into {directory} and set data.data_dir") from None
