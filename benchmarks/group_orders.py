"""Benchmark: closing one big round, with every group order and document.

A round of 2,000 members and 50,000 order lines over 40 producers is written
into a fresh SQLite store; then the round is closed as the daemon would: each
producer's group order is built (packs rounded down, so members' shares are
allocated), its PDF and CSVs made and queued, and the coop's distribution list
PDF. Prints the time of each part (the documents alone, then the close as the
bridge does it: documents laid out before the write transaction), and the peak
memory.
Run on demand: `.venv/bin/python benchmarks/group_orders.py [--members N]`.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import structlog

from pot_bridge import documents, pdf
from pot_bridge.close import close_round, prepare
from pot_bridge.config import CoopConfig, ProducerConfig
from pot_bridge.group_order import build
from pot_bridge.money import round_chf
from pot_bridge.store import make_engine, migrate, session_factory
from pot_bridge.store.schema import Order, OrderLine, Product, Round

PRODUCERS = 40
PRODUCTS_EACH = 25
CLOSES = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)


def coop() -> CoopConfig:
    return CoopConfig(
        slug="gross",
        name="Foodcoop Gross",
        shop_url="http://127.0.0.1:1",
        wp_user="bridge",
        admin_email="admin@gross.example.org",
        address=["Langstrasse 1", "8004 Zürich"],
        pickup_place="Depot Langstrasse",
        pack_policy="round-down",
        producer=[
            ProducerConfig(
                name=f"Produzent {p:02d}",
                email=f"p{p}@example.org",
                language=("de", "fr", "en")[p % 3],  # type: ignore[arg-type]
                packs_per_member=p % 2 == 0,
            )
            for p in range(PRODUCERS)
        ],
    )


def seed(sessions: object, config: CoopConfig, members: int, lines: int) -> Round:
    rng = random.Random(7)
    with sessions.begin() as session:  # type: ignore[attr-defined]
        round_ = Round(
            coop=config.slug,
            key="plugin:1",
            name="KW 49",
            opens_at=CLOSES - timedelta(days=4),
            closes_at=CLOSES,
            distribution_day=date(2026, 12, 5),
        )
        session.add(round_)
        products = []
        for p in range(PRODUCERS):
            for n in range(PRODUCTS_EACH):
                product_id = 1000 + p * 100 + n
                price = Decimal(rng.randrange(150, 2500)) / 100
                products.append((product_id, f"Produzent {p:02d}", price))
                session.add(
                    Product(
                        coop=config.slug,
                        product_id=product_id,
                        sku=f"P{product_id}",
                        name=f"Produkt {product_id} aus der Region",
                        producer=f"Produzent {p:02d}",
                        unit="Stk",
                        pack_size=str(rng.choice([1, 4, 6, 10, 12])),
                        pot_id=str(40000 + product_id),
                        synced_at=CLOSES,
                    )
                )
        item = 0
        per_member = lines // members
        for m in range(members):
            order = Order(
                coop=config.slug,
                order_id=10_000 + m,
                status="processing",
                customer_id=m + 1,
                email=f"m{m}@example.org",
                member_name=f"Mitglied {m:04d}",
                payment_method="foodcoop_guthaben",
                pickup_place=f"Hub {m % 6}",
                round_key=round_.key,
                created_gmt=CLOSES - timedelta(minutes=m),
                modified_gmt=CLOSES - timedelta(minutes=m),
                total=Decimal(0),
                content_hash="x",
                synced_at=CLOSES,
            )
            for product_id, producer, price in rng.sample(products, per_member):
                item += 1
                qty = Decimal(rng.randrange(1, 4))
                amount = round_chf(price * qty)
                order.lines.append(
                    OrderLine(
                        item_id=item,
                        product_id=product_id,
                        variation_id=0,
                        name=f"Produkt {product_id} aus der Region",
                        sku=f"P{product_id}",
                        unit="Stk",
                        producer=producer,
                        quantity=qty,
                        amount=amount,
                    )
                )
                order.total += amount
            session.add(order)
    return round_


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=50_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))

    config = coop()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        migrate(engine)
        sessions = session_factory(engine)
        started = time.perf_counter()
        seed(sessions, config, args.members, args.lines)
        print(
            f"seeded {args.members} members, {args.lines} lines in "
            f"{time.perf_counter() - started:.1f} s"
        )

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with sessions() as session:
            round_ = session.query(Round).one()
            started = time.perf_counter()
            built = build(session, config, round_)
            build_s = time.perf_counter() - started

            started = time.perf_counter()
            size = 0
            for view in built.views:
                lang = config.producer(view.producer).language  # type: ignore[union-attr]
                size += len(pdf.group_order_pdf(view, lang, config.zone))
                size += len(documents.group_order_csv(view, lang))
                if view.per_member:
                    size += len(documents.member_csv(view, lang))
            size += len(pdf.distribution_pdf(built.views, "de", config.zone))
            docs_s = time.perf_counter() - started

        # as the bridge closes a round: documents laid out first, reading
        # only, then the short transaction that keeps and queues everything
        now = CLOSES + timedelta(minutes=5)
        with sessions() as session:
            round_ = session.query(Round).one()
            started = time.perf_counter()
            prepare(session, config, round_, now)
            prepare_s = time.perf_counter() - started
        with sessions.begin() as session:
            round_ = session.query(Round).one()
            started = time.perf_counter()
            closed = close_round(session, config, round_, now)
            close_s = time.perf_counter() - started
        engine.dispose()

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"group orders built: {len(built.views)} in {build_s:.2f} s")
    print(
        f"documents (PDF, CSV, distribution list): {size / 1e6:.1f} MB in "
        f"{docs_s:.2f} s"
    )
    print(
        f"closing as the bridge does: documents prepared in {prepare_s:.2f} s "
        f"(reads only), then {closed.group_orders} group orders and "
        f"{closed.mails_queued} mails kept in one transaction of {close_s:.2f} s"
    )
    print(f"peak RSS: {rss_before:.0f} MiB after seeding, {rss:.0f} MiB at the end")


if __name__ == "__main__":
    main()
