"""Benchmark: the first pull of 10,000 orders from the sandbox shop.

Prints the requests made, wall time and peak memory of pot-bridge's sync, beside
two loops fetching the same pages: a bare `requests.Session` (connection reused)
and the `woocommerce` package's own `API` class (a new connection per call).
The shop runs in a child process, so the memory figure is the bridge's alone.
Run on demand: `.venv/bin/python benchmarks/sync_orders.py [--orders N]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import requests
import structlog
from woocommerce import API
from woocommerce.oauth import OAuth

from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopConfig, Settings
from pot_bridge.sandbox import SandboxShop, seed_bulk

KEY, SECRET = "ck_" + "b1" * 20, "cs_" + "e7" * 20


def serve(orders: int, pipe: Connection) -> None:
    """The shop's process: seed, warm the JSON cache, serve until told to stop."""
    shop = SandboxShop(
        seed_bulk(datetime.now(UTC), orders=orders),
        consumer_key=KEY,
        consumer_secret=SECRET,
    )
    shop.start()
    pipe.send(shop.url)
    pipe.recv()
    shop.stop()


def pages(url: str, total: int) -> list[str]:
    count = (total + 99) // 100
    return [
        f"{url}/wp-json/wc/v3/orders?per_page=100&page={n}&orderby=id&order=asc"
        for n in range(1, count + 1)
    ]


def bare_session(url: str, total: int) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        for page in pages(url, total):
            signed = OAuth(page, KEY, SECRET, version="wc/v3").get_oauth_url()
            session.get(signed, timeout=60).raise_for_status()
    return time.perf_counter() - started


def package_api(url: str, total: int) -> float:
    api = API(
        url=url, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", timeout=60
    )
    started = time.perf_counter()
    for n in range(1, (total + 99) // 100 + 1):
        api.get(
            "orders",
            params={"per_page": 100, "page": n, "orderby": "id", "order": "asc"},
        ).raise_for_status()
    return time.perf_counter() - started


def bridge_sync(url: str, pipe: Connection) -> None:
    """In a process of its own: wall time, requests, orders stored, peak RSS."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    with tempfile.TemporaryDirectory() as state:
        coop = CoopConfig(
            slug="bench",
            name="Bench",
            shop_url=url,
            rounds="schedule",
            schedule={"weekday": "tuesday", "time": "20:00"},
            history_since=date(2020, 1, 1),
            requests_per_second=0,
            consumer_key=KEY,
            consumer_secret=SECRET,
        )
        bridge = Bridge(Settings(state_dir=Path(state), coops=[coop]))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = bridge.sync("bench")
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        requests_made = bridge.client(coop).requests_made
        bridge.dispose()
    pipe.send(
        (
            elapsed,
            requests_made,
            result.orders_seen,
            peak / 1024,
            (peak - before) / 1024,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))

    ours, theirs = multiprocessing.Pipe()
    shop = multiprocessing.Process(target=serve, args=(args.orders, theirs))
    shop.start()
    url = ours.recv()
    try:
        warm = bare_session(url, args.orders)  # fills the shop's JSON cache
        session_time = bare_session(url, args.orders)
        api_time = package_api(url, args.orders)
        ours_sync, theirs_sync = multiprocessing.Pipe()
        worker = multiprocessing.Process(target=bridge_sync, args=(url, theirs_sync))
        worker.start()
        elapsed, made, seen, peak, grown = ours_sync.recv()
        worker.join()
    finally:
        ours.send("stop")
        shop.join()

    print(f"orders in the shop:                {args.orders}")
    print(
        f"pot-bridge first sync:             {elapsed:.2f} s, {made} requests, "
        f"{seen} orders stored"
    )
    print(
        f"pot-bridge peak memory (RSS):      {peak:.0f} MiB, of which "
        f"{grown:.0f} MiB grew during the sync"
    )
    print(
        f"bare requests.Session, same pages: {session_time:.2f} s "
        f"(first, cold-cache pass {warm:.2f} s)"
    )
    print(
        f"woocommerce.API, same pages:       {api_time:.2f} s "
        "(a new connection per call)"
    )


if __name__ == "__main__":
    main()
