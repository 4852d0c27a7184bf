"""The POT plugin's `foodcoop/v1` routes, beside `wc/v3` on the same shop.

They share the shop's session, retries, breaker and rate limit, but
authenticate with a WordPress application password: the routes refuse
WooCommerce keys. Credentials are sent even to routes that are open today
(`getBestellrunden`), since later plugin versions may close them. Most answers
are JSON strings holding JSON and are decoded twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pot_bridge.errors import ShopBadResponse
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.signing import PLUGIN_NAMESPACE
from pot_bridge.shop.wire import PluginRound, parse_many, parse_round


class PluginClient:
    """Typed access to the plugin routes a bridge reads."""

    def __init__(self, shop: ShopClient) -> None:
        self.shop = shop

    def get(self, route: str, params: Mapping[str, object] | None = None) -> Any:
        """A GET route's answer, decoded twice when it is double-encoded."""
        return self.shop.call(
            "GET",
            route,
            params=params,
            namespace=PLUGIN_NAMESPACE,
            app_password=True,
            double_encoded=True,
        ).body

    def get_rounds(self) -> list[PluginRound]:
        """All ordering rounds; a malformed round raises instead of vanishing."""
        rows = self.get("getBestellrunden")
        if not isinstance(rows, list):
            raise ShopBadResponse(
                f"GET {PLUGIN_NAMESPACE}/getBestellrunden answered "
                f"{type(rows).__name__} instead of a list of rounds",
                coop=self.shop.coop,
            )

        rounds, problems = parse_many(rows, parse_round, self.shop.coop)
        if problems:
            raise problems[0]
        return rounds
