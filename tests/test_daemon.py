"""The service's schedule: each coop's poll, and its nightly credit run."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bridge_helpers import make_bridge

from pot_bridge.daemon import Daemon
from pot_bridge.sandbox import SandboxShop


def test_each_coop_is_reconciled_nightly_at_its_own_hour(
    shop: SandboxShop, tmp_path: Path
) -> None:
    bridge = make_bridge(shop, f"sqlite:///{tmp_path / 'store.db'}", 2525, tmp_path)
    coop = bridge.settings.coops[0]
    credit = coop.credit.model_copy(update={"reconcile_at": time(3, 15)})
    coop = coop.model_copy(update={"credit": credit, "timezone": "Europe/Zurich"})
    bridge.settings = bridge.settings.model_copy(update={"coops": [coop]})
    daemon = Daemon(bridge)
    daemon.scheduler.start = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        daemon.start()

        job = daemon.scheduler.get_job("nightly:sandbox")
        assert job is not None
        assert "hour='3', minute='15'" in str(job.trigger)
        assert ZoneInfo("Europe/Zurich") == job.trigger.timezone
        assert daemon.nightly == job.func
    finally:
        bridge.dispose()
