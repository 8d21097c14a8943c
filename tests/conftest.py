"""Shared fixtures: the process's one ngspice session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ngspice():
    from memprop.cosim.simulator.session import NgSpiceSession

    return NgSpiceSession.instance()
