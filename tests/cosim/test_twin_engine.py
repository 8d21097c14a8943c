"""The twin as a training engine: writes that reprogram it in place, Anderson-accelerated sweeps,
convergence failures counted. Each fast path is checked against the plain computation it replaces."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS, VTEAM
from memprop.circuits.network import conductances_of, glorot_states, layered_network, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.crossbar import linear_operator_parts
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.engines.fixedpoint import iterate
from memprop.cosim.programming.writes import Fidelity, apply_update
from memprop.cosim.learning.estimators import ep_update, layer_rates, with_ties

NETWORKS = {
    "layered": lambda dev: layered_network(Neuron(), dev, (12, 8, 3)),
    "deep": lambda dev: layered_network(Neuron(), dev, (12, 8, 6, 3)),
    "recurrent": lambda dev: recurrent_network(Neuron(), dev, 10, 6, 3),
    "wired": lambda dev: layered_network(Neuron(), dev, (6, 4, 2), wire_resistance=5.0),
    "macromodel": lambda dev: layered_network(Neuron(level="macromodel"), dev, (12, 8, 3)),
    "smooth": lambda dev: layered_network(Neuron(activation="smooth"), dev, (12, 8, 3)),
}


def _batch(net, seed: int, size: int = 6):
    rng = np.random.default_rng(seed)
    n_out = net.group(net.output_group).size
    return rng.uniform(0, 1, (size, net.n_inputs)), np.eye(n_out)[rng.integers(0, n_out, size)]


def _write(net, states, seed: int):
    """One EP write of a random batch, as the trainer does it."""
    x, y = _batch(net, seed)
    engine = BehavioralEngine(net)
    engine.program(states)
    dw = with_ties(net, ep_update(net, engine.phases(x, y, [0.0, 0.3, -0.3]), layer_rates(net, (0.5, 0.2))))
    return apply_update(net, states, dw, "ideal", None, Fidelity())


@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_reprogrammed_twin_equals_a_fresh_build_exactly(kind, device):
    """Three writes, the twin reprogrammed in place after each: its operators are bit for bit
    those of a twin built from scratch from the same states (for every device model: nonlinear
    reads rebuild, linear ones overwrite only the blocks of changed crossbars)."""
    net = NETWORKS[kind](DEVICE_MODELS[device])
    states = glorot_states(net, 3, gain=0.5)
    twin = BehavioralNetwork(net, states)
    for k in range(3):
        states = _write(net, states, k)
        twin.reprogram(states)
        fresh = BehavioralNetwork(net, states)
        assert np.array_equal(twin.A, fresh.A) and np.array_equal(twin.B, fresh.B), k
        x, _ = _batch(net, 10 + k)
        assert np.array_equal(twin.equilibrium(x).v, fresh.equilibrium(x).v)


def test_remembered_reads_are_frozen_and_follow_the_state_array():
    """A write remembers what the new states read as; the arrays are read-only, and a states
    object whose array was replaced no longer claims the old read."""
    net = NETWORKS["layered"](DEVICE_MODELS["vteam"])
    states = _write(net, glorot_states(net, 1, gain=0.5), 0)
    name = net.crossbars[0].name
    read = states.known_read(name)
    assert read is not None and np.array_equal(read, net.effective_read(name, states[name]))
    with pytest.raises(ValueError):
        states[name][0, 0, 0] = 0.5
    other = states.copy()
    assert other.known_read(name) is None
    other.states[name] = other.states[name].copy()
    assert other.known_read(name) is None


def test_writes_equal_the_plain_device_equations():
    """apply_update's shortcuts (remembered reads, no mask where every crosspoint has a pair)
    give the states the device model's own state_for(clip(G + dG)) gives."""
    net = NETWORKS["layered"](DEVICE_MODELS["vteam"])
    dev = net.device
    states = _write(net, glorot_states(net, 2, gain=0.5), 0)   # with remembered reads
    dw = {bar.name: np.full((bar.rows, bar.cols), 0.01) for bar in net.crossbars}
    new = apply_update(net, states, dw, "ideal", None, Fidelity())
    scale = 1.0 / (2.0 * net.neuron.r_f)
    for bar in net.crossbars:
        g = dev.conductance(states[bar.name].copy())
        step = np.full((bar.rows, bar.cols), 0.01 * scale)
        want = dev.state_for(np.clip(g + np.stack([step, -step]), dev.g_min, dev.g_max))
        assert np.array_equal(new[bar.name], want), bar.name


# ---- Anderson-accelerated sweeps ----

