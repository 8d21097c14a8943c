"""EP training end to end: engines agree, learning is real, EP is the gradient, runs survive kills.

Every run here is small (digits, a few hundred images, 2-3 epochs) so the file stays well under a
minute and a half on two cores; subprocess runs use the installed `memprop` console script.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import conductances, glorot_states, layered_network, tie
from memprop.circuits.neuron import Neuron
from memprop.circuits.programming import PulseScheme
from memprop.circuits.validation import ConfigError
from memprop.cosim.runs import rundir
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.cli import main
from memprop.cosim.config.config import build_network, initial_states, parse
from memprop.cosim.data.datasets import load_splits
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.programming.writes import Fidelity, apply_update
from memprop.cosim.learning.estimators import EP, ep_update, layer_rates, with_ties
from memprop.cosim.runs.trainer import Trainer, evaluate, load_run, one_hot, write_artifacts

MV = 1e-3
MEMPROP = Path(sys.executable).with_name("memprop")


def _cmd(*args: str) -> list[str]:
    """The console script when installed, else the module (same code path)."""
    if MEMPROP.exists():
        return [str(MEMPROP), *args]
    return [sys.executable, "-m", "memprop.cosim.cli", *args]


def _config(**sections: dict) -> dict:
    return {k: dict(v) for k, v in sections.items()}


def _toml(path: Path, data: dict) -> Path:
    import tomli_w

    path.write_text(tomli_w.dumps(data))
    return path


# A small co-simulation config: validation 0 so ngspice spends its analyses on train and test.
SMALL = _config(network={"layers": [64, 16, 10]},
                data={"train_size": 60, "test_size": 60, "validation": 0.0},
                train={"batch_size": 10, "epochs": 2, "checkpoint_every": 10**6})


def _same(a, b) -> bool:
    """Equality of metric values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


# ---------------------------------------------------------------------------------------------
# a. ngspice and the twin give the same phases and the same learning curves
# ---------------------------------------------------------------------------------------------

def test_ngspice_phases_match_twin_batch_by_batch(ngspice):
    cfg = parse(SMALL)
    net = build_network(cfg)
    states = initial_states(cfg, net)
    splits = load_splits("digits", seed=0, validation=0.0, train_size=60, test_size=60)
    lo, hi = net.neuron.v_low, net.neuron.v_high
    out = net.output_slice()
    rates = layer_rates(net, cfg.train.lr)
    spice, twin = NgspiceEngine(net), BehavioralEngine(net)
    try:
        fidelity = Fidelity()
        for batch in range(4):
            spice.program(states)
            twin.program(states)
            idx = np.arange(10 * batch, 10 * batch + 10)
            x = lo + (hi - lo) * splits.train.x[idx]
            y = one_hot(splits.train.y[idx], 10, lo, hi)
            betas = EP("symmetric", cfg.train.beta).betas(np.random.default_rng(0))
            ps, pt = spice.phases(x, y, betas), twin.phases(x, y, betas)
            assert [p.beta for p in ps] == [p.beta for p in pt] == [0.0, 0.3, -0.3]
            for a, b in zip(ps, pt):
                assert a.v.shape == b.v.shape == (10, net.n_neurons)
                assert np.max(np.abs(a.v - b.v)) <= 1 * MV, f"batch {batch}, beta {a.beta}"
                assert np.max(np.abs(a.sigma - b.sigma)) <= 1 * MV
            # nudging moves the outputs (the comparison is not of two resting networks)
            assert np.max(np.abs(ps[1].v[:, out] - ps[0].v[:, out])) > 10 * MV
            assert np.max(np.abs(ps[2].v[:, out] - ps[0].v[:, out])) > 10 * MV
            # and the EP update computed from either engine's phases is the same
            dws, dwt = ep_update(net, ps, rates), ep_update(net, pt, rates)
            for name in dwt:
                scale = np.max(np.abs(dwt[name]))
                assert scale > 0
                assert np.max(np.abs(dws[name] - dwt[name])) <= 1e-2 * scale, name
            states = apply_update(net, states, with_ties(net, dwt), "ideal", None, fidelity)
        assert spice.stats["analyses"] == 4 * 10 * 3
        assert spice.stats["op_failures"] == 0
        assert spice.stats["max_twin_diff_mv"] <= 1.0
    finally:
        spice.close()


