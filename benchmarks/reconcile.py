"""Benchmark: the nightly credit reconciliation of a big coop.

Seeds the state after earlier nights, built in code and written in bulk:
5,000 members with 200 wallet rows each (1,000,000 rows: deposits, depot fees
and order charges, each one booked or matched in the ledger, so 1,000,000
entries and 2,000,000 postings), 250,000 wallet-paid orders in the store, and
trouble to find: every 100th member's running balance lost 10.00, every 97th
member was charged twice for one order. Then runs `reconcile` as the daemon
does and prints each step's time and peak memory (RSS), then the report and
the apply of the proposals.

The shop's wallet is answered from memory: the rows are made again on
request and read as `PluginClient.ledger_rows` reads them, without the HTTP
transfer and the JSON decoding. With `--wire` the answer is the JSON body the
plugin sends instead (double-encoded, made before the run as the socket would
deliver it), decoded and read by the real `PluginClient.ledger_rows`: all that
production does in `read_wallet` but the HTTP transfer. The seed
is streamed, so what the process holds before the run is the store's, not the
benchmark's.

Run on demand (not a test):
    .venv/bin/python benchmarks/reconcile.py [--members N] [--rows-each N]
        [--wire] [--database-url postgresql+psycopg://user@127.0.0.1:5432/db]
Without `--database-url` the store is a fresh SQLite file in a temporary
folder; a PostgreSQL database must be empty (the schema is migrated into it).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import structlog
from sqlalchemy import BigInteger, Table, bindparam, insert, update
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.config import CoopConfig
from pot_bridge.credit import reconcile_report
from pot_bridge.credit.correct import apply
from pot_bridge.credit.reconcile import reconcile
from pot_bridge.ledger.accounts import BANK, CORRECTIONS, SALES, member
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.money import ZERO, from_rappen
from pot_bridge.shop import plugin
from pot_bridge.shop.client import Answer, ShopClient
from pot_bridge.shop.reply import decode_json
from pot_bridge.store import make_engine, migrate, session_factory
from pot_bridge.store.schema import (
    JournalEntry,
    LedgerAccount,
    Member,
    Order,
    Posting,
    WalletLink,
)

SLUG = "gross"
NOW = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
CHUNK = 20_000
WALLET = "foodcoop_guthaben"
BROKEN_EVERY = 100  # a running balance 10.00 short from the middle row on
TWICE_EVERY = 97  # the order of the 6th row charged a second time


def coop() -> CoopConfig:
    return CoopConfig(
        slug=SLUG,
        name="Foodcoop Gross",
        shop_url="http://127.0.0.1:1",
        wp_user="bridge",
        admin_email="kasse@gross.example.org",
    )


@dataclass
class Row:
    """One wallet row as the shop answers it, and what earlier nights made of
    it: its entry and link, and the order it charges."""

    raw: dict[str, Any]
    key: str
    kind: str  # the entry's
    status: str  # the link's
    member: int
    amount: int  # Rappen
    other: str  # the coop account against the member
    order: dict[str, Any] | None


def wallet(members: int, each: int) -> Iterator[Row]:
    """The same rows every time: a fixed random seed."""
    rng = random.Random(7)
    row_id, order_id = 0, 1000
    for number in range(2, members + 2):
        balance, week = 0, 0
        for i in range(each):
            order = None
            if i == 0 or i % 4 == 2:
                amount, kind, details = 60_00, "deposit", "Einzahlung Bank"
            elif i % 4 == 1:
                week, order_id = week + 1, order_id + 1
                amount = -rng.randrange(5_00, 60_00)
                order = _order(order_id, number, -amount, week)
                kind, details = "", f"Bestellung #{order_id} (Neubestellung)"
            else:
                amount, kind, details = -1_00, "manual_transaction", "Depotgebühr"
            balance += amount
            if number % BROKEN_EVERY == 0 and i == each // 2:
                balance -= 10_00  # the race: this row and all after it short

            row_id += 1
            yield _row(row_id, number, amount, balance, kind, details, order)
            if order is not None and number % TWICE_EVERY == 0 and i == 5:
                balance += amount
                row_id += 1
                yield _row(row_id, number, amount, balance, kind, details, None)


def _row(
    row_id: int,
    number: int,
    amount: int,
    balance: int,
    kind: str,
    details: str,
    order: dict[str, Any] | None,
) -> Row:
    when = START + timedelta(hours=row_id % 20_000, seconds=row_id % 60)
    text = f"{details} {row_id}" if kind == "deposit" else details
    raw = {
        "id": str(row_id),
        "user_id": str(number),
        "amount": str(from_rappen(amount)),
        "balance": str(from_rappen(balance)),
        "details": text,
        "created_by": " ",
        "date": when.strftime("%Y-%m-%d %H:%M:%S"),
        "type": kind,
        "reported": None,
    }
    # as take_rows linked them: an order's row matched to its debit, a
    # repeat booked against corrections, every other row booked from itself
    key = f"wallet:{row_id}"
    if order is not None:
        key = f"order:{order['order_id']}:paid"
        entry, status, other = "order", "matched", SALES
    elif kind == "":
        entry, status, other = "wallet_row", "duplicate", CORRECTIONS
    elif kind == "deposit":
        entry, status, other = "top_up", "booked", BANK
    else:
        entry, status, other = "wallet_row", "booked", CORRECTIONS

    return Row(raw, key, entry, status, number, amount, other, order)


def _order(order_id: int, number: int, total: int, week: int) -> dict[str, Any]:
    placed = NOW - timedelta(days=400 - week)
    return {
        "coop": SLUG,
        "order_id": order_id,
        "number": str(order_id),
        "status": "completed",
        "customer_id": number,
        "payment_method": WALLET,
        "round_key": f"plugin:{week}",
        "plugin_round_id": week,
        "created_gmt": placed,
        "modified_gmt": placed,
        "total": from_rappen(total),
        "content_hash": "-",
        "synced_at": NOW,
    }


def seed(sessions: sessionmaker[Session], members: int, each: int) -> dict[str, int]:
    """Write the ledger, links and orders of earlier nights in bulk, chunk by
    chunk; returns what was written."""
    counts = {"rows": 0, "entries": 0, "postings": 0, "orders": 0}
    with sessions.begin() as session:
        codes = [BANK, CORRECTIONS, SALES] + [member(n) for n in range(2, members + 2)]
        accounts = dict(
            session.execute(
                insert(LedgerAccount).returning(
                    LedgerAccount.code, LedgerAccount.id, sort_by_parameter_order=True
                ),
                [
                    {"coop": SLUG, "code": code, "balance": ZERO, "opened_at": START}
                    for code in codes
                ],
            )
            .tuples()
            .all()
        )
        session.execute(
            insert(Member),
            [
                {
                    "coop": SLUG,
                    "customer_id": n,
                    "first_name": "Mitglied",
                    "last_name": str(n),
                    "synced_at": NOW,
                }
                for n in range(2, members + 2)
            ],
        )

    sums = dict.fromkeys(codes, 0)
    chunk: list[Row] = []
    for row in wallet(members, each):
        chunk.append(row)
        if len(chunk) == CHUNK:
            _write(sessions, chunk, accounts, sums, counts)
            chunk = []
    _write(sessions, chunk, accounts, sums, counts)

    with sessions.begin() as session:
        table = cast(Table, LedgerAccount.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("pk"))
            .values(balance=bindparam("total", type_=BigInteger)),
            [{"pk": accounts[c], "total": rappen} for c, rappen in sums.items()],
        )

    return counts


def _write(
    sessions: sessionmaker[Session],
    rows: list[Row],
    accounts: dict[str, int],
    sums: dict[str, int],
    counts: dict[str, int],
) -> None:
    if not rows:
        return
    with sessions.begin() as session:
        orders = [r.order for r in rows if r.order is not None]
        if orders:
            session.execute(insert(Order), orders)
        entry_ids = session.scalars(
            insert(JournalEntry).returning(
                JournalEntry.id, sort_by_parameter_order=True
            ),
            [
                {
                    "coop": SLUG,
                    "key": r.key,
                    "kind": r.kind,
                    "text": r.raw["details"],
                    "booked_at": NOW - timedelta(days=1),
                    "effective": START.date(),
                    "reversal_of": None,
                }
                for r in rows
            ],
        ).all()
        postings = []
        for entry_id, r in zip(entry_ids, rows, strict=True):
            for code, rappen in ((member(r.member), r.amount), (r.other, -r.amount)):
                postings.append(
                    {
                        "entry_pk": entry_id,
                        "account_pk": accounts[code],
                        "amount": from_rappen(rappen),
                    }
                )
                sums[code] += rappen
        session.execute(insert(Posting), postings)
        session.execute(
            insert(WalletLink),
            [
                {
                    "coop": SLUG,
                    "row_id": int(r.raw["id"]),
                    "member": r.member,
                    "amount": from_rappen(r.amount),
                    "kind": r.raw["type"] or "order_new",
                    "status": r.status,
                    "entry_key": r.key,
                    "seen_at": NOW - timedelta(days=1),
                }
                for r in rows
            ],
        )
    counts["rows"] += len(rows)
    counts["entries"] += len(rows)
    counts["postings"] += len(postings)
    counts["orders"] += len(orders)


class Shop:
    """The plugin's `getAllTransactions`, answered from memory: the rows made
    again and read one by one as the client reads the shop's answer."""

    def __init__(self, members: int, each: int) -> None:
        self.members, self.each = members, each

    def ledger_rows(self) -> list[WalletRow]:
        rows = [
            plugin.parse_ledger_row(row.raw, SLUG)
            for row in wallet(self.members, self.each)
        ]
        return sorted(rows, key=lambda r: r.id)


