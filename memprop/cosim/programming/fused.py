"""An ideal write of a dense crossbar, compiled: the twin's new operator, the states, the fidelity.

The numpy write of a 784 x 500 crossbar (805 020 devices with the output layer) made about twenty
passes over 6 MB arrays: the clipped targets, the twin's rows from them, state_for, conductance,
and the fidelity's seven sums per block, whatever the batch size: most of what a batch of 20 cost
(issue 20). Here it is two passes, neither making the target array: `twin_rows` (the main thread
waits for it: the next batch settles on it) and `states_and_reads` (in the write thread, beside
the next batch). `.venv/bin/python bench/device_write.py`: 3.4 ms for both against numpy's 11.6,
with the crossbar coming from memory as in training.

Only the device models whose equations are _ResistiveRange's (R linear in the state: HP linear
drift, VTEAM) are compiled; `covers` tells. Each element's state and read are computed with the
same operations in the same order as the numpy methods (no fused multiply-adds, no reordering), so
they are identical bit for bit. The fidelity sums are reassociated (summed in vector lanes): a
running diagnostic, they differ from numpy's pairwise sums in their last bits, and are the same
from run to run on one machine.

writes.py imports this module on the first compiled write, so commands that never write do not
pay for numba's import (a quarter of a second), and takes numpy where numba cannot be imported.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable

import numba
import numpy as np

from memprop.circuits.devices import MemristorModel, _ResistiveRange

#: Devices per piece: the states, reads and differences of a piece stay in cache between the
#: element-wise loop and the sums.
PIECE = 2048

#: Changes from which twin_rows shares its rows with another thread (below, handing half over
#: costs more than it saves).
SPLIT_AT = 65536


def covers(dev: MemristorModel) -> bool:
    """Whether `dev` reads, and maps conductances to states, by _ResistiveRange's equations
    (a subclass that overrides any of them keeps the numpy write)."""
    cls = type(dev)
    return isinstance(dev, _ResistiveRange) and all(
        getattr(cls, name) is getattr(_ResistiveRange, name) for name in ("resistance", "conductance", "state_for"))


def states_and_reads(dev: MemristorModel, g: np.ndarray, delta: np.ndarray, sums: np.ndarray,
                     scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The states after an ideal write of +dg / -dg, dg = delta * scale (float64: rounded as
    numpy's product), to a dense crossbar's pairs read as g (2, rows, cols), and what they read
    as; the fidelity's six running sums (sw, sa, sww, saa, swa, see) grow in place. Releases the
    GIL while it runs. scale: what turns a weight change into a conductance change (1 / 2 R_f),
    applied as delta is read, without a pass of its own."""
    g = np.ascontiguousarray(g, dtype=np.float64)
    delta = np.ascontiguousarray(delta, dtype=np.float64)
    x, after = np.empty_like(g), np.empty_like(g)
    _write(g.reshape(-1), delta.reshape(-1), scale, dev.g_min, dev.g_max, dev.r_on, dev.r_off, dev.x_lo, dev.x_hi,
           x.reshape(-1), after.reshape(-1), sums)
    return x, after


def compiled(**options: Any) -> Callable[[Callable], Callable]:
    """numba.njit, releasing the GIL, with numba's on-disk cache where it finds a writable place
    for one (beside this file, or the user's cache directory); else compiled once in every
    process (numba refuses cache=True outright there: a read-only install with no home)."""
    def wrap(func: Callable) -> Callable:
        try:
            return numba.njit(nogil=True, cache=True, error_model="numpy", boundscheck=False, **options)(func)
        except RuntimeError:
            return numba.njit(nogil=True, cache=False, error_model="numpy", boundscheck=False, **options)(func)
    return wrap


#: Exact arithmetic (no fast-math): the states and the twin's operator keep numpy's bits.
_compiled = compiled()


@_compiled
def _clip(v, lo, hi):
    """np.clip(v, lo, hi) of one finite number: the upper bound wins where the two cross."""
    v = lo if v < lo else v
    return hi if v > hi else v


@_compiled
def _states_piece(g, w, g_min, g_max, r_on, r_off, x_lo, x_hi, x, after, d):
    """One piece: target = clip(g + w) (as writes._targets_in_chunks), x = state_for(target),
    after = conductance(x) (as _ResistiveRange's methods, operation for operation), d = after - g."""
    dr, dx = r_on - r_off, x_hi - x_lo
    for k in range(g.size):
        v = _clip(x_lo + ((1.0 / _clip(g[k] + w[k], g_min, g_max) - r_off) / dr) * dx, x_lo, x_hi)
        x[k] = v
        a = 1.0 / (r_off + dr * ((v - x_lo) / dx))
        after[k] = a
        d[k] = a - g[k]