def test_anderson_finds_the_plain_iterations_fixed_point_in_fewer_steps():
    """A slowly contracting affine map per row (spectral radius 0.95): the same fixed point to the
    tolerance, in a fraction of the steps; with memory 0 it is the plain iteration."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    m = q @ np.diag(np.linspace(-0.95, 0.95, 8)) @ q.T
    c = rng.normal(size=(5, 8))
    exact = np.linalg.solve(np.eye(8) - m, c.T).T

    def g(u):
        return u @ m.T + c
    plain = iterate(g, np.zeros((5, 8)), 1e-10, 5000, memory=0)
    fast = iterate(g, np.zeros((5, 8)), 1e-10, 5000, memory=3, start=np.inf)
    assert plain.converged(1e-10) and fast.converged(1e-10)
    assert np.max(np.abs(plain.u - exact)) < 1e-8 and np.max(np.abs(fast.u - exact)) < 1e-8
    assert fast.sweeps * 5 < plain.sweeps


def test_carried_columns_as_a_slice_give_the_index_arrays_bits():
    """A sweep that reads only some columns (the carried ones) extrapolates only those: given as a
    slice (views, the twin's one output layer) or as indices (gathers), every bit is the same."""
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    m = q @ np.diag(np.linspace(-0.9, 0.9, 12)) @ q.T
    m[:, :8] = 0.0  # the map reads only the last four columns
    c = rng.normal(size=(20, 12))

    def g(u):
        return u @ m.T + c
    for sweeps in (3, 4, 8):  # a few steps, where the rounding of each still shows
        as_slice = iterate(g, np.zeros((20, 12)), 0.0, sweeps, memory=3, carried=slice(8, 12), start=np.inf)
        as_index = iterate(g, np.zeros((20, 12)), 0.0, sweeps, memory=3, carried=np.arange(8, 12), start=np.inf)
        assert as_slice.sweeps == as_index.sweeps == sweeps
        assert np.array_equal(as_slice.u, as_index.u)


def test_an_iteration_that_does_not_converge_says_so():
    def g(u):
        return -1.01 * u + 1.0  # diverges slowly for the plain iteration
    done = iterate(g, np.zeros((2, 3)), 1e-12, 40, memory=0)
    assert done.sweeps == 40 and not done.converged(1e-12)


@pytest.mark.parametrize("layers,gain,seed", [((784, 100, 10), 1.0, 2), ((64, 32, 10), 1.0, 1),
                                             ((30, 20, 16, 10), 0.5, 4), ((30, 20, 16, 10), 1.0, 5),
                                             ((100, 50, 50, 10), 1.0, 3)])
def test_accelerated_sweeps_settle_where_the_plain_sweeps_do(layers, gain, seed):
    """Free and -beta phases (where plain block sweeps crawl) of two- to four-layer networks, some
    strongly coupled, with several equilibria per sample (unguarded Anderson lands in other ones
    in 5-18 of 50 samples here): every sample in the plain sweeps' equilibrium, in fewer sweeps."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
    states = glorot_states(net, seed, gain=gain)
    x, y = _batch(net, 5, size=50)
    runs = {}
    for memory in (0, 3):
        twin = BehavioralNetwork(net, states, memory=memory)
        free = twin.equilibrium(x, newton=False, tol=1e-9)
        runs[memory] = (free, twin.equilibrium(x, y, -0.5, u0=free.u, newton=False, tol=1e-9))
        assert twin.unconverged == 0
    for plain, fast in zip(*runs.values()):
        assert np.max(np.abs(plain.v - fast.v)) < 1e-7
    assert runs[3][0].iterations + runs[3][1].iterations < runs[0][0].iterations + runs[0][1].iterations


def test_engine_counts_settles_sweeps_and_unconverged_phases(caplog):
    """The behavioural engine reports its settles and sweeps, and every settle that stopped
    before converging (here: a sweep budget far too small), with a warning."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (64, 300, 10))  # > 200 neurons: no Newton
    engine = BehavioralEngine(net)
    engine.program(glorot_states(net, 1, gain=0.5))
    x, y = _batch(net, 2)
    engine.phases(x, y, [0.0, 0.3, -0.3])
    assert engine.stats["settles"] == 3 and engine.stats["sweeps"] >= 3 and engine.stats["unconverged"] == 0
    settle = engine.twin.equilibrium
    engine.twin.equilibrium = lambda *a, **k: settle(*a, **{**k, "max_relax": 2})
    engine.phases(x, y, [0.0, 0.3, -0.3])
    assert engine.stats["unconverged"] == 3
    assert "stopped before converging" in caplog.text


def test_training_metrics_carry_the_twin_counters(tmp_path):
    from memprop.cosim.config.config import Config
    from memprop.cosim.runs.trainer import Trainer

    cfg = Config()
    cfg = replace(cfg, data=replace(cfg.data, train_size=40, test_size=20),
                  train=replace(cfg.train, backend="behavioral", epochs=1))
    row = Trainer(cfg, tmp_path / "run").run()[-1]
    assert row["twin_settles"] == 3 * 4 + 2 and row["twin_unconverged"] == 0  # 4 batches x 3 phases + eval
    assert row["twin_sweeps"] >= row["twin_settles"]


# ---- float32 ----

@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_float32_twin_settles_where_the_float64_twin_does(kind, device):
    """Every test network and device model: free and nudged phases in single precision within
    0.1 mV of double precision, and handed on as float64 (nonlinear reads settle in float64, so
    there both are the same; a settle that does not converge is reported by both alike)."""
    net = NETWORKS[kind](DEVICE_MODELS[device])
    states = glorot_states(net, 3, gain=0.5)
    x, y = _batch(net, 8)
    got, failed = {}, {}
    for precision in ("float64", "float32"):
        engine = BehavioralEngine(net, precision=precision)
        engine.program(states)
        got[precision] = engine.phases(x, y, [0.0, 0.3, -0.3])
        failed[precision] = engine.stats["unconverged"]
    assert failed["float32"] == failed["float64"]
    assert failed["float64"] == 0 or not net.device.linear_read
    for a, b in zip(got["float64"], got["float32"]):
        assert b.v.dtype == np.float64 and b.sigma.dtype == np.float64
        assert np.max(np.abs(a.v - b.v)) < 1e-4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_smooth_outputs_nudged_solve_stops_within_its_precision(dtype, monkeypatch):
    """u + beta rho(u) = a + beta y, Newton per output neuron: solved to the precision's reach in
    a few steps (float32 once ran all 50 steps in every sweep, chasing a 1e-13 V it cannot hold)."""
    net = NETWORKS["smooth"](DEVICE_MODELS["vteam"])
    twin = BehavioralNetwork(net, glorot_states(net, 3, gain=0.5), dtype=dtype)
    rng = np.random.default_rng(5)
    a, y = (rng.uniform(-0.5, 1.5, (40, 3)).astype(dtype) for _ in range(2))
    calls = []
    rho = Neuron.rho
    monkeypatch.setattr(Neuron, "rho", lambda self, u: calls.append(1) or rho(self, u))
    u = twin._nudged_solve(a, y, 0.3, a.copy())
    assert u.dtype == dtype and len(calls) <= 8
    residual = u + 0.3 * rho(net.neuron, u) - (a + 0.3 * y)
    assert np.max(np.abs(residual)) <= 20 * np.finfo(dtype).eps


def test_float32_training_learns_as_float64_does(tmp_path):
    from memprop.cosim.config.config import Config
    from memprop.cosim.runs.trainer import Trainer

    cfg = Config()
    rows = {}
    for precision in ("float64", "float32"):
        c = replace(cfg, data=replace(cfg.data, train_size=800, test_size=200),
                    train=replace(cfg.train, backend="behavioral", epochs=1, precision=precision))
        rows[precision] = Trainer(c, tmp_path / precision).run()[-1]
    assert rows["float64"]["test_accuracy"] > 0.7
    assert abs(rows["float32"]["test_accuracy"] - rows["float64"]["test_accuracy"]) <= 0.02


def test_float32_outside_the_behavioral_backend_is_refused():
    from memprop.circuits.validation import ConfigError
    from memprop.cosim.config.config import TrainConfig

    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="float32")  # the ngspice backend
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="float16", backend="behavioral")
    assert TrainConfig(precision="float32", backend="behavioral").precision == "float32"


