"""The compiled write (programming/fused.py) against the numpy equations it replaces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS, VTEAM
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.programming import fused
from memprop.cosim.programming.writes import Fidelity, _states_and_reads, _targets_in_chunks

LINEAR = [name for name, dev in DEVICE_MODELS.items() if dev.linear_read]


def _crossbar(dev, rows: int, cols: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Reads (2, rows, cols) with some devices at either bound, and changes large enough to clip."""
    rng = np.random.default_rng(seed)
    g = dev.conductance(rng.uniform(dev.x_lo, dev.x_hi, (2, rows, cols)))
    g[0, 0], g[1, -1] = dev.g_max, dev.g_min
    dg = rng.normal(0.0, 0.1 * (dev.g_max - dev.g_min), (rows, cols))
    return g, dg


@pytest.mark.parametrize("name", LINEAR)
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (40, 785), (500, 2049)])
def test_a_compiled_write_lands_on_the_numpy_states_and_reads_bit_for_bit(name, shape):
    dev = DEVICE_MODELS[name]
    assert fused.covers(dev)
    g, dg = _crossbar(dev, *shape, seed=sum(shape))
    target = np.clip(g + np.stack([dg, -dg]), dev.g_min, dev.g_max)
    assert dg.size == 1 or np.any(target == dev.g_max) and np.any(target == dev.g_min)  # both clips taken
    sums = np.zeros(6)
    x, after = fused.states_and_reads(dev, g, dg, sums)
    want_x = dev.state_for(target)
    assert np.array_equal(x, want_x)
    assert np.array_equal(after, dev.conductance(want_x))
    numpy_sums = Fidelity()
    w, d = np.stack([dg, -dg]).ravel(), (after - g).ravel()
    numpy_sums.add(w, d)
    # summed in another order: equal to the rounding of the sums of magnitudes (sw cancels to ~0)
    scale = [np.abs(w).sum(), np.abs(d).sum(), w @ w, d @ d, np.abs(w * d).sum(), (d - w) @ (d - w)]
    assert np.all(np.abs(sums - numpy_sums.sums[1:7]) <= 1e-12 * np.array(scale))


@pytest.mark.parametrize("name", LINEAR)
def test_a_weight_change_scaled_in_the_kernels_is_numpys_product(name):
    """Training hands the kernels the weight change and its scale to conductance (1 / 2 R_f): the
    states, reads, sums and twin rows are those of the change multiplied out by numpy first."""
    dev, scale = DEVICE_MODELS[name], 1.0 / (2.0 * Neuron().r_f)
    g, dg = _crossbar(dev, 40, 785, seed=9)
    delta = dg / scale * np.random.default_rng(9).uniform(0.5, 1.5, dg.shape)  # not exact multiples
    sums, product_sums = np.zeros(6), np.zeros(6)
    x, after = fused.states_and_reads(dev, g, delta, sums, scale)
    want_x, want_after = fused.states_and_reads(dev, g, delta * scale, product_sums)
    assert np.array_equal(x, want_x) and np.array_equal(after, want_after) and np.array_equal(sums, product_sums)
    rows, want_rows = (np.zeros((40, 785)), np.zeros(40)), (np.zeros((40, 785)), np.zeros(40))
    fused.twin_rows(dev, g, delta, *rows, scale)
    fused.twin_rows(dev, g, delta * scale, *want_rows)
    assert all(np.array_equal(a, b) for a, b in zip(rows, want_rows))


def test_a_float32_change_is_scaled_as_numpy_scales_it():
    """numpy multiplies a float32 change by the scale in float32, the kernels would in float64:
    such a change takes numpy's write, and lands where numpy's product says."""
    dev, scale = DEVICE_MODELS["vteam"], 1.0 / (2.0 * Neuron().r_f)
    g, dg = _crossbar(dev, 20, 30, seed=5)
    delta = (dg / scale).astype(np.float32)
    x, after = _states_and_reads(dev, g, None, delta, scale, Fidelity(), in_blocks=False)
    product = delta * scale
    assert product.dtype == np.float32
    want = dev.state_for(np.clip(g + np.stack([product, -product]), dev.g_min, dev.g_max))
    assert np.array_equal(x, want) and np.array_equal(after, dev.conductance(want))
    from memprop.cosim.learning import fused_steps
    with pytest.raises(ValueError, match="C-contiguous float64"):
        fused_steps.momentum(np.zeros((20, 30)), delta, 0.9, 1.0)


def test_nonlinear_reads_and_changed_equations_keep_the_numpy_write():
    """A model that overrides any of the equations is not compiled; its write still lands where
    its own state_for says."""

    @dataclasses.dataclass(frozen=True)
    class Squared(VTEAM):
        def conductance(self, x):
            return super().conductance(np.asarray(x, dtype=float) ** 2)

        def state_for(self, g):
            return np.sqrt(super().state_for(g))

    assert not any(fused.covers(dev) for dev in DEVICE_MODELS.values() if not dev.linear_read)
    dev = Squared()
    assert not fused.covers(dev)
    g, dg = _crossbar(dev, 30, 50, seed=1)
    target = _targets_in_chunks(dev, g, dg)
    fidelity = Fidelity()
    x, after = _states_and_reads(dev, g, target, dg, 1.0, fidelity, in_blocks=True)
    assert np.array_equal(x, dev.state_for(target)) and np.array_equal(after, dev.conductance(x))
    assert fidelity.sums[0] == 2 * dg.size


