"""The optimizer's update of one crossbar's moments, compiled: one pass where numpy makes several.

schedule.step (momentum) and schedule.adam_step are a few numpy operations each, every one a pass
over the crossbar's arrays (3 MB for 784 x 500), once per batch whatever its size: momentum makes
four passes with its copy of what is written, Adam about ten. Here each is one loop that reads the
moments and the change once and writes the moments and the output once (0.92 -> 0.49 ms for
momentum on 500 x 785, cold cache).

Each element is computed with numpy's operations in numpy's order (no fast-math, no fused
multiply-adds): the moments and the output are identical bit for bit. schedule.py imports this
module on first use, as writes.py does programming/fused.py, and keeps numpy where numba cannot
be imported.
"""

from __future__ import annotations

import math

import numpy as np

from memprop.cosim.programming.fused import compiled

_exact = compiled()


def fits(*moments: np.ndarray, change: np.ndarray) -> bool:
    """Whether the moments can be updated in place through flat views (C-contiguous float64, as
    checkpoints and zero_velocity make them) from a float64 change of their shape; anything else
    keeps numpy (a float32 change, say, which numpy would multiply in float32)."""
    return change.dtype == np.float64 and all(
        m.dtype == np.float64 and m.flags.c_contiguous and m.shape == change.shape for m in moments)


def momentum(v: np.ndarray, d: np.ndarray, decay: float, factor: float) -> np.ndarray:
    """v <- decay v + factor d in place (as schedule.step: v * momentum, then plus factor * d);
    returns a new array equal to the new v (what is written: the velocity goes on changing).
    Only for arrays that fit (see fits)."""
    _check(v, change=d)
    out = np.empty_like(v)
    _momentum(v.reshape(-1), np.ascontiguousarray(d).reshape(-1), decay, factor, out.reshape(-1))
    return out


def _check(*moments: np.ndarray, change: np.ndarray) -> None:
    """The kernels read flat views with no bounds checked: arrays that do not fit are refused."""
    if not fits(*moments, change=change):
        raise ValueError("compiled optimizer step: the moments must be C-contiguous float64 arrays of the "
                         "float64 change's shape")


@_exact
def _momentum(v, d, decay, factor, out):
    for i in range(v.size):
        x = v[i] * decay + factor * d[i]
        v[i] = x
        out[i] = x


def adam(m: np.ndarray, v: np.ndarray, g: np.ndarray, b1: float, b2: float, t: int, eps: float,
         step_size: float) -> np.ndarray:
    """Adam's moments m, v updated in place from g and the change `step_size` m_hat / (sqrt(v_hat)
    + eps) returned, as schedule.adam_step computes them (step_size: rate * factor, before the
    first moment's bias correction, which is applied as adam_step does: to the scalar). Only for
    arrays that fit (see fits)."""
    _check(m, v, change=g)
    out = np.empty_like(m)
    _adam(m.reshape(-1), v.reshape(-1), np.ascontiguousarray(g).reshape(-1), b1, 1.0 - b1, b2,
          1.0 - b2, 1.0 - b2 ** t, eps, step_size / (1.0 - b1 ** t), out.reshape(-1))
    return out


@_exact
def _adam(m, v, g, b1, new1, b2, new2, correction2, eps, scale, out):
    """new1, new2: the new gradient's weights in the moments (1 - b1, 1 - b2)."""
    for i in range(m.size):
        mi = m[i] * b1 + new1 * g[i]
        vi = v[i] * b2 + new2 * g[i] * g[i]
        m[i] = mi
        v[i] = vi
        out[i] = scale * mi / (math.sqrt(vi / correction2) + eps)
