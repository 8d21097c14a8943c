"""Which engine settles a backend's phases in this process (the parallel executors and the factory
ask here; engines/factory.py chooses between this and worker processes)."""

from __future__ import annotations

from memprop.circuits.network import Network
from memprop.cosim.engines.batched import BatchedNgspiceEngine, BatchedTransientEngine, batched_transient_fits
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.transistor import TransistorTransientEngine
from memprop.cosim.engines.twin import BehavioralEngine


def serial_engine(backend: str, network: Network, analysis: str = "op", settle_time: float = 20.0,
                  rule: str = "ep", batching: str = "sweep", device_form: str = "auto", precision: str = "float64"):
    """The engine that settles a backend's phases in this process. ngspice `.op` phases are batched
    into warm-started sweeps unless batching is "per-phase"; so are transient phases (back to back
    in one `.tran`, devices in their read form) where the read form is right
    (batched_transient_fits) and device_form is "auto"; other transients run per phase with the
    devices' state equations live. Transistor-level cells in transient mode have their phases back
    to back in one `.tran` (engines/transistor.py); sky130 trains in that mode only (config.py),
    cmos `.op` phases still go to the sweep (as slow as cold `.op`s there)."""
    if backend == "ngspice" and network.neuron.transistor_level and analysis == "tran":
        return TransistorTransientEngine(network, settle_time=settle_time)
    if backend == "ngspice" and analysis == "op" and batching == "sweep":
        return BatchedNgspiceEngine(network, side=(rule == "rbp"))
    if backend == "ngspice" and batching == "sweep" and device_form == "auto" and batched_transient_fits(network):
        return BatchedTransientEngine(network, settle_time=settle_time)
    if backend == "ngspice":
        return NgspiceEngine(network, analysis=analysis, settle_time=settle_time, side=(rule == "rbp"))
    return BehavioralEngine(network, in_place=True, precision=precision)
