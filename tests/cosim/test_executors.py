"""Parallel co-simulation: a process pool and a Dask LocalCluster give the serial weights.

The batched engine starts every sweep point from the previous point's solution, and a worker's
previous point is another one than the serial run's: Newton lands on the same equilibrium to
rounding (measured: 1 ulp of the states, 2e-16), so the weights are compared to STATE_TOL.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from memprop.cosim.config.config import parse
from memprop.cosim.runs.trainer import Trainer

RUN = """
[network]
layers = [64, 16, 10]
[data]
train_size = 60
test_size = 20
validation = 0.0
[train]
rule = "{rule}"
epochs = 1
batch_size = 10
checkpoint_every = 1000
workers = {workers}
scheduler = "{scheduler}"
"""


#: How far a parallel run's device states may be from the serial run's (rounding, see above).
STATE_TOL = 1e-12


def _train(tmp_path, rule: str, workers: int, scheduler: str):
    cfg = parse(tomllib.loads(RUN.format(rule=rule, workers=workers, scheduler=scheduler)))
    trainer = Trainer(cfg, tmp_path / f"{rule}-{workers}-{scheduler or 'pool'}")
    rows = trainer.run()
    return trainer.states, rows[-1]


@pytest.mark.parametrize("rule", ["ep", "rbp"])
def test_process_pool_gives_the_serial_weights(tmp_path, rule):
    serial, row_s = _train(tmp_path, rule, 1, "")
    parallel, row_p = _train(tmp_path, rule, 2, "")
    for name in serial.states:
        assert np.max(np.abs(serial[name] - parallel[name])) <= STATE_TOL, name
    assert abs(row_p["train_loss"] - row_s["train_loss"]) <= 1e-9
    assert row_p["ngspice_analyses"] == row_s["ngspice_analyses"]  # the workers really ran ngspice


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_weights(tmp_path):
    pytest.importorskip("dask.distributed", reason="Dask is an optional extra: pip install 'dask[distributed]'")
    serial, _ = _train(tmp_path, "ep", 1, "")
    dask, row = _train(tmp_path, "ep", 2, "local")
    for name in serial.states:
        assert np.max(np.abs(serial[name] - dask[name])) <= STATE_TOL, name
    assert row["ngspice_analyses"] > 0


def test_parallel_workers_need_op_mode():
    from memprop.circuits.validation import ConfigError

    with pytest.raises(ConfigError, match="train.workers.*worker processes settle with .op"):
        parse(tomllib.loads('[train]\nworkers = 2\nanalysis = "tran"\n'))
