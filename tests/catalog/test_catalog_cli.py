"""`pot-bridge catalog …` as an admin runs it: a process, a config file, a feed
served on loopback and the sandbox shop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pot_bridge.sandbox import SandboxShop, ShopState

from . import FEED, FeedServer

CONFIG = """
state_dir = "{state}"
database_url = "{db_url}"
log_format = "json"

[catalog]
feed_url = "{feed_url}"
product_page = "https://db.pot.example.org/produkt/{{pot_id}}"

[[coop]]
slug = "nord"
name = "Foodcoop Nord"
shop_url = "{shop_url}"
wp_user = "{wp_user}"
requests_per_second = 0

[coop.catalog]
producers = ["P17", "Mühle Eschenz"]
margin_percent = 10
category_map = {{ "Käse" = "Milchprodukte" }}

[[coop]]
slug = "sued"
name = "Foodcoop Süd"
shop_url = "{shop_url}"
wp_user = "{wp_user}"
"""


@pytest.fixture
def shop() -> Iterator[SandboxShop]:
    state = ShopState()
    state.add_category(15, "Uncategorized", "uncategorized")
    with SandboxShop(state) as running:
        yield running


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    # an image host the sandbox shop could reach (the feed's own is reserved)
    body = FEED.replace("https://img.example/k.jpg", "https://cdn.example.net/k.jpg")
    with FeedServer(body.encode()) as running:
        yield running


@pytest.fixture
def config(
    tmp_path: Path, shop: SandboxShop, feed_server: FeedServer, db_url: str
) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "pot-bridge.toml"
    path.write_text(
        CONFIG.format(
            state=tmp_path,
            db_url=db_url,
            feed_url=feed_server.url,
            shop_url=shop.url,
            wp_user=shop.app_user,
        ),
        encoding="utf-8",
    )
    env = dict(os.environ)
    for slug in ("NORD", "SUED"):
        env[f"POT_BRIDGE_{slug}_CONSUMER_KEY"] = shop.consumer_key
        env[f"POT_BRIDGE_{slug}_CONSUMER_SECRET"] = shop.consumer_secret
        env[f"POT_BRIDGE_{slug}_WP_APP_PASSWORD"] = shop.app_password
    return path, env


def pot_bridge(
    config: tuple[Path, dict[str, str]], *args: str
) -> subprocess.CompletedProcess[str]:
    path, env = config
    return subprocess.run(
        [sys.executable, "-m", "pot_bridge.cli", "--config", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_fetch_diff_push_then_nothing_left_to_do(
    config: tuple[Path, dict[str, str]], shop: SandboxShop
) -> None:
    fetched = pot_bridge(config, "catalog", "fetch")
    diff = pot_bridge(config, "catalog", "diff", "nord")
    writes_after_diff = sum(shop.writes.values())
    pushed = pot_bridge(config, "catalog", "push", "nord")
    again = pot_bridge(config, "catalog", "diff", "nord")

    assert 0 == fetched.returncode, fetched.stderr
    assert "catalog version 1 (stored): 2 producers, 3 products" in fetched.stdout
    assert 0 == diff.returncode, diff.stderr
    assert "coop nord, catalog version 1: 2 create, 1 image" in diff.stdout
    assert "Bergkäse mild" in diff.stdout
    assert "price              – → 27.30" in diff.stdout
    assert "category           – → Milchprodukte (new)" in diff.stdout
    assert 0 == writes_after_diff
    assert 0 == pushed.returncode, pushed.stdout + pushed.stderr
    assert "coop nord: 2 created" in pushed.stdout
    assert "3 write requests" in pushed.stdout  # a category, a batch, an image
    assert 3 == sum(shop.writes.values())
    assert 2 == len(shop.state.products)
    assert "nothing to write" in again.stdout
    for run in (fetched, diff, pushed, again):
        assert shop.consumer_secret not in run.stdout + run.stderr


def test_refusals_are_named(config: tuple[Path, dict[str, str]]) -> None:
    before_fetch = pot_bridge(config, "catalog", "diff", "nord")
    pot_bridge(config, "catalog", "fetch")
    no_catalog = pot_bridge(config, "catalog", "push", "sued")
    unknown = pot_bridge(config, "catalog", "diff", "west")

    assert 1 == before_fetch.returncode
    assert "run `pot-bridge catalog fetch` first" in before_fetch.stderr
    assert 1 == no_catalog.returncode
    assert "coop 'sued' has no [coop.catalog] table" in no_catalog.stderr
    assert 1 == unknown.returncode
    assert "no coop 'west'" in unknown.stderr
