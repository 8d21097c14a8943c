"""Runs: the trainer and its run directory, plots, validation at transistor level, pattern reconstruction."""