@pytest.mark.parametrize("n", [*range(0, 300), 511, 512, 784, 785, 1000, 4097, 70001])
def test_row_sums_are_numpys_pairwise_sums(n):
    a = np.random.default_rng(n).lognormal(-12.0, 2.0, n)
    nodes, left = np.zeros((3, 64), np.int64), np.empty(64)
    assert fused._pairwise(a, n, nodes, left) == a.sum()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_twins_rows_from_a_compiled_write_equal_the_row_writers(dtype):
    """twin_rows fills A's block and B's part as row_writer does from the target array."""
    dev = DEVICE_MODELS["vteam"]
    net = layered_network(Neuron(), dev, (300, 40, 10))
    states = glorot_states(net, 0, gain=0.5)
    bar = net.crossbars[0]
    g, dg = _crossbar(dev, bar.rows, bar.cols, seed=4)
    compiled, numpy = (BehavioralNetwork(net, states, dtype=dtype) for _ in range(2))
    fused.twin_rows(dev, g, dg, *compiled.rows_of(bar.name))
    _targets_in_chunks(dev, g, dg, numpy.row_writer(bar.name))
    block, part = compiled.rows_of(bar.name)
    assert block.dtype == dtype
    assert np.array_equal(block, numpy.rows_of(bar.name)[0]) and np.array_equal(part, numpy.rows_of(bar.name)[1])


@pytest.mark.parametrize("rows", [1, 83, 300])
def test_the_twins_rows_shared_with_another_thread_are_the_same(rows):
    """Half of the rows on an idle thread (training hands twin_rows the write thread's submit):
    the same block and part, every bit; below fused.SPLIT_AT changes it does them all itself."""
    from concurrent.futures import ThreadPoolExecutor
    dev = DEVICE_MODELS["vteam"]
    g, dg = _crossbar(dev, rows, 785, seed=rows)
    alone, shared = [(np.zeros((rows, 785)), np.zeros(rows)) for _ in range(2)]
    fused.twin_rows(dev, g, dg, *alone)
    submitted = []
    with ThreadPoolExecutor(1) as pool:
        fused.twin_rows(dev, g, dg, *shared, 1.0, lambda *a: submitted.append(1) or pool.submit(*a))
    assert all(np.array_equal(a, b) for a, b in zip(alone, shared))
    assert len(submitted) == (rows * 785 >= fused.SPLIT_AT)


def test_without_numba_every_write_takes_numpy_to_the_same_states(monkeypatch):
    """Where numba cannot be imported, writes still work: numpy's, to the same states, with
    their reads remembered for the next write."""
    import sys

    import memprop.cosim.programming as programming
    from memprop.cosim.programming.writes import apply_update

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (40, 20, 5))
    states = glorot_states(net, 3, gain=0.5)
    rng = np.random.default_rng(5)
    dw = {b.name: rng.normal(0.0, 0.05, (b.rows, b.cols)) for b in net.crossbars}
    compiled = apply_update(net, states, dw, "ideal", None, Fidelity())
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "memprop.cosim.programming.fused")
    monkeypatch.delattr(programming, "fused")
    numpy = apply_update(net, states, dw, "ideal", None, Fidelity())
    assert "memprop.cosim.programming.fused" not in sys.modules
    for bar in net.crossbars:
        assert np.array_equal(numpy[bar.name], compiled[bar.name])
        assert numpy.known_read(bar.name) is not None


def test_a_faithful_writes_correlation_stays_within_one():
    """From running sums, achieved = 3 x wanted rounds to 1 + 2e-16 (seed 1): reported as 1."""
    w = np.random.default_rng(1).normal(0.0, 1e-7, 999)
    fidelity = Fidelity()
    fidelity.add(w, 3.0 * w)
    n, sw, sa, sww, saa, swa = fidelity.sums[:6]
    assert (swa / n - sw * sa / n**2) / np.sqrt((sww / n - (sw / n) ** 2) * (saa / n - (sa / n) ** 2)) > 1.0
    assert fidelity.summary()["update_correlation"] == 1.0


def test_kernels_compile_where_numba_has_nowhere_to_cache_them():
    """A function numba cannot cache (here: no source file; in the field: a read-only install and
    no writable home) is compiled without the cache instead of failing at import."""
    import numba

    namespace: dict = {}
    exec(compile("def twice(x):\n    return 2.0 * x\n", "<no file>", "exec"), namespace)
    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(cache=True)(namespace["twice"])
    assert fused.compiled()(namespace["twice"])(1.5) == 3.0
