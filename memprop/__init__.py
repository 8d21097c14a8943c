"""memprop: memristor recurrent networks that learn, as SPICE netlists co-simulated with ngspice.

The Python API (the same functions the `memprop` command line calls):

    import memprop
    cfg = memprop.layered([64, 16, 10], neuron="ideal", device="vteam")   # or memprop.config("run.toml")
    memprop.settle(cfg, "ngspice").voltages                                 # one equilibrium
    run = memprop.train(cfg, "run", epochs=1, backend="behavioral")         # -> Run (metrics, states, paths)
    memprop.evaluate(run)                                                   # test / validation accuracy
    memprop.export(run, "out", dialect="hspice")                            # netlist + testbench
    memprop.validate(run, "cmos", images=20)                                # transistor-level inference

Configs, networks: config, layered, recurrent, network. Simulation: netlist, settle. Runs: train,
open_run, evaluate, Run. Other simulators and levels: export, dialects, validate. Errors:
ConfigError (bad input, names the field), SimulationError (the simulator failed). Each function's
docstring carries an example; docs/tutorial.md walks through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Config", "ConfigError", "Run", "Settled", "SimulationError", "config", "dialects", "evaluate",
           "export", "layered", "netlist", "network", "open_run", "recurrent", "settle", "train", "validate"]

if TYPE_CHECKING:
    from memprop.api import (Config, ConfigError, Run, Settled, SimulationError, config, dialects, evaluate,
                             export, layered, netlist, network, open_run, recurrent, settle, train, validate)


def __getattr__(name: str) -> Any:
    """The API loads on first use, so `import memprop` stays cheap (no numpy, scipy or ngspice)."""
    if name in __all__:
        from memprop import api

        return getattr(api, name)
    raise AttributeError(f"module 'memprop' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
