"""`memprop bench offsets`: what an op-amp input offset does to the gradients the circuit measures.

Every neuron of the default network at the macromodel level with an input offset v_os (the same in
every integrator, forward and side network alike). On one batch of digits, at the initial devices:

- the true gradient: central finite differences of the loss at the free equilibrium, in the twin,
  which models the offset exactly (it moves every equilibrium);
- RBP with the SPICE side network: the side neurons are the same integrators, so their offset adds
  to the adjoint lambda a term the error does not cause, and the gradient is biased;
- EP with every phase solved by ngspice, symmetric nudging: the offset is in every phase alike, and
  the contrast of the phases cancels it (to first order);
- RBP in the twin (the adjoint at the offset equilibrium, computed without any side-network
  offset) and EP in the twin, the references
  of the methods: what ngspice adds or removes is the difference from them.

EP's nudge is small (0.001): a larger one moves some hard-sigmoid unit across its rail between the
phases on this batch (at 0.1 and 0.3 mV with beta = 0.01, cosine 0.995 in ngspice and twin alike),
which is the finite nudge's bias, not the offset's.

Seeded (batch, devices, sampled weights), so the figures regenerate to ngspice's rounding.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_finite, check_int
from memprop.cosim.runs import rundir
from memprop.cosim.bench.reporting import render
from memprop.cosim.config.config import Config, build_network, initial_states
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.learning.estimators import EP, RBP
from memprop.cosim.learning.gradcheck import (_weight_index, batch_for, compare, ep_gradients, finite_differences,
                                              gradient, spice_gradient)

Log = Callable[[str], Any]
ESTIMATES = {"rbp_spice": "RBP, SPICE side network", "ep_spice": "EP in ngspice (symmetric)",
             "rbp_twin": "RBP, twin adjoint", "ep_twin": "EP, twin (symmetric)"}


@dataclass(frozen=True)
class OffsetsPlan:
    """The sweep: offsets, batch, EP's nudging, how many weights the finite differences check."""

    offsets_mv: tuple[float, ...] = param((0.0, 0.1, 0.3, 1.0, 3.0), "op-amp input offsets", "mV")
    batch: int = param(8, "digits in the batch")
    beta: float = param(0.001, "EP's nudging (symmetric: +beta and -beta)")
    max_fd: int = param(300, "weights the finite differences check (sampled)")
    seed: int = param(0, "seed of the batch and of the sampled weights")

    def __post_init__(self) -> None:
        if not self.offsets_mv or len(self.offsets_mv) > 32:
            raise ConfigError("offsets_mv", "give 1 to 32 offsets")
        for k, v in enumerate(self.offsets_mv):
            check_finite(f"offsets_mv[{k}]", v, low=-100.0, high=100.0)
        check_int("batch", self.batch, low=1, high=1797)
        check_finite("beta", self.beta, positive=True, high=10.0)
        check_int("max_fd", self.max_fd, low=1, high=10**6)
        check_int("seed", self.seed, low=0, high=2**32 - 1)


def offset_config(offset_mv: float) -> Config:
    """The default config with macromodel neurons of this input offset."""
    base = Config()
    return replace(base, neuron=replace(base.neuron, level="macromodel", v_offset=offset_mv * 1e-3))


def spice_gradients(network: Any, states: Any, x: np.ndarray, y: np.ndarray, beta: float) -> dict[str, np.ndarray]:
    """dL/dW from ngspice: the side network's lambda (RBP) and EP's symmetric phases."""
    return {"rbp_spice": spice_gradient(network, states, RBP(), x, y, side=True),
            "ep_spice": spice_gradient(network, states, EP("symmetric", beta), x, y)}


def measure(offset_mv: float, plan: OffsetsPlan) -> dict[str, Any]:
    """Each estimate's cosine and relative error with the true gradient at one offset."""
    cfg = offset_config(offset_mv)
    network = build_network(cfg)
    states = initial_states(cfg, network)
    x, y = batch_for(cfg, network, plan.batch, plan.seed)
    weights = _weight_index(network)
    rng = np.random.default_rng(plan.seed)
    subset = np.sort(rng.choice(len(weights), min(plan.max_fd, len(weights)), replace=False))
    true = finite_differences(network, states, x, y, [weights[k] for k in subset])
    grads = spice_gradients(network, states, x, y, plan.beta)
    twin = BehavioralEngine(network)
    twin.program(states)
    grads["rbp_twin"] = gradient(network, twin, RBP(), x, y)
    grads["ep_twin"] = ep_gradients(network, states, x, y, plan.beta)["symmetric"]
    return {"offset_mv": offset_mv, "weights": len(weights), "weights_checked": int(len(subset)),
            "true_norm": float(np.linalg.norm(true)),
            "estimates": {name: compare(g[subset], true) for name, g in grads.items()}}


def run(out_dir: str | Path, plan: OffsetsPlan = OffsetsPlan(), *, command: str = "",
        log: Log = print) -> dict[str, Any]:
    """Measure every offset; write results.json and report.md into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = []
    for offset in plan.offsets_mv:
        rows.append(measure(offset, plan))
        log(f"offset {offset:g} mV: " + ", ".join(f"{name} cosine {fig['cosine']:.4f}"
                                               for name, fig in rows[-1]["estimates"].items()))
    results = {"plan": asdict(plan), "command": command, "rows": rows, "seconds": time.perf_counter() - t0}
    rundir.atomic_write(out / "results.json", json.dumps(results, indent=1, sort_keys=True) + "\n")
    rundir.atomic_write(out / "report.md", report(results))
    return results


def report(results: dict[str, Any]) -> str:
    """The Markdown report (memprop/templates/reports/offsets.md.j2)."""
    return render("offsets.md.j2", r=results, estimates=ESTIMATES)
