"""Data in and out: bounded, non-blocking file I/O (files) and the datasets (datasets)."""
