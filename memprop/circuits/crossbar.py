"""Numpy twin of a crossbar of differential pairs, with or without wire resistance.

Geometry (the netlist follows the same one): the +V and -V lines of source column j run down the
rows from their driver at row 0; the line of target row i runs across the columns and reaches the
neuron's summing node after column cols-1. With wire resistance r_w every segment between two
crosspoints (and between a driver or neuron and the array) is a resistor r_w.

For a linear-read device the crossbar is a linear resistive network: the current into the
summing nodes is I = A @ v_src + B @ v_tgt, where v_src are the source-line voltages (the -V lines
carry -v_src) and v_tgt the summing-node voltages (0 at an ideal virtual ground).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from memprop.circuits.devices import MemristorModel
from memprop.circuits.network import Crossbar


def linear_operator(bar: Crossbar, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) with I_into_targets = A @ v_src + B @ v_tgt, for conductances g = (G+, G-)."""
    gp, gm = g[0] * bar.mask(), g[1] * bar.mask()
    if bar.wire_resistance <= 0:
        return gp - gm, -np.diag(gp.sum(axis=1) + gm.sum(axis=1))
    return _wired_operator(bar, gp, gm)


def _wired_operator(bar: Crossbar, gp: np.ndarray, gm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = bar.rows, bar.cols
    gw = 1.0 / bar.wire_resistance
    n_int = 3 * rows * cols
    n_bnd = 2 * cols + rows

    def cp(i: int, j: int) -> int:
        return i * cols + j

    def cm(i: int, j: int) -> int:
        return rows * cols + i * cols + j

    def rw(i: int, j: int) -> int:
        return 2 * rows * cols + i * cols + j

    yii = sp.lil_matrix((n_int, n_int))
    yib = sp.lil_matrix((n_int, n_bnd))

    def link_int(a: int, b: int, g: float) -> None:
        yii[a, a] += g
        yii[b, b] += g
        yii[a, b] -= g
        yii[b, a] -= g

    def link_bnd(a: int, boundary: int, g: float) -> None:
        yii[a, a] += g
        yib[a, boundary] -= g

    for j in range(cols):
        link_bnd(cp(0, j), j, gw)
        link_bnd(cm(0, j), cols + j, gw)
        for i in range(1, rows):
            link_int(cp(i - 1, j), cp(i, j), gw)
            link_int(cm(i - 1, j), cm(i, j), gw)
    for i in range(rows):
        for j in range(cols):
            if gp[i, j] > 0:
                link_int(cp(i, j), rw(i, j), gp[i, j])
            if gm[i, j] > 0:
                link_int(cm(i, j), rw(i, j), gm[i, j])
            if j + 1 < cols:
                link_int(rw(i, j), rw(i, j + 1), gw)
        link_bnd(rw(i, cols - 1), 2 * cols + i, gw)
    v_int = -spla.splu(yii.tocsc()).solve(yib.toarray())  # (n_int, n_bnd)
    ends = [rw(i, cols - 1) for i in range(rows)]
    m = gw * v_int[ends, :]
    m[:, 2 * cols:] -= gw * np.eye(rows)
    return m[:, :cols] - m[:, cols:2 * cols], m[:, 2 * cols:]


def nonlinear_currents(device: MemristorModel, bar: Crossbar, x: np.ndarray,
                       v_src: np.ndarray, v_tgt: np.ndarray) -> np.ndarray:
    """Currents into the summing nodes through devices with a nonlinear read (no wire resistance).

    v_src (..., cols), v_tgt (..., rows) -> (..., rows).
    """
    mask = bar.mask()
    vp = v_src[..., None, :] - v_tgt[..., :, None]
    vm = -v_src[..., None, :] - v_tgt[..., :, None]
    return ((device.current(vp, x[0]) + device.current(vm, x[1])) * mask).sum(axis=-1)
