"""Golden files of the export dialects: one comparison for every test that pins exported text."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def assert_matches_golden(files: dict[str, str], prefix: str) -> None:
    """Each exported file equals tests/netgen/golden/<prefix>-<name> (MEMPROP_UPDATE_GOLDEN=1
    rewrites them)."""
    for name, text in files.items():
        golden = GOLDEN / f"{prefix}-{name}"
        if os.environ.get("MEMPROP_UPDATE_GOLDEN"):
            golden.write_text(text)
        assert golden.exists(), f"missing golden file {golden} (MEMPROP_UPDATE_GOLDEN=1 writes it)"
        assert text == golden.read_text(), f"{golden} differs"