def test_ngspice_and_behavioral_learning_curves_track(ngspice, tmp_path):
    rows = {}
    for backend in ("behavioral", "ngspice"):
        data = _config(**SMALL)
        data["train"]["backend"] = backend
        rows[backend] = Trainer(parse(data), tmp_path / backend).run()
    b, s = rows["behavioral"], rows["ngspice"]
    assert [r["epoch"] for r in b] == [r["epoch"] for r in s] == [1, 2]
    assert s[-1]["backend"] == "ngspice" and s[-1]["ngspice_analyses"] > 0
    # counters are per epoch: both epochs settle the same samples (restarts add analyses)
    plain = [r["ngspice_analyses"] - r["ngspice_restarts"] for r in s]
    assert plain[0] == plain[1]
    assert 0 < s[1]["ngspice_analysis_seconds"] < s[1]["seconds"]
    assert s[-1]["ngspice_max_twin_diff_mv"] <= 1.0
    for rb, rs in zip(b, s):
        assert rs["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-3)
        assert rs["test_loss"] == pytest.approx(rb["test_loss"], rel=1e-3)
        assert abs(rs["test_accuracy"] - rb["test_accuracy"]) * 60 <= 1 + 1e-9
    # the runs learned something (the curves track a moving target, not two constants)
    assert b[-1]["train_loss"] < b[0]["train_loss"]


@pytest.mark.slow
def test_batched_and_per_phase_engines_train_alike(ngspice, tmp_path):
    """The same run with every phase a cold .op and with warm-started sweeps: the same curves,
    the same devices to Newton's rounding, each epoch's training points in one sweep deck."""
    runs = {}
    for batching in ("per-phase", "sweep"):
        data = _config(**SMALL)
        data["train"]["batching"] = batching
        trainer = Trainer(parse(data), tmp_path / batching)
        runs[batching] = (trainer.run(), trainer.states)
    (cold, cold_states), (warm, warm_states) = runs["per-phase"], runs["sweep"]
    for rc, rw in zip(cold, warm):
        assert rw["test_accuracy"] == rc["test_accuracy"]
        assert rw["train_loss"] == pytest.approx(rc["train_loss"], rel=1e-9)
        assert rw["ngspice_analyses"] == rc["ngspice_analyses"] == (60 * 3 + 60)  # train phases + test images
        assert rw["ngspice_max_twin_diff_mv"] <= 1e-3
        assert rw["ngspice_chunks"] == 2 and rw["ngspice_sweep_fallbacks"] == 0  # training deck + test deck
    for name in cold_states.states:
        assert np.max(np.abs(cold_states[name] - warm_states[name])) <= 1e-9, name


# ---------------------------------------------------------------------------------------------
# b. learning is real
# ---------------------------------------------------------------------------------------------

def _initial_accuracy(cfg, trainer: Trainer) -> float:
    engine = BehavioralEngine(trainer.network)
    engine.program(initial_states(cfg, trainer.network))
    return evaluate(engine, trainer.network, trainer.splits.test)["accuracy"]


@pytest.mark.slow
def test_behavioral_digits_learns(tmp_path):
    cfg = parse({"train": {"backend": "behavioral", "epochs": 3, "checkpoint_every": 10**6}})
    trainer = Trainer(cfg, tmp_path / "run")
    assert len(trainer.splits.test.y) == 359  # the full digits test split, default network
    before = _initial_accuracy(cfg, trainer)
    rows = trainer.run()
    losses = [r["train_loss"] for r in rows]
    assert len(rows) == 3
    assert all(a > b for a, b in zip(losses, losses[1:])), losses
    assert rows[-1]["test_accuracy"] > 0.85, rows
    assert before < 0.3  # it did not start out knowing digits


def test_zero_learning_rate_control_does_not_learn(tmp_path):
    cfg = parse({"train": {"backend": "behavioral", "epochs": 2, "lr": [0.0], "checkpoint_every": 10**6}})
    trainer = Trainer(cfg, tmp_path / "run")
    before = _initial_accuracy(cfg, trainer)
    rows = trainer.run()
    for r in rows:
        assert r["test_accuracy"] <= before
        assert r["train_loss"] == pytest.approx(rows[0]["train_loss"], rel=1e-9)
    assert rows[-1]["test_accuracy"] < 0.3


# ---------------------------------------------------------------------------------------------
# c. the EP update is minus the gradient of the cost at the free equilibrium
# ---------------------------------------------------------------------------------------------

def _cost(net, states, x, y) -> float:
    eq = BehavioralNetwork(net, states).equilibrium(x, tol=1e-13)
    assert eq.residual < 1e-11
    return float(np.mean(0.5 * np.sum((eq.v[:, net.output_slice()] - y) ** 2, axis=1)))


def _weights(net, states, name: str) -> np.ndarray:
    g = net.device.conductance(states[name])
    return net.neuron.r_f * (g[0] - g[1])


def _finite_difference(net, states, x, y, h: float = 1e-4) -> dict[str, np.ndarray]:
    dev, rf = net.device, net.neuron.r_f
    grads = {}
    for bar in net.crossbars:
        if bar.tied_to is not None:
            continue
        grad = np.zeros((bar.rows, bar.cols))
        for i in range(bar.rows):
            for j in range(bar.cols):
                costs, ws = [], []
                for sign in (+1, -1):
                    s = states.copy()
                    g = dev.conductance(s[bar.name][:, i, j])
                    s.states[bar.name][:, i, j] = dev.state_for(g + sign * np.array([1, -1]) * h / (2 * rf))
                    s = tie(net, s)  # the feedback devices follow their primary
                    for tied in net.crossbars:
                        if tied.tied_to == bar.name:
                            assert np.array_equal(_weights(net, s, tied.name), _weights(net, s, bar.name).T)
                    costs.append(_cost(net, s, x, y))
                    ws.append(_weights(net, s, bar.name)[i, j])
                assert ws[0] - ws[1] == pytest.approx(2 * h, rel=1e-6)
                grad[i, j] = (costs[0] - costs[1]) / (ws[0] - ws[1])
        grads[bar.name] = grad
    return grads


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("activation", ["smooth", "hard"])
@pytest.mark.parametrize("seed", [0, 1])
def test_ep_update_is_the_true_gradient(activation, seed):
    net = layered_network(Neuron(activation=activation), DEVICE_MODELS["vteam"], (6, 5, 3))
    states = glorot_states(net, seed, gain=0.5)
    rng = np.random.default_rng(100 + seed)
    x = rng.uniform(0.0, 1.0, (12, 6))
    y = one_hot(rng.integers(0, 3, 12), 3, 0.0, 1.0)
    engine = BehavioralEngine(net)
    engine.program(states)
    if activation == "hard":
        # keep the samples whose units all sit clear of the hard sigmoid's kinks (the FD step and
        # the small nudges move u by ~1e-4), and check enough units are live between the rails
        u = engine.twin.equilibrium(x, tol=1e-13).u
        clear = np.all(np.minimum(np.abs(u - 0.0), np.abs(u - 1.0)) > 5e-3, axis=1)
        x, y, u = x[clear], y[clear], u[clear]
        assert len(x) >= 6
        assert np.mean((u > 0) & (u < 1)) > 0.3
    grads = _finite_difference(net, states, x, y)
    rates = layer_rates(net, (1.0,))
    beta = 1e-3
    symmetric = ep_update(net, engine.phases(x, y, [0.0, beta, -beta]), rates)
    one_sided = ep_update(net, engine.phases(x, y, [0.0, beta]), rates)
    assert set(symmetric) == set(grads) == {"l1_x", "l2_l1", "l1_b", "l2_b"}
    for name, grad in grads.items():
        assert np.linalg.norm(grad) > 1e-6, name
        assert _cosine(symmetric[name], -grad) >= 0.99, name
        assert np.linalg.norm(symmetric[name] + grad) <= 0.02 * np.linalg.norm(grad), name
        assert _cosine(one_sided[name], -grad) >= 0.99, name


# ---------------------------------------------------------------------------------------------
# d. a killed run resumes to exactly what the uninterrupted run does
# ---------------------------------------------------------------------------------------------

RESUME = _config(data={"train_size": 400}, train={"epochs": 3, "checkpoint_every": 3, "batch_size": 10})


def _wait_for_mid_epoch_checkpoint(proc: subprocess.Popen, path: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run finished (exit {proc.returncode}) before a mid-epoch checkpoint was seen")
        try:
            _, meta = rundir.load_checkpoint(path)
        except ConfigError:  # not there yet, or caught mid-replace
            meta = None
        if meta and meta["epoch"] >= 1 and meta["batch"] > 0:
            return meta
        time.sleep(0.003)
    pytest.fail("no mid-epoch checkpoint within the timeout")


def _is_wall_clock(key: str) -> bool:
    """Timings (seconds, train_seconds, ngspice_*_seconds) differ between runs, and so do the twin's
    counters of the work one process did (a resumed epoch counts from its checkpoint); everything
    else must not."""
    return key.endswith("seconds") or key.startswith("twin_")


def _rows_without_seconds(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if not _is_wall_clock(k)} for r in rundir.read_metrics(run / rundir.METRICS)]


@pytest.mark.slow
def test_resume_after_sigkill_is_bit_identical(tmp_path):
    config = _toml(tmp_path / "c.toml", RESUME)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    args = ["--backend", "behavioral", "--quiet", "--no-plots"]
    proc = subprocess.Popen(_cmd("train", str(config), "--out", str(killed), *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen = _wait_for_mid_epoch_checkpoint(proc, killed / rundir.CHECKPOINT)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    _, meta = rundir.load_checkpoint(killed / rundir.CHECKPOINT)
    assert (meta["epoch"], meta["batch"]) >= (seen["epoch"], seen["batch"])
    assert meta["epoch"] < 3  # it really was interrupted
    partial = rundir.read_metrics(killed / rundir.METRICS)
    assert len(partial) >= 1

    done = subprocess.run(_cmd("train", "--out", str(killed), "--resume", "--quiet", "--no-plots"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ref = subprocess.run(_cmd("train", str(config), "--out", str(clean), *args),
                         capture_output=True, text=True, timeout=120)
    assert ref.returncode == 0, ref.stderr

    arrays_k, meta_k = rundir.load_checkpoint(killed / rundir.CHECKPOINT)
    arrays_c, meta_c = rundir.load_checkpoint(clean / rundir.CHECKPOINT)
    assert set(arrays_k) == set(arrays_c)
    assert any(k.startswith("state__") for k in arrays_c)
    # the default run has momentum: its velocity came back from the checkpoint the kill left
    assert np.any(arrays_c["velocity__l1_x"] != 0) and parse(RESUME).train.momentum > 0
    for key in arrays_c:
        assert np.array_equal(arrays_k[key], arrays_c[key]), key
    assert (meta_k["epoch"], meta_k["batch"]) == (meta_c["epoch"], meta_c["batch"]) == (3, 0)
    # the devices really moved away from the initial programming
    cfg = parse(RESUME)
    init = initial_states(cfg, build_network(cfg))
    assert not np.array_equal(arrays_c["state__l1_x"], init["l1_x"])

    rows_k, rows_c = _rows_without_seconds(killed), _rows_without_seconds(clean)
    assert [r["epoch"] for r in rows_c] == [1, 2, 3]
    assert [r["epoch"] for r in rows_k] == [1, 2, 3]
    for rk, rc in zip(rows_k, rows_c):
        assert rk.keys() == rc.keys()
        for key in rc:
            assert _same(rk[key], rc[key]), (rk["epoch"], key, rk[key], rc[key])
    # the report printed after resuming lists every epoch, as the uninterrupted run does, and picks
    # the same best-validation epoch
    epochs = [[ln for ln in out.stdout.splitlines() if ln.startswith("epoch ")] for out in (done, ref)]
    assert len(epochs[0]) == len(epochs[1]) == 3
    best = [[ln for ln in out.stdout.splitlines() if ln.startswith("best validation: epoch ")] for out in (done, ref)]
    assert len(best[0]) == 1 and best[0] == best[1]


def test_resume_in_process_from_every_kind_of_checkpoint(tmp_path):
    """Resume from a mid-epoch and from an epoch-end checkpoint (cheap, in-process twin of the kill test)."""
    data = _config(data={"train_size": 120, "validation": 0.05},
                   train={"backend": "behavioral", "epochs": 2, "checkpoint_every": 5})
    cfg = parse(data)
    reference = Trainer(cfg, tmp_path / "ref").run()
    ref_arrays, _ = rundir.load_checkpoint(tmp_path / "ref" / rundir.CHECKPOINT)
    assert cfg.train.momentum > 0 and np.any(ref_arrays["velocity__l2_l1"] != 0)  # the velocity is compared too

    class Stop(Exception):
        pass

    # the initial checkpoint, a mid-epoch one, an epoch-end one and a mid-epoch one in epoch 2
    for stop_epoch, stop_batch in ((0, 0), (0, 5), (1, 0), (1, 10)):
        run = tmp_path / f"stop_{stop_epoch}_{stop_batch}"
        trainer = Trainer(cfg, run)
        original = trainer._save

        def save_then_stop(states, prog, original=original, stop=(stop_epoch, stop_batch)):
            original(states, prog)
            if (prog.epoch, prog.batch) == stop:
                raise Stop

        trainer._save = save_then_stop
        with pytest.raises(Stop):
            trainer.run()
        _, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
        assert (meta["epoch"], meta["batch"]) == (stop_epoch, stop_batch)
        assert len(rundir.read_metrics(run / rundir.METRICS)) == stop_epoch
        rows = Trainer(cfg, run).run(resume=True)
        arrays, _ = rundir.load_checkpoint(run / rundir.CHECKPOINT)
        for key in ref_arrays:
            assert np.array_equal(arrays[key], ref_arrays[key]), (stop_epoch, stop_batch, key)
        assert len(rows) == len(reference) == 2
        for a, b in zip(rows, reference):
            assert all(_same(a[k], b[k]) for k in b if not _is_wall_clock(k)), (stop_epoch, stop_batch)
        assert [r["epoch"] for r in rundir.read_metrics(run / rundir.METRICS)] == [1, 2]


# ---------------------------------------------------------------------------------------------
# e. corrupted checkpoints and existing runs
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("finished") / "run"
    cfg = parse(_config(network={"layers": [64, 16, 10]}, data={"train_size": 100, "test_size": 60},
                        train={"backend": "behavioral", "epochs": 1, "checkpoint_every": 10**6}))
    Trainer(cfg, run).run()
    return run


def _snapshot(run: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run.iterdir())}


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_checkpoint_is_a_clear_error(finished_run, tmp_path, damage):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    path = run / rundir.CHECKPOINT
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        mid = len(raw) // 2
        raw[mid:mid + 8] = bytes(b ^ 0x5A for b in raw[mid:mid + 8])
    else:
        raw = raw[:len(raw) // 2]
    path.write_bytes(bytes(raw))
    result = subprocess.run(_cmd("train", "--out", str(run), "--resume", "--quiet", "--no-plots"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "memprop: error:" in result.stderr
    assert "checkpoint" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert path.read_bytes() == bytes(raw)  # the damaged file is left for inspection


@pytest.mark.slow
def test_every_single_byte_corruption_is_caught_or_harmless(tmp_path):
    """Flip each byte of a checkpoint in turn: it loads unchanged (zip metadata) or is a ConfigError."""
    path = tmp_path / rundir.CHECKPOINT
    arrays = {"state__a": np.random.default_rng(0).random((2, 4, 3)), "fidelity": np.arange(8.0)}
    meta = {"epoch": 1, "batch": 2, "loss_sum": 0.5}
    rundir.save_checkpoint(path, arrays, meta)
    raw = path.read_bytes()
    escaped = []
    for pos in range(len(raw)):
        for mask in (0xFF, 0x01, 0x40):
            bad = bytearray(raw)
            bad[pos] ^= mask
            path.write_bytes(bytes(bad))
            try:
                got, got_meta = rundir.load_checkpoint(path)
            except ConfigError as err:
                assert "checkpoint" in str(err)
                continue
            except Exception as err:  # noqa: BLE001 - that is what this test looks for
                escaped.append((pos, mask, type(err).__name__, str(err)[:60]))
                continue
            assert got_meta == meta
            assert got.keys() == arrays.keys()
            assert all(np.array_equal(got[k], arrays[k]) and got[k].dtype == arrays[k].dtype for k in arrays)
    assert not escaped, escaped[:10]
    for cut in range(len(raw)):
        path.write_bytes(raw[:cut])
        with pytest.raises(ConfigError, match="checkpoint"):
            rundir.load_checkpoint(path)


def test_train_into_an_existing_run_refuses_and_touches_nothing(finished_run, tmp_path):
    config = _toml(tmp_path / "c.toml", _config(network={"layers": [64, 16, 10]}))
    before = _snapshot(finished_run)
    result = CliRunner().invoke(main, ["train", str(config), "--out", str(finished_run), "--backend", "behavioral",
                                       "--quiet", "--no-plots"])
    assert result.exit_code == 2
    assert "memprop: error:" in result.output and "--resume" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _snapshot(finished_run) == before


# ---------------------------------------------------------------------------------------------
# f. pulse-programmed updates
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_pulse_mode_trains_with_faithful_updates(tmp_path):
    cfg = parse(_config(data={"train_size": 300},
                        train={"backend": "behavioral", "epochs": 2, "update": "pulse", "checkpoint_every": 10**6}))
    trainer = Trainer(cfg, tmp_path / "run")
    before = _initial_accuracy(cfg, trainer)
    rows = trainer.run()
    assert len(rows) == 2
    for r in rows:
        assert r["update"] == "pulse"
        assert 0.5 < r["update_correlation"] < 1.0, r
        assert r["pulses"] > 0
        assert r["update_rms_error"] > 0  # pulses are not ideal writes
    assert rows[-1]["test_accuracy"] > before + 0.1, (before, rows)
    states = trainer.states
    dev = trainer.network.device
    for name, x in states.items():
        assert np.all((x >= dev.x_lo) & (x <= dev.x_hi)), name


@pytest.mark.parametrize("model", sorted(DEVICE_MODELS))
def test_pulse_update_fidelity_for_every_device_model(model):
    dev = DEVICE_MODELS[model]
    net = layered_network(Neuron(), dev, (6, 5, 3))
    states = glorot_states(net, 0, gain=0.5)
    scheme = PulseScheme().resolved(dev)
    span = dev.g_max - dev.g_min
    rng = np.random.default_rng(1)
    dw = {b.name: rng.normal(0.0, 0.02 * span * 2 * net.neuron.r_f, (b.rows, b.cols))
          for b in net.crossbars if b.tied_to is None}
    dw["l1_b"][:] = 0.0  # a crossbar with nothing to do
    dw = with_ties(net, dw)
    fidelity = Fidelity()
    new = apply_update(net, states, dw, "pulse", scheme, fidelity)
    summary = fidelity.summary()
    assert summary["update_correlation"] > 0.5, summary
    assert summary["pulses"] > 0
    g0, g1 = conductances(net, states), conductances(net, new)
    scale = 1.0 / (2 * net.neuron.r_f)
    for bar in net.crossbars:
        dg = g1[bar.name] - g0[bar.name]
        wanted = np.stack([dw[bar.name], -dw[bar.name]]) * scale
        assert np.all(np.abs(dg) <= span * (1 + 1e-9)), bar.name
        assert np.all((g1[bar.name] >= dev.g_min * (1 - 1e-9)) & (g1[bar.name] <= dev.g_max * (1 + 1e-9)))
        # a pulse moves toward the wanted side, never the other way
        assert np.all(dg * wanted >= -1e-30), bar.name
    assert np.array_equal(new["l1_b"], states["l1_b"])
    # tied crossbars were written the same as their primary
    for bar in net.crossbars:
        if bar.tied_to is not None:
            assert np.array_equal(new[bar.name], np.swapaxes(new[bar.tied_to], 1, 2))
    # the ideal write of the same change is exact where it stays within the range
    ideal = Fidelity()
    apply_update(net, states, dw, "ideal", None, ideal)
    assert ideal.summary()["update_correlation"] > 0.99


# ---------------------------------------------------------------------------------------------
# g. memprop eval
# ---------------------------------------------------------------------------------------------

def test_eval_json_reproduces_the_last_metrics_row(ngspice, tmp_path):
    config = _toml(tmp_path / "c.toml", _config(network={"layers": [64, 16, 10]},
                                                data={"train_size": 150, "test_size": 60, "validation": 0.05},
                                                train={"epochs": 2}))
    run = tmp_path / "run"
    trained = CliRunner().invoke(main, ["train", str(config), "--out", str(run), "--backend", "behavioral",
                                        "--quiet", "--no-plots"])
    assert trained.exit_code == 0, trained.output
    assert "epoch   2:" in trained.output
    last = rundir.read_metrics(run / rundir.METRICS)[-1]
    result = CliRunner().invoke(main, ["eval", str(run), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["backend"] == "behavioral"
    assert payload["epochs_done"] == 2
    assert payload["test_size"] == 60
    assert payload["test_accuracy"] == last["test_accuracy"]
    assert payload["test_loss"] == pytest.approx(last["test_loss"], rel=1e-12)
    assert payload["validation_accuracy"] == last["validation_accuracy"]
    # the same devices in ngspice: the same accuracy to within one image
    spice = CliRunner().invoke(main, ["eval", str(run), "--json", "--backend", "ngspice"])
    assert spice.exit_code == 0, spice.output
    payload = json.loads(spice.output)
    assert payload["backend"] == "ngspice"
    assert abs(payload["test_accuracy"] - last["test_accuracy"]) * 60 <= 1 + 1e-9
    # load_run gives the same states the checkpoint holds
    cfg, states, meta = load_run(run)
    assert meta["epoch"] == 2 and cfg.train.backend == "behavioral"
    arrays, _ = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    assert {f"state__{k}" for k, _ in states.items()} == {k for k in arrays if k.startswith("state__")}
    for name, x in states.items():
        assert np.array_equal(x, arrays[f"state__{name}"])


def test_eval_of_a_missing_run_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "nope"), "--json"])
    assert result.exit_code == 2
    assert "memprop: error:" in result.output and "no such run directory" in result.output


# ---------------------------------------------------------------------------------------------
# h. artifacts: plots, the tran waveform, and the trained deck
# ---------------------------------------------------------------------------------------------

def test_write_artifacts_plots_and_deck_runs_in_ngspice(ngspice, tmp_path):
    from memprop.cosim.engines.transient import transient_phases

    cfg = parse(_config(network={"layers": [64, 16, 10]}, data={"train_size": 60, "test_size": 20},
                        train={"backend": "behavioral", "epochs": 2, "checkpoint_every": 10**6}))
    run = tmp_path / "run"
    trainer = Trainer(cfg, run)
    rows = trainer.run()
    written = write_artifacts(cfg, run, trainer.network, trainer.states, rows, trainer.splits, waveform=True)
    names = {p.name for p in written}
    assert names == {"network.cir", "learning_curves.png", "conductance_hist.png", "conductance_maps.png",
                     "waveforms.png"}
    for p in written:
        assert p.parent == run and p.is_file()
        if p.suffix == ".png":
            data = p.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, p.name
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # no temporary files left

    # the trained deck runs as-is in batch ngspice and holds the trained network
    deck = run / rundir.DECK
    result = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    printed = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("_v") and parts[0].startswith("l"):
            printed[parts[0]] = float(parts[1])
    net, states = trainer.network, trainer.states
    x = trainer.splits.test.x[:1]
    free = BehavioralNetwork(net, states).equilibrium(x).v[0]
    lines = [f"l{k}_{i:03d}_v" for k, g in enumerate(net.neuron_groups, start=1) for i in range(g.size)]
    assert set(lines) <= set(printed)
    assert np.max(np.abs(np.array([printed[n] for n in lines]) - free)) <= 1 * MV

    # the waveform: consecutive transients that end at the twin's equilibria of each phase
    y = one_hot(trainer.splits.test.y[:1], 10, 0.0, 1.0)
    betas = [0.0, cfg.train.beta, -cfg.train.beta]
    wave = transient_phases(net, states, x[0], y[0], betas, 10 * net.neuron.tau)
    assert wave.v.shape == (len(wave.t), net.n_neurons)
    assert np.all(np.diff(wave.t) > 0)
    twin = BehavioralNetwork(net, states)
    free_eq = twin.equilibrium(x)
    ends = []
    for p, beta in enumerate(betas):
        v = wave.v[wave.phase == p]
        eq = twin.equilibrium(x, y, beta, u0=free_eq.u)
        assert np.max(np.abs(v[-1] - eq.v[0])) <= 1 * MV, beta
        if p:
            assert np.max(np.abs(v[0] - ends[-1])) <= 2 * MV  # continues where the last phase ended
        ends.append(v[-1])
    assert np.max(np.abs(wave.v[wave.phase == 0][0])) <= 5 * MV  # the free phase starts from rest
    assert np.max(np.abs(ends[1] - ends[2])) > 10 * MV  # the nudges visibly pull the outputs


# ---------------------------------------------------------------------------------------------
# h. the epoch to report is chosen on the validation split
# ---------------------------------------------------------------------------------------------

def test_best_validation_is_the_earliest_highest_validation_epoch_with_its_test_accuracy():
    from memprop.cosim.runs.trainer import best_validation

    rows = [{"epoch": 1, "validation_accuracy": 0.8, "test_accuracy": 0.7},
            {"epoch": 2, "validation_accuracy": 0.9, "test_accuracy": 0.85},
            {"epoch": 3, "validation_accuracy": 0.9, "test_accuracy": 0.95},
            {"epoch": 4, "validation_accuracy": 0.85, "test_accuracy": 0.99}]
    assert best_validation(rows) == {"epoch": 2, "validation_accuracy": 0.9, "test_accuracy": 0.85}
    assert best_validation([{**r, "validation_accuracy": float("nan")} for r in rows]) is None
    assert best_validation([]) is None


def test_train_and_eval_print_the_best_validation_epoch(tmp_path):
    config = _toml(tmp_path / "c.toml", _config(network={"layers": [64, 6, 10]},
                                                data={"train_size": 100, "test_size": 40, "validation": 0.2},
                                                train={"epochs": 3}))
    run = tmp_path / "run"
    trained = CliRunner().invoke(main, ["train", str(config), "--out", str(run), "--backend", "behavioral",
                                        "--quiet", "--no-plots"])
    assert trained.exit_code == 0, trained.output
    rows = rundir.read_metrics(run / rundir.METRICS)
    best = max(rows, key=lambda r: (r["validation_accuracy"], -r["epoch"]))
    line = (f"best validation: epoch {best['epoch']} ({100 * best['validation_accuracy']:.2f} %), "
            f"its test accuracy {100 * best['test_accuracy']:.2f} %")
    assert trained.output.splitlines()[-1] == line
    shown = CliRunner().invoke(main, ["eval", str(run), "--json"])
    assert json.loads(shown.output)["best_validation"]["epoch"] == best["epoch"]
    assert CliRunner().invoke(main, ["eval", str(run)]).output.splitlines()[-1] == "best validation in the metrics: " \
        + line[len("best validation: "):]
