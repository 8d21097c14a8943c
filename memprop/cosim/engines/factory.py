"""The one place an engine is chosen: serial in this process (memprop.cosim.engines.batched.serial_engine)
or spread over worker processes (memprop.cosim.engines.parallel). Its own module so that neither the
engines nor the executors import each other: engines <- batched <- executors <- factory."""

from __future__ import annotations

from memprop.circuits.network import Network
from memprop.circuits.validation import ConfigError
from memprop.cosim.engines.serial import serial_engine
from memprop.cosim.engines.parallel import ParallelEngine


def make_engine(backend: str, network: Network, analysis: str = "op", settle_time: float = 20.0,
                rule: str = "ep", workers: int = 1, scheduler: str | None = None, isolate: bool = False,
                timeout: float = 600.0, batching: str = "sweep", device_form: str = "auto",
                precision: str = "float64"):
    """The engine for a backend: serial in this process, or in worker processes (parallel, or
    isolated so that a crashed or hung ngspice is restarted instead of ending the run)."""
    if workers > 1 or scheduler or (isolate and backend == "ngspice"):
        if analysis != "op" and not network.neuron.transistor_level:
            raise ConfigError("train.workers", "parallel workers settle with .op; transient mode runs serially "
                                               "at the ideal and macromodel levels")
        return ParallelEngine(network, workers=workers, backend=backend, rule=rule, scheduler=scheduler,
                              timeout=timeout, batching=batching, analysis=analysis, settle_time=settle_time)
    return serial_engine(backend, network, analysis, settle_time, rule, batching, device_form, precision)