class Wire:
    """The shop's side of `getAllTransactions` as bytes, for `PluginClient`:
    the body the plugin sends (its JSON encoded once more by WordPress),
    given up once decoded, as the HTTP client gives up its response."""

    coop = SLUG

    def __init__(self, members: int, each: int) -> None:
        inner = io.StringIO()
        inner.write("[")
        for i, row in enumerate(wallet(members, each)):
            inner.write("," if i else "")
            inner.write(json.dumps(row.raw, separators=(",", ":")))
        inner.write("]")
        self.body = json.dumps(inner.getvalue()).encode()

    def call(self, method: str, route: str, **options: Any) -> Answer:
        body, self.body = self.body, b""
        twice = options.get("double_encoded", False)
        return Answer(decode_json(body, double_encoded=twice), {}, {})


class Meter:
    """Time and peak RSS per step: the kernel's high-water mark is reset
    after each step where Linux allows it, else the peak so far is shown."""

    def __init__(self) -> None:
        self.highest = 0.0
        self.started = time.perf_counter()
        self.resettable = _reset_peak()

    def step(self, name: str) -> None:
        seconds = time.perf_counter() - self.started
        peak = _status("VmHWM") if self.resettable else _maxrss()
        self.highest = max(self.highest, peak)
        print(
            f"  {name:<18} {seconds:7.2f} s   peak {peak:6.0f} MiB   "
            f"after {_status('VmRSS'):6.0f} MiB"
        )
        self.resettable = _reset_peak()
        self.started = time.perf_counter()


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return _maxrss()


