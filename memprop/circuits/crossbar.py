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
from memprop.circuits.validation import check_memory


def linear_operator(bar: Crossbar, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) with I_into_targets = A @ v_src + B @ v_tgt, for conductances g = (G+, G-)."""
    a, b = linear_operator_parts(bar, g)
    return a, (np.diag(b) if b.ndim == 1 else b)


def linear_operator_parts(bar: Crossbar, g: np.ndarray,
                          out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """linear_operator with B as its diagonal (a vector) when there is no wire resistance: the
    twin reprograms a 500-row crossbar without building a 500 x 500 matrix of zeros.
    out: where A goes when there is no wire resistance (the twin's own block: no copy)."""
    gp, gm = (g[0], g[1]) if bar.dense else (g[0] * bar.mask(), g[1] * bar.mask())
    if bar.wire_resistance <= 0:
        return np.subtract(gp, gm, out=out), -(gp.sum(axis=1) + gm.sum(axis=1))
    return _wired_operator(bar, gp, gm)


def wired_operator_bytes(bar: Crossbar) -> int:
    """Memory `_wired_operator` takes: its dense (3 rows cols) x rows solves and boundary matrix."""
    n_int, n_bnd = 3 * bar.rows * bar.cols, 2 * bar.cols + bar.rows
    return 8 * (2 * n_int * bar.rows + n_int * n_bnd + bar.rows * n_bnd)


def _wired_operator(bar: Crossbar, gp: np.ndarray, gm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    check_memory("network.wire_resistance", f"the wire-resistance model of crossbar {bar.name} "
                                            f"({bar.rows} x {bar.cols})", wired_operator_bytes(bar))
    rows, cols = bar.rows, bar.cols
    gw = 1.0 / bar.wire_resistance
    rc = rows * cols
    n_int = 3 * rc
    idx = np.arange(rc).reshape(rows, cols)
    cp, cm, rw = idx, rc + idx, 2 * rc + idx  # +V column line, -V column line, row line nodes
    a_list, b_list, g_list = [], [], []  # internal-internal links (a, b, conductance)

    def links(a: np.ndarray, b: np.ndarray, g: np.ndarray | float) -> None:
        g = np.broadcast_to(np.asarray(g, dtype=float), np.shape(a)).ravel()
        a, b = np.ravel(a), np.ravel(b)
        keep = g > 0
        a_list.append(a[keep])
        b_list.append(b[keep])
        g_list.append(g[keep])

    links(cp[:-1, :], cp[1:, :], gw)   # column segments between rows
    links(cm[:-1, :], cm[1:, :], gw)
    links(rw[:, :-1], rw[:, 1:], gw)   # row segments between columns
    links(cp, rw, gp)                  # devices
    links(cm, rw, gm)
    a, b, g = np.concatenate(a_list), np.concatenate(b_list), np.concatenate(g_list)
    diag = np.bincount(a, g, n_int) + np.bincount(b, g, n_int)
    # boundary links: drivers at row 0 of each column line, the neuron after the last column
    bnd_int = np.concatenate([cp[0, :], cm[0, :], rw[:, -1]])
    bnd_idx = np.arange(2 * cols + rows)
    diag += np.bincount(bnd_int, np.full(len(bnd_int), gw), n_int)
    yii = sp.coo_matrix((np.concatenate([-g, -g, diag]),
                         (np.concatenate([a, b, np.arange(n_int)]), np.concatenate([b, a, np.arange(n_int)]))),
                        shape=(n_int, n_int)).tocsc()
    yib = np.zeros((n_int, 2 * cols + rows))
    yib[bnd_int, bnd_idx] = -gw
    # only the row-line ends feed the neurons: with Y symmetric, their rows of Y^-1 are Y^-1 e_end,
    # so solve for `rows` right-hand sides instead of one per boundary node
    ends = rw[:, -1]
    unit = np.zeros((n_int, rows))
    unit[ends, np.arange(rows)] = 1.0
    z = spla.splu(yii).solve(unit)  # (n_int, rows) = columns of Y^-1 at the ends
    m = -gw * (z.T @ yib)  # = gw * v_int[ends, :]
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
