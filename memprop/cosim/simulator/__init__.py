"""The simulator: the process's one ngspice (session), raw files (rawfile) and single cells (cells)."""
