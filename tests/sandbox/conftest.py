"""A seeded sandbox shop on a loopback port, its clock pinned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_helpers import NOW

from pot_bridge.sandbox import SandboxShop, seed_coop


@pytest.fixture
def shop() -> Iterator[SandboxShop]:
    """The seeded coop, its clock pinned to NOW so dates are reproducible."""
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state) as running:
        yield running