def _maxrss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--rows-each", type=int, default=200)
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument(
        "--wire", action="store_true", help="read the JSON body as production does"
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        engine = make_engine(url)
        migrate(engine)
        sessions = session_factory(engine)
        config = coop()

        began = time.perf_counter()
        counts = seed(sessions, args.members, args.rows_each)
        print(
            f"seeded {engine.dialect.name} in {time.perf_counter() - began:.0f} s: "
            f"{args.members} members, {counts['rows']} wallet rows, "
            f"{counts['entries']} entries, {counts['postings']} postings, "
            f"{counts['orders']} orders; RSS {_status('VmRSS'):.0f} MiB"
        )

        shop: Shop | plugin.PluginClient = Shop(args.members, args.rows_each)
        if args.wire:
            answer = Wire(args.members, args.rows_each)
            shop = plugin.PluginClient(cast(ShopClient, answer))
            print(f"wallet body {len(answer.body) / 2**20:.0f} MiB as sent")

        meter = Meter()
        print("reconcile, the nightly run:")
        total = time.perf_counter()
        run = reconcile(sessions, shop, config, NOW, on_step=meter.step)
        print(f"  {'total':<18} {time.perf_counter() - total:7.2f} s")
        proposed = sum(1 for f in run.findings if f.correction is not None)
        print(f"  {len(run.findings)} findings, {proposed} corrections proposed")

        meter.started = time.perf_counter()
        with sessions.begin() as session:
            reconcile_report.report(session, config, run, NOW)
        meter.step("report")
        applied = apply(sessions, config, run.id, NOW)
        meter.step("apply")
        print(f"  {applied.booked} corrections booked")
        print(f"peak RSS during the run: {meter.highest:.0f} MiB")
        engine.dispose()


if __name__ == "__main__":
    main()
