"""Benchmark: the central catalog pushed into many coops' shops.

Builds a central catalog in code (5,000 products of 50 producers by default)
and pushes it into 20 sandbox shops, one per coop, each with its own margin;
the shops run in a child process, so the memory figure is the bridge's alone.
Four scenarios follow one another: the first push (every product created),
every price changed, 1 % of the prices changed, nothing changed. For each, the
write requests the shops handled, their reads and the wall time, summed over
the coops, beside a naive push to fresh shops: one request per carried
product every time (a POST to create, a PUT afterwards), with the fields the
bridge writes.

The naive push is slow, so by default it runs for 2 coops and its figures are
scaled to all (every coop costs the same); `--naive-coops 20` measures it for
every coop (about half an hour on 2 cores). Its many signed requests meet the
sandbox's nonce check: the `woocommerce` package draws an OAuth nonce from
10^8 values, and the sandbox refuses (401) any nonce it saw in the last 15
minutes and looks through all of them on each signed request, so both the
refusals and the time per request grow with the requests already made.
WooCommerce keeps one nonce per second of that window instead, so on a real
shop refusals are rarer and the check costs the same at any volume. A naive
request so refused is sent again, freshly signed, and counted; a pot-bridge
push that stops is reported.

Run on demand: `.venv/bin/python benchmarks/catalog_push.py [--coops N]
[--products N] [--naive-coops N]`. Not a test: it prints figures and checks
only that the shops hold every product at the last scenario's price.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import structlog

from pot_bridge.bridge import Bridge
from pot_bridge.catalog.carry import sku_for, wanted
from pot_bridge.catalog.model import Catalog, CentralProducer, CentralProduct
from pot_bridge.catalog.price import coop_price
from pot_bridge.catalog.shelf import write
from pot_bridge.config import CatalogSource, CoopCatalog, CoopConfig, Settings
from pot_bridge.errors import ShopAuthError
from pot_bridge.sandbox import SandboxShop, ShopState
from pot_bridge.shop.client import ShopClient

KEY, SECRET = "ck_" + "a4" * 20, "cs_" + "9d" * 20
# the product page the bridge writes without a [catalog] table (text only)
PAGE = CatalogSource.model_fields["product_page"].default
CATEGORIES = ("Gemüse", "Obst", "Käse", "Brot", "Mehl & Getreide", "Öl", "Eier")
UNITS = ("kg", "500 g", "Stück", "Bund", "1 l", "250 g")
PER_PRODUCER = 100
SCENARIOS = ("first push", "all change", "1% change", "none change")


# -- the shops' process ------------------------------------------------------------


def serve(coops: int, pipe: Connection) -> None:
    """Run one empty shop per coop; answer the parent's questions until "stop".

    "fresh" replaces every shop by an empty one (for the naive pushes),
    "counts" answers the writes and requests each shop has handled, and
    "holdings" the products and the sum of their prices, for the checks.
    """
    shops = _open_shops(coops)
    pipe.send([shop.url for shop in shops])
    while True:
        command = pipe.recv()
        if command == "fresh":
            for shop in shops:
                shop.stop()
            shops = _open_shops(coops)
            pipe.send([shop.url for shop in shops])
        elif command == "counts":
            pipe.send([(sum(s.writes.values()), len(s.requests)) for s in shops])
        elif command == "holdings":
            pipe.send([_holding(shop) for shop in shops])
        else:
            break
    for shop in shops:
        shop.stop()


def _open_shops(coops: int) -> list[SandboxShop]:
    shops = []
    for _ in range(coops):
        state = ShopState()
        state.add_category(15, "Uncategorized", "uncategorized")
        shop = SandboxShop(state, consumer_key=KEY, consumer_secret=SECRET)
        shops.append(shop.start())

    return shops


def _holding(shop: SandboxShop) -> tuple[int, Decimal]:
    with shop.state.lock:
        products = list(shop.state.products.values())

    return len(products), sum((Decimal(p.regular_price) for p in products), Decimal(0))


# -- the catalog and the coops -----------------------------------------------------


def central(products: int, bump: Callable[[int], Decimal]) -> Catalog:
    """`products` products of 100 per producer; product n costs its base price
    plus `bump(n)`."""
    producers = {
        f"P{p}": CentralProducer(pot_id=f"P{p}", name=f"Hof {p}", origin="CH")
        for p in range((products + PER_PRODUCER - 1) // PER_PRODUCER)
    }
    items = {}
    for n in range(products):
        pot_id = str(10_000 + n)
        items[pot_id] = CentralProduct(
            pot_id=pot_id,
            producer_id=f"P{n // PER_PRODUCER}",
            name=f"Produkt {n}",
            unit=UNITS[n % len(UNITS)],
            price=Decimal(150 + n % 2000) / 100 + bump(n),
            vat="reduced",
            category=CATEGORIES[n % len(CATEGORIES)],
            origin="CH",
            short_description=f"Aus dem Betrieb {n // PER_PRODUCER}",
        )

    return Catalog(producers=producers, products=items)


def catalogs(products: int) -> dict[str, Catalog]:
    """The catalog of each scenario, in order: every price 0.10 up, then one
    product in a hundred 0.50 more, then the same again."""
    every = Decimal("0.10")

    def one_in_a_hundred(n: int) -> Decimal:
        return every + (Decimal("0.50") if n % 100 == 0 else 0)

    moved = central(products, one_in_a_hundred)

    return {
        "first push": central(products, lambda n: Decimal(0)),
        "all change": central(products, lambda n: every),
        "1% change": moved,
        "none change": moved,
    }


def coop_config(number: int, url: str, producers: list[str]) -> CoopConfig:
    return CoopConfig(
        slug=f"coop-{number:02}",
        name=f"Foodcoop {number}",
        shop_url=url,
        rounds="schedule",
        schedule={"weekday": "tuesday", "time": "20:00"},
        history_since=date(2020, 1, 1),
        requests_per_second=0,
        consumer_key=KEY,
        consumer_secret=SECRET,
        catalog=CoopCatalog(producers=producers, margin_percent=Decimal(number % 20)),
    )


# -- the two ways of pushing -------------------------------------------------------


@dataclass
class Figures:
    """One scenario's sums over the coops; `refused` counts the requests the
    shops refused for a reused OAuth nonce, `stopped` the pushes cut short."""

    writes: int = 0
    reads: int = 0
    seconds: float = 0.0
    refused: int = 0
    stopped: list[str] = field(default_factory=list)


def bridge_pushes(
    urls: list[str],
    catalogs: dict[str, Catalog],
    counts: Callable[[], list[tuple[int, int]]],
) -> tuple[dict[str, Figures], float]:
    """Every scenario through pot-bridge; returns the figures and peak RSS (MiB)."""
    producers = sorted(catalogs["first push"].producers)
    coops = [coop_config(n, url, producers) for n, url in enumerate(urls)]
    figures: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as state:
        bridge = Bridge(Settings(state_dir=Path(state), coops=coops))
        for scenario, catalog in catalogs.items():
            before = counts()
            stopped = []
            started = time.perf_counter()
            for coop in coops:
                _plan, pushed = bridge.catalog_push(coop.slug, catalog)
                if pushed.failed or pushed.error:
                    stopped.append(f"{coop.slug}: {pushed.error or pushed.failed}")
            elapsed = time.perf_counter() - started
            figures[scenario] = _delta(before, counts(), elapsed)
            figures[scenario].stopped = stopped
            _progress(f"pot-bridge, {scenario}: {elapsed:.1f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        bridge.dispose()

    return figures, peak


def naive_pushes(
    urls: list[str],
    catalogs: dict[str, Catalog],
    counts: Callable[[], list[tuple[int, int]]],
) -> dict[str, Figures]:
    """One request per product and scenario, whatever changed."""
    producers = sorted(catalogs["first push"].producers)
    coops = [coop_config(n, url, producers) for n, url in enumerate(urls)]
    clients = [
        ShopClient(c.slug, c.shop_url, KEY, SECRET, requests_per_second=0)
        for c in coops
    ]
    ids: list[dict[str, int]] = [{} for _ in coops]
    categories: list[dict[str, int]] = [{} for _ in coops]
    figures: dict[str, Figures] = {}
    for scenario, catalog in catalogs.items():
        before = counts()
        refused = 0
        started = time.perf_counter()
        for coop, client, known, kinds in zip(
            coops, clients, ids, categories, strict=True
        ):
            assert coop.catalog is not None
            for name in sorted({p.category for p in catalog.products.values()}):
                if name not in kinds:
                    answer, again = _sent(
                        client.post, "products/categories", {"name": name}
                    )
                    kinds[name] = int(answer["id"])
                    refused += again
            for body, product in _bodies(catalog, coop.catalog, kinds):
                if product.pot_id in known:
                    _answer, again = _sent(
                        client.put, f"products/{known[product.pot_id]}", body
                    )
                else:
                    answer, again = _sent(
                        client.post, "products", {**body, "sku": sku_for(product)}
                    )
                    known[product.pot_id] = int(answer["id"])
                refused += again
        elapsed = time.perf_counter() - started
        figures[scenario] = _delta(before, counts(), elapsed)
        figures[scenario].refused = refused
        _progress(f"naive, {scenario}: {elapsed:.1f} s")
    for client in clients:
        client.close()

    return figures


def _sent(
    send: Callable[[str, dict[str, Any]], Any], endpoint: str, body: dict[str, Any]
) -> tuple[Any, int]:
    """Send; a request refused for a reused OAuth nonce goes again, freshly
    signed, and is counted (see the module docstring)."""
    refused = 0
    while True:
        try:
            return send(endpoint, body), refused
        except ShopAuthError as exc:
            if "nonce" not in str(exc) or refused >= 3:
                raise
            refused += 1


def _bodies(
    catalog: Catalog, carry: CoopCatalog, categories: dict[str, int]
) -> Iterator[tuple[dict[str, Any], CentralProduct]]:
    """Each product's fields as the bridge would write them, all of them."""
    for product in catalog.products.values():
        producer = catalog.producers[product.producer_id]
        values = wanted(product, producer, carry, listed=True, manages_stock=False)
        body: dict[str, Any] = {}
        for name, value in values.items():
            write(body, name, value, categories)
        write(body, "pot_id", product.pot_id, categories)
        write(body, "pot_url", PAGE.format(pot_id=product.pot_id), categories)
        yield body, product


