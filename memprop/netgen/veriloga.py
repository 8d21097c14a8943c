"""Verilog-A models generated from the same parameters as the SPICE subcircuits.

Every registered memristor model and the neuron cell have a template under
memprop/templates/veriloga/; the numbers are the circuit dataclasses' own, so a model compiled
with a Verilog-A compiler (e.g. openvaf-r) simulates the same equations as memprop's decks.
"""

from __future__ import annotations

import functools

import jinja2

from memprop.circuits.devices import HPLinearDrift, MemristorModel
from memprop.circuits.neuron import Neuron
from memprop.netgen.deck import number, template_environment

#: Verilog-A keeps ports and parameters in one namespace: the window exponent `p` would clash
#: with port p, so it is renamed.
RENAMES = {"p": "p_win"}


@functools.lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    return template_environment("templates/veriloga")


def device_module(device: MemristorModel) -> tuple[str, str]:
    """(module name, Verilog-A text) of a memristor model."""
    params = [(RENAMES.get(k, k), number(v)) for k, v in device.spice_params().items()]
    ctx = {"params": params}
    if isinstance(device, HPLinearDrift):
        params.append(("k", number(device.k)))
        ctx["window"] = device.window
    params += [(k, number(v)) for k, v in device.spice_constants().items()]
    return f"memprop_{device.template}", _env().get_template(f"{device.template}.va.j2").render(**ctx)


def neuron_module(neuron: Neuron) -> tuple[str, str]:
    """(module name, Verilog-A text) of the macromodel neuron cell."""
    keys = ("r_f", "c_f", "a0", "v_rail", "v_offset", "v_low", "v_high")
    params = [(k, number(getattr(neuron, k))) for k in keys] + [("c_pole", number(neuron.pole_capacitance))]
    return "memprop_neuron", _env().get_template("neuron_macromodel.va.j2").render(
        params=params, activation=neuron.activation)


def all_modules(device: MemristorModel, neuron: Neuron) -> dict[str, str]:
    """File name -> text for the device model and the neuron cell."""
    out = {}
    for name, text in (device_module(device), neuron_module(neuron)):
        out[f"{name}.va"] = text
    return out



