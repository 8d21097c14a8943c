"""Programming schemes in training: the metrics a pulse run records, stochastic rounding that
resumes bit-identically, and checkpoints of earlier versions (without the programming sums)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.programming import SCHEMES, PulseScheme
from memprop.circuits.validation import ConfigError
from memprop.cosim.runs import rundir
from memprop.cosim.config.config import LEGACY_PULSE_SCHEME, dumps, load_stored, loads_stored, parse
from memprop.cosim.programming.writes import PROGRAMMING_FIELDS, Fidelity, apply_update
from memprop.cosim.learning.estimators import with_ties
from memprop.cosim.runs.trainer import Trainer, load_run, read_checkpoint

PROGRAMMING_KEYS = ("programming_energy", "verify_reads", "unwritten_fraction", "at_g_max_fraction",
                    "at_g_min_fraction")


def _pulse_config(scheme: str, **train):
    return parse({"network": {"layers": [64, 6, 10]}, "data": {"train_size": 60, "test_size": 20},
                  "train": {"backend": "behavioral", "epochs": 1, "update": "pulse", "checkpoint_every": 2,
                            **train},
                  "pulse": {"scheme": scheme}})


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_pulse_run_records_what_its_writes_cost(tmp_path, scheme):
    rows = Trainer(_pulse_config(scheme), tmp_path / "run").run()
    row = rows[0]
    assert row["pulses"] > 0 and row["programming_energy"] > 0
    assert row["verify_reads"] == (row["pulses"] if scheme == "write-verify" else 0)
    assert 0.0 <= row["unwritten_fraction"] <= 1.0
    assert (row["unwritten_fraction"] == 0.0) == (scheme == "manhattan")
    assert 0.0 <= row["at_g_max_fraction"] <= 1.0 and 0.0 <= row["at_g_min_fraction"] <= 1.0
    assert rundir.read_metrics(tmp_path / "run" / rundir.METRICS)[0]["programming_energy"] == row["programming_energy"]


def test_ideal_runs_keep_their_metrics_as_before(tmp_path):
    cfg = parse({"network": {"layers": [64, 6, 10]}, "data": {"train_size": 30, "test_size": 10},
                 "train": {"backend": "behavioral", "epochs": 1}})
    row = Trainer(cfg, tmp_path / "run").run()[0]
    assert not set(PROGRAMMING_KEYS) & set(row)


def _stop_after_checkpoint(cfg, run, batch: int) -> None:
    """Train into `run` and stop (as a kill would) right after the checkpoint of `batch`."""
    class Stop(Exception):
        pass

    trainer = Trainer(cfg, run)
    original = trainer._save

    def save_then_stop(states, prog):
        original(states, prog)
        if prog.batch == batch:
            raise Stop
    trainer._save = save_then_stop
    with pytest.raises(Stop):
        trainer.run()


def test_stochastic_rounding_resumes_bit_identically(tmp_path):
    cfg = _pulse_config("stochastic")
    reference = Trainer(cfg, tmp_path / "ref").run()
    _stop_after_checkpoint(cfg, tmp_path / "run", batch=4)
    arrays, _ = rundir.load_checkpoint(tmp_path / "run" / rundir.CHECKPOINT)
    assert arrays["programming"][0] > 0  # the energy so far travels with the checkpoint
    rows = Trainer(cfg, tmp_path / "run").run(resume=True)
    # wall time, and the engine's counters of the work this process did (a resumed epoch counts
    # the settles after the checkpoint only), differ; everything computed is identical
    wall = [k for k in reference[0] if k.endswith("seconds") or k.startswith("twin_")]
    assert rows[-1]["twin_settles"] < reference[-1]["twin_settles"]
    assert [{k: v for k, v in r.items() if k not in wall} for r in rows] == \
           [{k: v for k, v in r.items() if k not in wall} for r in reference]


def test_the_pulse_seed_changes_stochastic_runs_only(tmp_path):
    def pulses_and_energy(scheme, seed, name):
        cfg = parse({"network": {"layers": [64, 6, 10]}, "data": {"train_size": 60, "test_size": 20},
                     "train": {"backend": "behavioral", "epochs": 1, "update": "pulse"},
                     "pulse": {"scheme": scheme, "seed": seed}})
        row = Trainer(cfg, tmp_path / name).run()[0]
        return row["pulses"], row["programming_energy"]
    assert pulses_and_energy("stochastic", 0, "a") != pulses_and_energy("stochastic", 1, "b")
    assert pulses_and_energy("per-polarity", 0, "c") == pulses_and_energy("per-polarity", 1, "d")


def _checkpointed_run(tmp_path):
    run = tmp_path / "run"
    cfg = _pulse_config("per-polarity", epochs=1, checkpoint_every=2)
    trainer = Trainer(cfg, run)
    trainer.run()
    return cfg, trainer.network, run


def test_a_checkpoint_without_programming_sums_resumes_with_zeros(tmp_path):
    cfg, network, run = _checkpointed_run(tmp_path)
    arrays, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    del arrays["programming"]
    rundir.save_checkpoint(run / rundir.CHECKPOINT, arrays, meta)
    _, prog, _ = read_checkpoint(cfg, network, run / rundir.CHECKPOINT)
    assert np.array_equal(prog.fidelity.programming, np.zeros(len(PROGRAMMING_FIELDS)))


@pytest.mark.parametrize("bad", [np.full(len(PROGRAMMING_FIELDS), np.nan), np.zeros(2),
                                 np.zeros(len(PROGRAMMING_FIELDS), dtype=np.float32)], ids=["nan", "shape", "float32"])
def test_forged_programming_sums_are_refused(tmp_path, bad):
    cfg, network, run = _checkpointed_run(tmp_path)
    arrays, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    arrays["programming"] = bad
    rundir.save_checkpoint(run / rundir.CHECKPOINT, arrays, meta)
    with pytest.raises(ConfigError, match="programming: must be 4 finite numbers"):
        read_checkpoint(cfg, network, run / rundir.CHECKPOINT)


@pytest.mark.parametrize("model", sorted(DEVICE_MODELS))
@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_writes_a_network_faithfully(model, scheme):
    """Correlation of wanted and achieved changes of one update (the legacy scheme on VTEAM-like
    devices is the one allowed to be poor)."""
    dev = DEVICE_MODELS[model]
    net = layered_network(Neuron(), dev, (6, 5, 3))
    states = glorot_states(net, 0, gain=0.5)
    rng = np.random.default_rng(1)
    span = dev.g_max - dev.g_min
    dw = with_ties(net, {b.name: rng.normal(0.0, 0.01 * span * 2 * net.neuron.r_f, (b.rows, b.cols))
                         for b in net.crossbars if b.tied_to is None})
    fidelity = Fidelity()
    apply_update(net, states, dw, "pulse", PulseScheme(scheme=scheme).resolved(dev), fidelity,
                 pulse_rng=np.random.default_rng(0))
    corr = fidelity.summary()["update_correlation"]
    floor = {"set-calibrated": 0.3, "manhattan": 0.3}.get(scheme, 0.85)
    assert corr > floor, (model, scheme, corr)
    assert fidelity.programming_summary()["programming_energy"] > 0
    assert not math.isnan(fidelity.programming_summary()["unwritten_fraction"])


def _without_scheme(text: str) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith("scheme =")]
    assert len(lines) == len(text.splitlines()) - 1
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("update, expected", [("pulse", LEGACY_PULSE_SCHEME), ("ideal", "per-polarity")])
def test_a_stored_config_from_before_the_schemes_keeps_its_scheme(update, expected):
    """A run written before [pulse] scheme existed programmed with SET-calibrated widths; its
    config.toml (and its checkpoint's copy) must not read as today's default."""
    cfg = parse({"train": {"update": update}})
    assert cfg.pulse.scheme == "per-polarity"
    assert loads_stored(_without_scheme(dumps(cfg)), "run").pulse.scheme == expected
    assert loads_stored(dumps(cfg), "run").pulse.scheme == "per-polarity"


def test_an_old_pulse_run_resumes_with_the_scheme_it_ran(tmp_path):
    """A pulse run stopped mid-epoch, its config.toml and its checkpoint's copy stripped of the
    scheme (as written before schemes existed): resumed from its run directory, it ends exactly as
    the SET-calibrated run it was."""
    cfg = _pulse_config("set-calibrated")
    reference = Trainer(cfg, tmp_path / "ref").run()
    run = tmp_path / "run"
    _stop_after_checkpoint(cfg, run, batch=4)
    (run / rundir.CONFIG).write_text(_without_scheme((run / rundir.CONFIG).read_text()))
    arrays, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    rundir.save_checkpoint(run / rundir.CHECKPOINT, arrays, {**meta, "config": _without_scheme(meta["config"])})
    old = load_stored(run / rundir.CONFIG)
    assert old.pulse.scheme == LEGACY_PULSE_SCHEME
    rows = Trainer(old, run).run(resume=True)
    assert rows[-1]["test_accuracy"] == reference[-1]["test_accuracy"]
    assert rows[-1]["pulses"] == reference[-1]["pulses"]
    _, states, _ = load_run(run)
    _, states_ref, _ = load_run(tmp_path / "ref")
    for (name, a), (_, b) in zip(states.items(), states_ref.items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def _through_lines(model: str, half_select: str, tmp_path, **pulse):
    cfg = parse({"network": {"layers": [64, 6, 10]}, "data": {"train_size": 40, "test_size": 20},
                 "device": {"model": model},
                 "train": {"backend": "behavioral", "epochs": 1, "update": "pulse", "checkpoint_every": 2},
                 "pulse": {"half_select": half_select, **pulse}})
    rows = Trainer(cfg, tmp_path / f"{model}-{half_select}").run()
    return rows[0], load_run(tmp_path / f"{model}-{half_select}")[1]


def test_writes_through_the_lines_below_threshold_train_exactly_as_device_by_device(tmp_path):
    """VTEAM at the default amplitude: V/2 stays below the threshold, so the states after training
    are those of pulsing each device alone; only the half-selected devices' read energy is added."""
    alone, alone_states = _through_lines("vteam", "none", tmp_path)
    lines, line_states = _through_lines("vteam", "v2", tmp_path)
    for name in alone_states.states:
        assert np.array_equal(alone_states[name], line_states[name])
    assert lines["pulses"] == alone["pulses"] and lines["test_accuracy"] == alone["test_accuracy"]
    assert lines["programming_energy"] > alone["programming_energy"]


@pytest.mark.parametrize("half_select", ["v2", "v3"])
def test_a_threshold_less_device_is_disturbed_through_the_lines(tmp_path, half_select):
    """HP devices have no threshold: every half-selected device drifts, so the trained states and
    the update fidelity differ from device-by-device pulses."""
    alone, alone_states = _through_lines("hp-biolek", "none", tmp_path)
    lines, line_states = _through_lines("hp-biolek", half_select, tmp_path)
    assert any(not np.array_equal(alone_states[n], line_states[n]) for n in alone_states.states)
    assert lines["update_rms_error"] != alone["update_rms_error"]


def test_threshold_variation_changes_what_pulses_do_and_repeats_exactly(tmp_path):
    """Each device's own switching voltages (nonideal.threshold_sigma): the same counts land
    elsewhere, so the states differ from nominal devices; the factors are fixed by the seed."""
    def run(sigma: float, tag: str):
        cfg = parse({"network": {"layers": [64, 6, 10]}, "data": {"train_size": 40, "test_size": 20},
                     "train": {"backend": "behavioral", "epochs": 1, "update": "pulse"},
                     "nonideal": {"threshold_sigma": sigma}})
        rows = Trainer(cfg, tmp_path / tag).run()
        return rows[0], load_run(tmp_path / tag)[1]
    nominal, nominal_states = run(0.0, "nominal")
    varied, varied_states = run(0.3, "varied")
    again, again_states = run(0.3, "again")
    assert any(not np.array_equal(nominal_states[n], varied_states[n]) for n in nominal_states.states)
    assert all(np.array_equal(varied_states[n], again_states[n]) for n in varied_states.states)
    assert varied["update_rms_error"] != nominal["update_rms_error"]


def test_threshold_variation_or_half_select_without_pulses_is_refused():
    with pytest.raises(ConfigError, match="half_select"):
        parse({"pulse": {"half_select": "v2"}})
    with pytest.raises(ConfigError, match="threshold_sigma"):
        parse({"nonideal": {"threshold_sigma": 0.2}})
    with pytest.raises(ConfigError, match="threshold_sigma"):
        parse({"train": {"update": "pulse"}, "nonideal": {"threshold_sigma": -0.1}})
