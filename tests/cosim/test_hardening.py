"""Simulator failures and crashes: the retry ladder, killed and hung ngspice workers, resumable runs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.runs import rundir
from memprop.cosim.config.config import parse
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.engines.parallel import ParallelEngine
from memprop.cosim.runs.trainer import Trainer


def test_retry_ladder_recovers_real_nonconvergence(ngspice, caplog):
    """This network makes plain .op fail (source stepping fails) on some inputs; the ladder recovers."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (8, 4, 2))
    states = glorot_states(net, 0)
    x = np.random.default_rng(0).uniform(0, 1, (40, 8))
    engine = NgspiceEngine(net)
    engine.program(states)
    twin = BehavioralEngine(net)
    twin.program(states)
    with caplog.at_level(logging.WARNING, logger="memprop.engine"):
        got = engine.phases(x, None, [0.0])[0].v
    engine.close()
    assert engine.stats["op_failures"] >= 1 and engine.stats["restarts"] >= engine.stats["op_failures"]
    assert "sample 15 of the batch, free phase: .op failed" in caplog.text
    assert np.max(np.abs(got - twin.phases(x, None, [0.0])[0].v)) < 1e-3


def _small():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(net, 1, gain=0.5)
    rng = np.random.default_rng(1)
    return net, states, rng.uniform(0, 1, (6, 16)), np.eye(4)[rng.integers(0, 4, 6)]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["killed", "hung"])
def test_dead_or_hung_worker_is_replaced_and_the_batch_retried(how):
    net, states, x, y = _small()
    serial = NgspiceEngine(net)
    serial.program(states)
    expected = serial.phases(x, y, [0.0, 0.3])
    serial.close()
    engine = ParallelEngine(net, workers=1, timeout=8.0 if how == "hung" else 120.0)
    try:
        engine.program(states)
        engine.phases(x, y, [0.0, 0.3])
        (pid,) = engine.worker_pids
        os.kill(pid, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        got = engine.phases(x, y, [0.0, 0.3])
        assert engine.stats["worker_restarts"] == 1
        assert engine.worker_pids - {pid}  # a new worker answered
        # the worker solves the batch as one warm-started sweep, the reference as cold .ops: the
        # same equilibria to Newton's rounding
        for a, b in zip(got, expected):
            assert np.max(np.abs(a.v - b.v)) <= 1e-12
    finally:
        if how == "hung":
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        engine.close()


RUN = """
[network]
layers = [64, 16, 10]
[data]
train_size = 60
test_size = 20
validation = 0.0
[train]
epochs = 1
batch_size = 10
checkpoint_every = 1000
isolate = {isolate}
"""


@pytest.mark.slow
def test_training_goes_on_when_its_ngspice_worker_is_killed(tmp_path):
    serial = Trainer(parse(tomllib.loads(RUN.format(isolate="false"))), tmp_path / "serial")
    serial.run()
    trainer = Trainer(parse(tomllib.loads(RUN.format(isolate="true"))), tmp_path / "isolated")
    killed = []

    def killer() -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            engine = trainer.engine
            pids = getattr(engine, "worker_pids", set()) if engine is not None else set()
            if pids:
                pid = next(iter(pids))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    rows = trainer.run()
    thread.join()
    assert killed, "the worker was never seen"
    assert rows[-1]["ngspice_worker_restarts"] >= 1  # the retry is counted in metrics.jsonl
    # the replacement worker loads its deck at the current states, so ngspice factorises with another
    # pivot order: the retried batch agrees to rounding, not bit for bit
    for name in serial.states.states:
        assert np.max(np.abs(serial.states[name] - trainer.states[name])) < 1e-12


def _worker_children(pid: int) -> list[int]:
    """The spawned multiprocessing workers among the children of process `pid` (from /proc)."""
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return []
    out = []
    for child in map(int, children):
        try:
            cmdline = open(f"/proc/{child}/cmdline", "rb").read()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            out.append(child)
    return out


def _freeze_workers_of(proc: subprocess.Popen) -> None:
    """Stop (SIGSTOP) every worker the process starts, until it ends: a real hang, on any machine."""
    while proc.poll() is None:
        for child in _worker_children(proc.pid):
            try:
                os.kill(child, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


@pytest.mark.slow
def test_a_batch_that_keeps_failing_ends_with_a_clear_error_and_resumes(tmp_path):
    """Workers that never answer in time: the run stops cleanly at that batch, then --resume finishes."""
    cfg = tmp_path / "c.toml"
    # every worker is frozen as soon as it starts, so every attempt at the first batch times out
    cfg.write_text(RUN.format(isolate="true") + "worker_timeout = 2.0\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "memprop.cosim.cli", "train", str(cfg), "--out", str(out), "--quiet", "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    freezer = threading.Thread(target=_freeze_workers_of, args=(proc,))
    freezer.start()
    stdout, stderr = proc.communicate(timeout=600)
    freezer.join()
    assert proc.returncode == 3, stdout + stderr
    assert "memprop: error:" in stderr and "epoch 1, batch 1" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    _, meta = rundir.load_checkpoint(out / rundir.CHECKPOINT)
    assert (meta["epoch"], meta["batch"]) == (0, 0)
    text = (out / rundir.CONFIG).read_text().replace("worker_timeout = 2.0", "worker_timeout = 600.0")
    (out / rundir.CONFIG).write_text(text)
    resumed = subprocess.run([sys.executable, "-m", "memprop.cosim.cli", "train", "--out", str(out), "--resume",
                              "--quiet", "--no-plots"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = rundir.read_metrics(out / rundir.METRICS)
    assert [r["epoch"] for r in rows] == [1]