def _delta(
    before: list[tuple[int, int]], after: list[tuple[int, int]], seconds: float
) -> Figures:
    writes = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
    requests = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))

    return Figures(writes, requests - writes, seconds)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the run -----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coops", type=int, default=20)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument(
        "--naive-coops",
        type=int,
        default=2,
        help="coops the naive push runs for (default 2; its figures are then "
        "scaled to --coops, since every coop costs the same)",
    )
    args = parser.parse_args()
    naive_coops = max(0, min(args.naive_coops, args.coops))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))

    made = time.perf_counter()
    scenarios = catalogs(args.products)
    made = time.perf_counter() - made
    ours, theirs = multiprocessing.Pipe()
    shops = multiprocessing.Process(target=serve, args=(args.coops, theirs))
    shops.start()

    def ask(command: str) -> Any:
        ours.send(command)
        return ours.recv()

    try:
        urls = ours.recv()
        bridge, peak = bridge_pushes(urls, scenarios, lambda: ask("counts"))
        problems = _check(ask("holdings"), scenarios["none change"])
        naive: dict[str, Figures] = {}
        if naive_coops:
            urls = ask("fresh")[:naive_coops]
            naive = naive_pushes(urls, scenarios, lambda: ask("counts")[:naive_coops])
            held = ask("holdings")[:naive_coops]
            problems += _check(held, scenarios["none change"])
    finally:
        ours.send("stop")
        shops.join()

    _report(args.products, args.coops, naive_coops, made, bridge, naive, peak)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")


