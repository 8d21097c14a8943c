"""The run configuration: TOML in, typed and validated dataclasses out, and back to TOML."""
