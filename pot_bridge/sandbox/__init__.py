"""A WooCommerce-compatible shop with the POT plugin's routes, on loopback.

The demo, the benchmarks and the tests talk to it over a real socket, so the
bridge's HTTP client meets the same wire format, auth rules and failures as
on a coop's shop. Nothing in pot-bridge proper imports this package.
"""

from __future__ import annotations

from pot_bridge.sandbox.faults import Fault
from pot_bridge.sandbox.seed import SEED, seed_bulk, seed_coop
from pot_bridge.sandbox.server import RequestRecord, SandboxShop
from pot_bridge.sandbox.state import ShopState

__all__ = [
    "SEED",
    "Fault",
    "RequestRecord",
    "SandboxShop",
    "ShopState",
    "seed_bulk",
    "seed_coop",
]