def _report(
    products: int,
    coops: int,
    naive_coops: int,
    made: float,
    bridge: dict[str, Figures],
    naive: dict[str, Figures],
    peak: float,
) -> None:
    scale = coops / naive_coops if naive_coops else 0.0
    print(
        f"{products:,} central products, {coops} coops, one sandbox shop each "
        f"(catalog built in {made:.1f} s); sums over the {coops} coops"
    )
    if naive and naive_coops < coops:
        print(
            f"naive: measured on {naive_coops} coops, scaled ×{scale:g} "
            f"to {coops} (measured figures in brackets)"
        )
    print(
        f"{'scenario':<12} {'pot-bridge writes':>17} {'reads':>6} {'time':>8}"
        f"  {'naive writes':>12} {'time':>8}"
    )
    for scenario in SCENARIOS:
        ours, theirs = bridge[scenario], naive.get(scenario)
        line = (
            f"{scenario:<12} {ours.writes:>17,} {ours.reads:>6,} {ours.seconds:>6.1f} s"
        )
        if theirs is not None:
            line += (
                f"  {round(theirs.writes * scale):>12,} "
                f"{theirs.seconds * scale:>6.1f} s"
            )
            if naive_coops < coops:
                line += f"  [{theirs.writes:,} writes, {theirs.seconds:.1f} s]"
        print(line)
    print(f"pot-bridge peak memory (RSS): {peak:.0f} MiB")

    for scenario in SCENARIOS:
        for stopped in bridge[scenario].stopped:
            print(f"pot-bridge, {scenario}, stopped: {stopped}")
    refused = {s: f.refused for s, f in naive.items() if f.refused}
    if refused:
        print(
            "naive: requests refused for a reused OAuth nonce and sent again: "
            + ", ".join(f"{n} in {s}" for s, n in refused.items())
        )


def _check(holdings: list[tuple[int, Decimal]], catalog: Catalog) -> list[str]:
    """Every shop holds every product, at the price of the last scenario."""
    problems = []
    for number, (count, total) in enumerate(holdings):
        carry = coop_config(number, "http://127.0.0.1:1", []).catalog
        assert carry is not None
        expected = sum(coop_price(p.price, carry) for p in catalog.products.values())
        if (count, total) != (len(catalog.products), expected):
            problems.append(
                f"shop {number} holds {count} products worth {total}, "
                f"not {len(catalog.products)} worth {expected}"
            )

    return problems


if __name__ == "__main__":
    main()
