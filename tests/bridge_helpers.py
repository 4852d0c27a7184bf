"""Building a bridge on a sandbox shop, for the tests that run the whole loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pot_bridge.bridge import Bridge
from pot_bridge.demo import sandbox_settings
from pot_bridge.sandbox import SandboxShop

FAST_CLIENT = {
    "sleep": lambda seconds: None,
    "backoff_base": 0.0,
    "backoff_cap": 5.0,
    "read_timeout": 3.0,
    "connect_timeout": 3.0,
}


def make_bridge(
    shop: SandboxShop,
    db_url: str,
    smtp_port: int,
    tmp_path: Path,
    *,
    slug: str = "sandbox",
    **client: object,
) -> Bridge:
    """A bridge on the sandbox coop, as the demo configures it, on this store."""
    settings = sandbox_settings(tmp_path, shop, smtp_port)
    coop = settings.coops[0].model_copy(update={"slug": slug})
    settings = settings.model_copy(update={"database_url": db_url, "coops": [coop]})
    return Bridge(settings, clock=ahead, client_options={**FAST_CLIENT, **client})


def ahead() -> datetime:
    """A clock a minute ahead, so the sync's settle time (30 s, against commits
    still under way in the shop) does not hide what a test changed just now."""
    return datetime.now(UTC) + timedelta(minutes=1)