@compiled(fastmath={"reassoc"})
def _sums_piece(w, d, acc):
    """The fidelity's sums of one piece: wanted w, achieved d (Fidelity.add's order)."""
    s_w = s_d = s_ww = s_dd = s_wd = s_ee = 0.0
    for k in range(w.size):
        wk, dk = w[k], d[k]
        e = dk - wk
        s_w += wk
        s_d += dk
        s_ww += wk * wk
        s_dd += dk * dk
        s_wd += wk * dk
        s_ee += e * e
    acc[0] += s_w
    acc[1] += s_d
    acc[2] += s_ww
    acc[3] += s_dd
    acc[4] += s_wd
    acc[5] += s_ee


@_compiled
def _write(g, dg, scale, g_min, g_max, r_on, r_off, x_lo, x_hi, x, after, sums):
    """Both polarities (+dg, then -dg), piece by piece; `sums` grows by this write's six sums."""
    n = dg.size
    acc = np.zeros(6)
    w, d = np.empty(PIECE), np.empty(PIECE)
    for p in range(2):
        sign = 1.0 if p == 0 else -1.0
        for start in range(0, n, PIECE):
            stop = min(start + PIECE, n)
            m = stop - start
            for k in range(m):
                w[k] = sign * (dg[start + k] * scale)
            lo, hi = p * n + start, p * n + stop
            _states_piece(g[lo:hi], w[:m], g_min, g_max, r_on, r_off, x_lo, x_hi, x[lo:hi], after[lo:hi], d[:m])
            _sums_piece(w[:m], d[:m], acc)
    sums += acc


def twin_rows(dev: MemristorModel, g: np.ndarray, delta: np.ndarray, block: np.ndarray, part: np.ndarray,
              scale: float = 1.0, submit: Callable[..., Future] | None = None) -> None:
    """The twin's operator for the same write (dg = delta * scale), before its states exist: block =
    the targets' difference G+ - G- (rows, cols), part = -(row sums of G+ and of G-) (rows,), each
    as BehavioralNetwork.row_writer computes it from writes._targets_in_chunks, bit for bit (the
    row sums are numpy's pairwise summation, replicated). One pass; no target array is made.
    submit: an idle thread's (the write thread's, before the write is handed to it), which then
    does the second half of the rows: rows are independent, and one core's share of the memory's
    bandwidth left this pass at 1.3 ms for 784 x 500, against 0.95 ms with two."""
    g = np.ascontiguousarray(g, dtype=np.float64)
    delta = np.ascontiguousarray(delta, dtype=np.float64)
    rows, half = delta.shape[0], delta.shape[0] // 2
    args = (g, delta, scale, dev.g_min, dev.g_max, block, part)
    if submit is None or delta.size < SPLIT_AT:
        _twin_rows(*args, 0, rows)
        return
    other = submit(_twin_rows, *args, half, rows)
    _twin_rows(*args, 0, half)
    other.result()


@_compiled
def _twin_rows(g, dg, scale, g_min, g_max, block, part, first, stop):
    """Rows first..stop-1 of twin_rows."""
    cols = dg.shape[1]
    plus, minus = np.empty(cols), np.empty(cols)
    nodes, left = np.zeros((3, 64), np.int64), np.empty(64)
    for r in range(first, stop):
        for k in range(cols):
            d = dg[r, k] * scale
            plus[k] = _clip(g[0, r, k] + d, g_min, g_max)
            minus[k] = _clip(g[1, r, k] + -d, g_min, g_max)
            block[r, k] = plus[k] - minus[k]
        part[r] = -(_pairwise(plus, cols, nodes, left) + _pairwise(minus, cols, nodes, left))


@_compiled
def _pairwise(a, n, nodes, left):
    """numpy's sum of a[:n]: its pairwise summation (8 partial sums up to 128 elements, then
    halves rounded to multiples of 8), so that sums of rows keep numpy's bits. The halving is
    walked with an explicit stack (nodes: start, size, stage; left: the left halves' sums):
    numba's cache reloads recursive functions into a crash."""
    starts, sizes, stage = nodes[0], nodes[1], nodes[2]
    top, value = 0, 0.0
    starts[0], sizes[0], stage[0] = 0, n, 0
    while top >= 0:
        m = sizes[top]
        half = m // 2 - (m // 2) % 8
        if m <= 128:  # a leaf: its value goes to the node below it on the stack
            value = _pairwise_block(a, starts[top], m)
            top -= 1
        elif stage[top] == 0:  # first the left half
            stage[top] = 1
            top += 1
            starts[top], sizes[top], stage[top] = starts[top - 1], half, 0
        elif stage[top] == 1:  # the left half's value is in: then the right half
            left[top], stage[top] = value, 2
            top += 1
            starts[top], sizes[top], stage[top] = starts[top - 1] + half, m - half, 0
        else:  # both halves in
            value = left[top] + value
            top -= 1
    return value


@_compiled
def _pairwise_block(a, lo, n):
    """numpy's pairwise_sum of at most 128 elements."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res
