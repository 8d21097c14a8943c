"""Benchmarks: one module per `memprop bench X`, each writing a report directory."""
