"""Applying weight changes to device states: ideally, or as pulses through the device physics.

A weight change dW of a differential pair is split as dG+ = +dW / (2 R_f), dG- = -dW / (2 R_f),
which keeps G+ + G- constant. `ideal` sets the new conductances (clipped to the device range);
`pulse` asks the device for them with programming pulses, so what it gets is state-dependent and
bounded, as on hardware. Either way the fidelity (wanted vs achieved dG) is measured.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

import dataclasses

from memprop.circuits.devices import MemristorModel
from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.nonideal import NonIdeal, switching_scale, write_noise
from memprop.circuits.crossbar_write import program_through_lines
from memprop.circuits.programming import Programmed, ResolvedPulses, program


FIDELITY_FIELDS = ("n", "sw", "sa", "sww", "saa", "swa", "see", "pulses")
#: Running sums of pulse writes beside the fidelity (their own checkpoint array, so checkpoints of
#: earlier versions, which lack it, still resume): energy in J, verify reads, device writes asked
#: for (nonzero wanted change), and those of them that got no pulse.
PROGRAMMING_FIELDS = ("energy", "reads", "requests", "unwritten")


@dataclass
class Fidelity:
    """Wanted vs achieved conductance changes, as running sums (so a checkpoint can carry them)."""

    sums: np.ndarray = field(default_factory=lambda: np.zeros(len(FIDELITY_FIELDS)))
    programming: np.ndarray = field(default_factory=lambda: np.zeros(len(PROGRAMMING_FIELDS)))

    def add(self, wanted: np.ndarray, achieved: np.ndarray) -> None:
        w, a = wanted.ravel(), achieved.ravel()
        self.sums[:7] += [w.size, w.sum(), a.sum(), w @ w, a @ a, w @ a, (a - w) @ (a - w)]

    def add_pulses(self, count: int) -> None:
        self.sums[7] += count

    def add_programming(self, wanted: np.ndarray, done: Programmed) -> None:
        requested = wanted != 0
        self.sums[7] += int(done.counts.sum())
        self.programming += [float(done.energy.sum()), done.reads, int(requested.sum()),
                             int((requested & (done.counts == 0)).sum())]

    def programming_summary(self) -> dict[str, float]:
        """Energy (J), verify reads, and the fraction of asked-for device writes that got no pulse."""
        energy, reads, requests, unwritten = self.programming
        return {"programming_energy": float(energy), "verify_reads": int(reads),
                "unwritten_fraction": float(unwritten / requests) if requests else float("nan")}

    def summary(self) -> dict[str, float]:
        n, sw, sa, sww, saa, swa, see, pulses = self.sums
        if n == 0:
            return {"update_correlation": float("nan"), "update_rms_error": float("nan"),
                    "update_rms_wanted": float("nan"), "pulses": 0}
        cov = swa / n - (sw / n) * (sa / n)
        var_w, var_a = sww / n - (sw / n) ** 2, saa / n - (sa / n) ** 2
        # clipped to [-1, 1]: from running sums, a perfect write's correlation rounds a few
        # epsilons either side of 1
        corr = float(np.clip(cov / np.sqrt(var_w * var_a), -1.0, 1.0)) if var_w > 0 and var_a > 0 else float("nan")
        return {"update_correlation": corr, "update_rms_error": float(np.sqrt(see / n)),
                "update_rms_wanted": float(np.sqrt(sww / n)), "pulses": int(pulses)}


def apply_update(network: Network, states: SynapseStates, dw: dict[str, np.ndarray], mode: str,
                 pulses: ResolvedPulses | None, fidelity: Fidelity, nonideal: NonIdeal | None = None,
                 rng: np.random.Generator | None = None,
                 pulse_rng: np.random.Generator | None = None) -> SynapseStates:
    """New device states after the weight changes dw (tied crossbars included in dw).

    Write-side non-idealities (finite levels, cycle-to-cycle noise) act on where each write lands;
    the fidelity compares the wanted change with what the devices then read (read-side
    non-idealities included), as a controller without read-verify would experience it.
    pulse_rng: the stream of stochastic rounding (pulse mode, see programming.program).
    """
    dev = network.device
    # arrays of crossbars without a change are copied; written ones are new arrays anyway
    out = SynapseStates({k: v if k in dw else v.copy() for k, v in states.states.items()})
    scale = 1.0 / (2.0 * network.neuron.r_f)
    noisy = nonideal is not None and nonideal.write_side
    if noisy and rng is None:
        raise ValueError("write noise needs a random generator")
    plain = mode == "ideal" and not noisy and dev.linear_read and network.variation is None
    for name, delta in dw.items():
        bar = network.crossbar(name)
        x = states[name]
        if plain and bar.dense:
            g = network.read_of(states, name)
            out.states[name], after = _states_and_reads(dev, g, None, delta, scale, fidelity, in_blocks=True)
            out.remember_read(name, after)
            continue
        before = network.read_of(states, name) if dev.linear_read else x
        g = before if dev.linear_read and network.variation is None else dev.conductance(x)
        wanted = np.stack([delta * scale, -delta * scale])
        if not bar.dense:
            wanted *= bar.mask()
        if mode == "ideal":
            target = np.clip(g + wanted, dev.g_min, dev.g_max)
            if noisy:
                target = write_noise(target, dev.g_min, dev.g_max, nonideal, rng)
            new_x = dev.state_for(target)
        else:
            write = program if pulses.half_select == "none" else program_through_lines
            done = write(dev, x, wanted, pulses, pulse_rng, switching_scale(nonideal, name, x.shape))
            new_x = done.x
            fidelity.add_programming(wanted, done)  # masked-off devices: nothing wanted, no pulse
            if noisy and nonideal.c2c_sigma:
                pulsed = dataclasses.replace(nonideal, levels=0)
                new_x = dev.state_for(write_noise(dev.conductance(new_x), dev.g_min, dev.g_max, pulsed, rng))
        if not bar.dense:
            new_x = np.where(bar.mask().astype(bool)[None], new_x, x)
        out.states[name] = new_x
        after = network.effective_read(name, new_x) if dev.linear_read else dev.conductance(new_x)
        if bar.dense:
            fidelity.add(wanted, after - (before if dev.linear_read else g))
        else:
            keep = bar.mask().astype(bool)
            fidelity.add(wanted[:, keep], (after - (before if dev.linear_read else g))[:, keep])
        if dev.linear_read:
            out.remember_read(name, after)
    return out


#: Devices per chunk of an ideal write (both polarities): ~0.5 MB per array, so the dozen
#: element-wise passes of a write run in cache instead of streaming 6 MB arrays through memory
#: twelve times (measured 2x faster on a 784 x 500 crossbar). The write thread's states are the
#: exception (_states_and_reads).
WRITE_CHUNK = 65536


def _row_blocks(x: np.ndarray) -> Iterator[slice]:
    rows = max(1, WRITE_CHUNK // (2 * x.shape[2]))
    return (slice(r, r + rows) for r in range(0, x.shape[1], rows))


def _targets_in_chunks(dev: MemristorModel, g: np.ndarray, dg: np.ndarray,
                       rows_done: Callable[[slice, np.ndarray], None] | None = None) -> np.ndarray:
    """The conductances an ideal write of +dg / -dg asks a dense crossbar's pairs for (clipped to
    the device range): what the devices will read, to rounding, once their states are set.
    rows_done: called with each block of rows as it is computed (the twin's row_writer)."""
    target = np.empty_like(g)
    for part in _row_blocks(g):
        np.clip(g[:, part] + np.stack([dg[part], -dg[part]]), dev.g_min, dev.g_max, out=target[:, part])
        if rows_done is not None:
            rows_done(part, target[:, part])
    return target


def _states_and_reads(dev: MemristorModel, g: np.ndarray, target: np.ndarray | None, delta: np.ndarray,
                      scale: float, fidelity: Fidelity, *, in_blocks: bool) -> tuple[np.ndarray, np.ndarray]:
    """The states that read as `target` (the clipped g + dg / g - dg, dg = delta * scale, computed
    here if None; device conductances g before the write) and what they read as, element for
    element the same whichever way they are computed. Devices with _ResistiveRange's equations
    take one compiled pass from g, delta and scale (fused.py; float64 changes). Others take
    numpy: in_blocks, a block of rows at a time, in
    cache (alone on a core: 7.0 instead of 8.6 ms for a 784 x 500 crossbar); else in whole-array
    passes, for the write thread, where each numpy call takes the GIL back from the settling
    thread (a dozen calls, not a dozen per block). Their fidelity sums are added per block."""
    compiled = _compiled_for(dev, delta)
    if compiled is not None:
        fidelity.sums[0] += 2 * delta.size
        return compiled.states_and_reads(dev, g, delta, fidelity.sums[1:7], scale)
    target = _targets_in_chunks(dev, g, delta * scale) if target is None else target
    if in_blocks:
        new_x, after = np.empty_like(g), np.empty_like(g)
        for part in _row_blocks(g):
            new_x[:, part] = dev.state_for(target[:, part])
            after[:, part] = dev.conductance(new_x[:, part])
    else:
        new_x = dev.state_for(target)
        after = dev.conductance(new_x)
    for part in _row_blocks(g):
        dg = delta[part] * scale  # per block, in cache: the targets were made from the same products
        fidelity.add(np.stack([dg, -dg]), after[:, part] - g[:, part])
    return new_x, after


def _compiled_for(dev: MemristorModel, delta: np.ndarray) -> ModuleType | None:
    """The compiled write (programming/fused.py) where it covers `dev`'s equations and the change
    is float64 (numpy multiplies a float32 one by the scale in float32), else None. Imported on
    first use (numba's import costs a quarter of a second); where numba cannot be imported (a
    Python it has no build for yet), every write takes numpy, to the same states."""
    if delta.dtype != np.float64:
        return None
    try:
        from memprop.cosim.programming import fused
    except ImportError:
        return None
    return fused if fused.covers(dev) else None


def _twin_targets(dev: MemristorModel, g: np.ndarray, delta: np.ndarray, scale: float, twin: Any, name: str,
                  rows: tuple[np.ndarray, np.ndarray] | None, submit: Callable[..., Future]) -> np.ndarray | None:
    """A write's targets (of dg = delta * scale), put into the twin's rows of crossbar `name`
    (`rows`: its BehavioralNetwork.rows_of, None where it has none) as they are computed; None
    where the compiled write put them there without making the target array (fused.twin_rows:
    one pass instead of three, none for dg: it scales delta as it reads it, and half of it on the
    write thread, `submit`'s, idle until the write is handed to it)."""
    compiled = _compiled_for(dev, delta)
    if rows is not None and compiled is not None:
        compiled.twin_rows(dev, g, delta, *rows, scale, submit)
        return None
    return _targets_in_chunks(dev, g, delta * scale, twin.row_writer(name) if rows is not None else None)


def plain_write(network: Network, dw: dict[str, np.ndarray], mode: str, nonideal: NonIdeal | None) -> bool:
    """An ideal write without write noise to dense crossbars of linear-read devices without
    device-to-device variation: the new reads are known before the new states are computed."""
    noisy = nonideal is not None and nonideal.write_side
    return (mode == "ideal" and not noisy and network.device.linear_read and network.variation is None
            and all(network.crossbar(name).dense for name in dw))


@dataclass
class PendingWrite:
    """A plain write under way: the conductances the devices will read (known at once, so the twin
    is reprogrammed and the next batch settles while the states are computed) and the new states,
    computed in a thread (numpy and the compiled write release the GIL)."""

    #: the target reads per crossbar; none for those the compiled write put into the twin itself
    #: (they are in `written`, and the twin needs nothing more of them)
    reads: dict[str, np.ndarray]
    future: Future
    #: crossbars whose reads start_update already wrote into the twin, row block by row block
    written: tuple[str, ...] = ()

    def states(self) -> SynapseStates:
        return self.future.result()


def start_update(network: Network, states: SynapseStates, dw: dict[str, np.ndarray], fidelity: Fidelity,
                 submit: Callable[..., Future], twin: Any = None) -> PendingWrite:
    """A plain write (see plain_write): the target reads now, the states by `submit` (a thread
    pool's). The states equal apply_update's bit for bit, so do the fidelity sums; the twin
    reads the targets, which differ from the devices' reads by the rounding of state_for.
    twin: an in-place BehavioralNetwork to write the targets into as they are computed (its
    rows_of; the engine's program_pending finishes it), saving a pass over every crossbar; with
    the compiled write, no target array is made for those crossbars (`reads` lacks them)."""
    dev = network.device
    scale = 1.0 / (2.0 * network.neuron.r_f)
    work, written, reads = [], [], {}
    for name, delta in dw.items():
        g = network.read_of(states, name)
        rows = twin.rows_of(name) if twin is not None else None
        if rows is not None:
            written.append(name)
        target = _twin_targets(dev, g, delta, scale, twin, name, rows, submit)
        if target is not None:
            reads[name] = target
        work.append((name, g, target, delta))

    def finish() -> SynapseStates:
        out = SynapseStates({k: v.copy() for k, v in states.states.items() if k not in dw})
        for name, g, target, delta in work:
            out.states[name], after = _states_and_reads(dev, g, target, delta, scale, fidelity, in_blocks=False)
            out.remember_read(name, after)
        out.states = {k: out.states[k] for k in states.states}  # the original order
        return out
    return PendingWrite(reads, submit(finish), tuple(written))
