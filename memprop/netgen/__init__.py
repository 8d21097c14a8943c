"""Circuits -> netlist text, node-name maps and dialects. Pure: no simulation, no I/O."""