# ---- writes under way in a thread ----

@dataclasses.dataclass(frozen=True)
class Uncompiled(VTEAM):
    """VTEAM with its read restated: the same numbers, but not the compiled write's equations
    (programming/fused.covers), so its writes take numpy."""

    def conductance(self, x):
        return super().conductance(x)


@pytest.mark.parametrize("compiled", [True, False])
def test_a_pending_write_gives_apply_updates_states_and_fidelity_bit_for_bit(compiled):
    """start_update (targets now, states in a thread) against apply_update: the same states and
    fidelity sums; the targets the twin reads are the devices' reads to the rounding of state_for.
    Both for the compiled write and for numpy's (a model the compiled write does not cover)."""
    from concurrent.futures import ThreadPoolExecutor

    from memprop.cosim.programming.writes import plain_write, start_update

    from memprop.cosim.programming import fused

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"] if compiled else Uncompiled(), (200, 60, 10))
    assert fused.covers(net.device) == compiled
    states = _write(net, glorot_states(net, 2, gain=0.5), 0)
    rng = np.random.default_rng(3)
    dw = with_ties(net, {b.name: rng.normal(0, 0.05, (b.rows, b.cols)) for b in net.crossbars if b.tied_to is None})
    assert plain_write(net, dw, "ideal", None)
    sync, threaded = Fidelity(), Fidelity()
    want = apply_update(net, states, dw, "ideal", None, sync)
    with ThreadPoolExecutor(1) as pool:
        pending = start_update(net, states, dw, threaded, pool.submit)
        got = pending.states()
    assert list(got.states) == list(want.states)
    for name in want.states:
        assert np.array_equal(got[name], want[name]), name
        read = got.known_read(name)
        assert np.allclose(pending.reads[name], read, rtol=1e-13, atol=0)
    assert np.array_equal(sync.sums, threaded.sums)


