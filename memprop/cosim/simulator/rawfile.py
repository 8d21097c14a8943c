"""Reading SPICE raw files (ASCII), as written by VACASK with options rawfile="ascii"."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memprop.circuits.validation import ConfigError
from memprop.cosim.data.files import read_bounded

#: ASCII raw files of the operating points memprop asks for are kilobytes.
MAX_RAW_BYTES = 256 * 2**20


def read_ascii_raw(path: str | Path) -> dict[str, np.ndarray]:
    """Variable name -> values over the points, for a real-valued ASCII raw file."""
    path = Path(path)
    raw = read_bounded(path, MAX_RAW_BYTES, "raw file")
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ConfigError("raw file", "not a text (UTF-8) raw file", str(path)) from None
    names: list[str] = []
    n_vars = n_points = 0
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("No. Variables:"):
            n_vars = int(line.split(":")[1])
        elif line.startswith("No. Points:"):
            n_points = int(line.split(":")[1])
        elif line.startswith("Variables:"):
            for j in range(n_vars):
                names.append(lines[k + 1 + j].split()[1])
            k += n_vars
        elif line.startswith("Values:"):
            k += 1
            break
        k += 1
    values = [float(tok) for line in lines[k:] for tok in line.split()]
    width = n_vars + 1  # every point starts with its index
    if not names or len(values) != width * n_points:
        raise ConfigError("raw file", f"expected {n_points} points of {n_vars} values", str(path))
    table = np.array(values).reshape(n_points, width)[:, 1:]
    return {name: table[:, j] for j, name in enumerate(names)}