def test_plain_write_excludes_what_a_target_read_cannot_tell():
    """Pulses, write noise, nonlinear reads and crossbars with empty crosspoints write the
    ordinary way (their reads are not known before their states)."""
    from memprop.circuits.nonideal import NonIdeal
    from memprop.cosim.programming.writes import plain_write

    def zeros(net):
        return {b.name: np.zeros((b.rows, b.cols)) for b in net.crossbars}
    net = NETWORKS["layered"](DEVICE_MODELS["vteam"])
    assert plain_write(net, zeros(net), "ideal", None)
    assert not plain_write(net, zeros(net), "pulse", None)
    assert not plain_write(net, zeros(net), "ideal", NonIdeal(c2c_sigma=0.01))
    rram = NETWORKS["layered"](DEVICE_MODELS["stanford-rram"])
    assert not plain_write(rram, zeros(rram), "ideal", None)
    recurrent = NETWORKS["recurrent"](DEVICE_MODELS["vteam"])
    assert any(not b.dense for b in recurrent.crossbars)
    assert not plain_write(recurrent, zeros(recurrent), "ideal", None)


def _plain_b(twin: BehavioralNetwork, net, states) -> np.ndarray:
    """B as the twin first summed it: each target's whole block zeroed, then its crossbars' parts
    added in network order (the diagonal ones through their indices)."""
    b = np.zeros_like(twin.B)
    for bar in net.crossbars:
        rows = twin._block(bar)[0]
        part = linear_operator_parts(bar, conductances_of(net, states, bar))[1]
        diag = np.arange(rows.start, rows.stop)
        if part.ndim == 1:
            b[diag, diag] += part
        else:
            b[rows, rows] += part
    return b


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["layered", "deep", "recurrent", "wired"])
def test_b_is_the_block_sum_of_its_parts_bit_for_bit(kind, dtype):
    """The twin sums only B's diagonal where no crossbar has wires: the same bits as zeroing each
    target's whole block and adding the parts in network order, after a build and after writes
    that reprogram it in place (float32 twins round each addition as that did)."""
    net = NETWORKS[kind](DEVICE_MODELS["vteam"])
    states = glorot_states(net, 4, gain=0.5)
    twin = BehavioralNetwork(net, states, dtype=dtype)
    for k in range(3):
        assert np.array_equal(twin.B, _plain_b(twin, net, states)), k
        states = _write(net, states, 20 + k)
        twin.reprogram(states)


# ---- BLAS beside the write thread ----

def test_blas_gives_the_write_thread_one_thread():
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from memprop.cosim.runs.trainer import blas_beside, blas_threads

    with ThreadPoolExecutor(1) as pool:
        for threads, inside in ((2, 1), (3, 2), (1, 1)):
            with threadpool_limits(threads, user_api="blas"):
                with blas_beside(pool):
                    assert blas_threads() == inside
                with blas_beside(None):  # no write thread: BLAS keeps them all
                    assert blas_threads() == threads
                assert blas_threads() == threads


def test_training_batches_leave_a_core_to_the_write_thread_and_evaluation_has_all(tmp_path, monkeypatch):
    from threadpoolctl import threadpool_limits

    from memprop.cosim.config.config import Config
    from memprop.cosim.runs import trainer
    from memprop.cosim.runs.trainer import blas_threads

    seen: dict[str, set[int]] = {"train": set(), "evaluate": set()}

    def recording(name, fn):
        def call(*args, **kwargs):
            seen[name].add(blas_threads())
            return fn(*args, **kwargs)
        return call
    monkeypatch.setattr(trainer, "train_step", recording("train", trainer.train_step))
    monkeypatch.setattr(trainer, "evaluate", recording("evaluate", trainer.evaluate))
    cfg = Config()
    cfg = replace(cfg, data=replace(cfg.data, train_size=40, test_size=20),
                  train=replace(cfg.train, backend="behavioral", epochs=1))
    with threadpool_limits(2, user_api="blas"):
        trainer.Trainer(cfg, tmp_path / "run").run()
    assert seen == {"train": {1}, "evaluate": {2}}
