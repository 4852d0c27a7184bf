"""A round's group orders end to end: packs, refunds in the shop, corrections, holds.

Round A of the sandbox coop, over real sockets (shop, SMTP, the command line).
Prices include 2.6 % tax; a refund takes back net and tax of the line's share,
each rounded half up. Under `round-down`, with Joghurt in packs of 4 and Anna's
extra order of 5 Joghurt paid by bank transfer, members are refunded:

    order 131  Butter          1 of 1   4.48 + 0.12 =  4.60
    order 132  Vollmilch       4 of 4   7.41 + 0.19 =  7.60
    order 132  Joghurt nature  2 of 6   3.12 + 0.08 =  3.20   8 of 11 by packs:
    Anna       Joghurt nature  1 of 5   1.56 + 0.04 =  1.60   quotas 4.36, 3.64
    order 132  Eier Freiland   1 of 1   5.26 + 0.14 =  5.40
    order 132  Randen gekocht  1 of 1   4.39 + 0.11 =  4.50
    order 133  Polenta         1 of 1   3.07 + 0.08 =  3.15
    order 133  Apfelsaft       3 of 3  11.11 + 0.29 = 11.40

and the producers are asked for (CHF): Käserei Talgrund 19.25 Bergkäse + 8
Joghurt at (9.60 + 8.00) × 8/11 = 32.05; Gemüsekooperative 6.40 + 8.70 + 4.80
+ 6.20 = 26.10 (no Randen); Bäckerei Kornblume 4.90 + 4.20 = 9.10; Mühle
Lindenau 7.60 (no Polenta). Hof Sonnenberg's packs round down to nothing: its
members are refunded and it gets no mail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from bridge_helpers import FAST_CLIENT, ahead, make_bridge
from sqlalchemy import func, select

from pot_bridge.bridge import Bridge
from pot_bridge.config import load
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SEED, Fault, SandboxShop
from pot_bridge.store.schema import GroupOrder, OutboxMessage, ShopRefund

A_ID = cast(int, SEED["round_a"])
ROUND_A = f"plugin:{A_ID}"
ANNA, JOGHURT = 11, 20
KAESEREI, GEMUESE, BAECKEREI = (
    "Käserei Talgrund",
    "Gemüsekooperative Lieferdienst",
    "Bäckerei Kornblume",
)
ROUND_DOWN: dict[str, Any] = {
    "pack_policy": "round-down",
    "producers": {KAESEREI: {"pack_sizes": {"POT-000112": Decimal(4)}}},
}
# (order, product): quantity, net, tax, amount, paid back (wallet orders only)
Back = tuple[str, str, str, str, bool]
ROUND_DOWN_REFUNDS: dict[tuple[object, str], Back] = {
    (131, "Butter"): ("1", "4.48", "0.12", "4.60", True),
    (132, "Vollmilch"): ("4", "7.41", "0.19", "7.60", True),
    (132, "Joghurt nature"): ("2", "3.12", "0.08", "3.20", True),
    ("anna", "Joghurt nature"): ("1", "1.56", "0.04", "1.60", False),
    (132, "Eier Freiland"): ("1", "5.26", "0.14", "5.40", True),
    (132, "Randen gekocht"): ("1", "4.39", "0.11", "4.50", True),
    (133, "Polenta"): ("1", "3.07", "0.08", "3.15", True),
    (133, "Apfelsaft naturtrüb"): ("3", "11.11", "0.29", "11.40", True),
}
ROUND_DOWN_TOTALS = {
    KAESEREI: "32.05",
    GEMUESE: "26.10",
    BAECKEREI: "9.10",
    "Mühle Lindenau": "7.60",
}

MakeBridge = Callable[..., Bridge]
ADMIN = "admin@foodcoop-sandbox.example.org"


@pytest.fixture
def open_bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[MakeBridge]:
    """Bridges on the sandbox coop and this store, each with the coop's fields
    changed by keyword and its producers' by `producers={name: {field: value}}`."""
    made: list[Bridge] = []

    def make(producers: dict[str, dict[str, Any]] | None = None, **coop: Any) -> Bridge:
        bridge = make_bridge(shop, db_url, mail.port, tmp_path)
        base = bridge.settings.coops[0]
        contacts = [
            p.model_copy(update=(producers or {}).get(p.name, {}))
            for p in base.producers
        ]
        changed = base.model_copy(update={**coop, "producers": contacts})
        bridge.settings = bridge.settings.model_copy(update={"coops": [changed]})
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.dispose()


def round_down(shop: SandboxShop, open_bridge: MakeBridge) -> tuple[Bridge, int]:
    """The scenario of the module docstring; the bridge and Anna's order id."""
    anna = shop.state.add_order(
        ANNA,
        [(JOGHURT, 5)],
        round_id=A_ID,
        payment_method="bacs",
        created=datetime.now(UTC) - timedelta(days=4),
    )
    return open_bridge(**ROUND_DOWN), anna["id"]


def shop_refunds(shop: SandboxShop, anna: int = 0) -> dict[tuple[object, str], Back]:
    """The shop's refunds but the seed's own, keyed as ROUND_DOWN_REFUNDS."""
    got: dict[tuple[object, str], Back] = {}
    for refund in shop.state.refunds.values():
        if refund.id == SEED["refund"]:
            continue
        (line,) = refund.lines
        key = ("anna" if refund.order_id == anna else refund.order_id, line.item.name)
        assert key not in got, f"two refunds for {key}"
        got[key] = (
            str(-line.quantity),
            str(-line.total),
            str(-line.tax),
            str(refund.amount),
            refund.refunded_payment,
        )
    return got


def to(mail: MailCatcher, bridge: Bridge, producer: str) -> list[EmailMessage]:
    contact = bridge.settings.coops[0].producer(producer)
    assert contact is not None
    return [m for m in mail.messages if m["To"] == contact.email]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def attached(message: EmailMessage, content_type: str) -> bytes:
    """The first attachment of this type, decoded."""
    parts = message.iter_attachments()
    part = next(p for p in parts if p.get_content_type() == content_type)
    return bytes(part.get_payload(decode=True))


def csv_total(message: EmailMessage) -> str:
    """The last cell of the group order CSV: the producer's total."""
    text = attached(message, "text/csv").decode("utf-8-sig")
    return text.splitlines()[-1].rsplit(";", 1)[-1]


def refund_rows(bridge: Bridge) -> list[ShopRefund]:
    with bridge.sessions() as session:
        return list(session.scalars(select(ShopRefund).order_by(ShopRefund.id)))


def group_order(bridge: Bridge, producer: str) -> GroupOrder:
    with bridge.sessions() as session:
        query = select(GroupOrder).where(GroupOrder.producer == producer)
        return session.scalars(query).one()


def poll_and_send(bridge: Bridge) -> None:
    result = bridge.poll("sandbox")
    bridge.drain()
    assert result.error is None


# -- 1. round-down ---------------------------------------------------------------------


def test_round_down_refunds_each_short_line_once_and_mails_each_producer_once(
    shop: SandboxShop, mail: MailCatcher, open_bridge: MakeBridge
) -> None:
    bridge, anna = round_down(shop, open_bridge)

    poll_and_send(bridge)
    first = (sorted(shop.state.refunds), len(mail.messages))
    poll_and_send(bridge)
    restarted = open_bridge(**ROUND_DOWN)
    restarted.recover()
    poll_and_send(restarted)

    assert ROUND_DOWN_REFUNDS == shop_refunds(shop, anna)
    assert first == (sorted(shop.state.refunds), len(mail.messages))
    # four producers and the coop's distribution list, once each: Hof
    # Sonnenberg's packs all round down to nothing, so it is asked for no order
    assert 5 == len(mail.messages)
    assert [] == to(mail, bridge, "Hof Sonnenberg")
    for producer, total in ROUND_DOWN_TOTALS.items():
        (message,) = to(mail, bridge, producer)
        assert attached(message, "application/pdf").startswith(b"%PDF-")
        assert total == csv_total(message)
    rows = refund_rows(restarted)
    assert ["created"] * 8 == [row.status for row in rows]
    assert set(shop.state.refunds) - {SEED["refund"]} == {r.refund_id for r in rows}


# -- 2. an answer lost -----------------------------------------------------------------


@pytest.mark.parametrize("drops_meta", [False, True], ids=["meta-kept", "meta-lost"])
def test_lost_answers_are_found_not_sent_again(
    shop: SandboxShop, open_bridge: MakeBridge, drops_meta: bool
) -> None:
    """The shop stores three refunds whose answers never reach the bridge."""
    bridge, anna = round_down(shop, open_bridge)
    shop.state.drops_refund_meta = drops_meta
    shop.faults.add(Fault(method="POST", path=r"/refunds$", kind="lost", times=3))

    first = bridge.poll("sandbox").refunds
    second = bridge.poll("sandbox").refunds

    assert first is not None
    assert second is not None
    assert (5, 0, 3) == (first.created, first.found, first.pending)
    assert (0, 3, 0) == (second.created, second.found, second.pending)
    assert ROUND_DOWN_REFUNDS == shop_refunds(shop, anna)
    rows = refund_rows(bridge)
    assert 8 == len(rows)
    for row in rows:
        assert row.refund_id is not None
        stored = shop.state.refunds[row.refund_id]
        assert ("created", row.order_id) == (row.status, stored.order_id)
        assert [row.item_id] == [line.item.id for line in stored.lines]
        assert stored.amount == row.amount


# -- 3. a late refund ------------------------------------------------------------------


def late_refund(shop: SandboxShop, mail: MailCatcher, bridge: Bridge) -> int:
    """Close round A, then a member gives back 1 of 3 kg Kartoffeln (2.83 + 0.07)
    and the bridge polls; the number of mails sent before the refund."""
    poll_and_send(bridge)
    sent = len(mail.messages)
    order = shop.state.orders[134]
    potatoes = next(li.id for li in order.lines if li.name.startswith("Kartoffeln"))
    shop.state.refund(order.id, {potatoes: 1}, reason="Mitglied verzichtet")
    poll_and_send(bridge)
    return sent


def test_late_refund_sends_one_correction_to_that_producer_only(
    shop: SandboxShop, mail: MailCatcher, open_bridge: MakeBridge
) -> None:
    """Gemüsekooperative: 30.60 before, 2.90 of Kartoffeln less."""
    bridge = open_bridge()
    round_name = shop.state.rounds[A_ID].name

    sent = late_refund(shop, mail, bridge)
    corrected = len(mail.messages)
    poll_and_send(bridge)

    # the correction, and the distribution list again: one member gets less
    assert sent + 2 == corrected == len(mail.messages)
    new = mail.messages[sent:]
    (correction,) = [m for m in new if m["To"] != ADMIN]
    assert [correction] == to(mail, bridge, GEMUESE)[1:]
    assert [ADMIN] == [m["To"] for m in new if m is not correction]
    subject = correction["Subject"]
    assert subject.startswith("Korrektur ")
    assert subject.endswith(f"der Bestellung Foodcoop Sandbox – {round_name}")
    body = text_of(correction)
    assert "Kartoffeln festkochend  3 kg    2 kg      -1 kg" in body
    assert "Total bisher 30.60 CHF, neu 27.70 CHF." in body
    assert "27.70" == csv_total(correction)
    with bridge.sessions() as session:
        keys = session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.key.endswith(":v2"))
        ).all()
    row = group_order(bridge, GEMUESE)
    assert (2, Decimal("27.70")) == (row.version, row.total)
    assert [f"group-order:sandbox:{ROUND_A}:{GEMUESE}:v2"] == keys
    assert [] == refund_rows(bridge)  # the member's own refund calls for none


def test_first_correction_is_numbered_1(
    shop: SandboxShop, mail: MailCatcher, open_bridge: MakeBridge
) -> None:
    bridge = open_bridge()

    sent = late_refund(shop, mail, bridge)

    correction = mail.messages[sent]
    assert correction["Subject"].startswith("Korrektur 1 der Bestellung")
    assert "Dies ist Korrektur 1;" in text_of(correction)


# -- 4. a short delivery, by the command line ------------------------------------------

CONFIG = """
state_dir = "{state}"
database_url = "{db_url}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "bestellungen@foodcoop-sandbox.example.org"

[[coop]]
slug = "sandbox"
name = "Foodcoop Sandbox"
shop_url = "{shop_url}"
wp_user = "{wp_user}"
requests_per_second = 0

[[coop.producer]]
name = "Gemüsekooperative Lieferdienst"
email = "gemuese@producers.example.org"
"""


def test_delivered_command_refunds_a_short_delivery_once(
    shop: SandboxShop,
    mail: MailCatcher,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Kartoffeln 2 of 3 kg (order 134), Karotten 1.5 of 2 kg (order 131)."""
    config = tmp_path / "pot-bridge.toml"
    config.write_text(
        CONFIG.format(
            state=tmp_path,
            db_url=db_url,
            smtp_port=mail.port,
            shop_url=shop.url,
            wp_user=shop.app_user,
        ),
        encoding="utf-8",
    )
    for name, value in (
        ("CONSUMER_KEY", shop.consumer_key),
        ("CONSUMER_SECRET", shop.consumer_secret),
        ("WP_APP_PASSWORD", shop.app_password),
    ):
        monkeypatch.setenv(f"POT_BRIDGE_SANDBOX_{name}", value)
    bridge = Bridge(load(config), clock=ahead, client_options=FAST_CLIENT)
    request.addfinalizer(bridge.dispose)
    assert bridge.poll("sandbox").error is None
    sheet = tmp_path / "delivered.csv"
    sheet.write_text("sku;delivered\nPOT-000102;2\nPOT-000101;1.5\n", "utf-8")

    def queued() -> int:
        with bridge.sessions() as session:
            return int(session.scalar(select(func.count(OutboxMessage.id))) or 0)

    def delivered(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pot_bridge.cli", "--config", str(config)]
        return subprocess.run(
            [*command, "delivered", "sandbox", ROUND_A, GEMUESE, *args],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    before = queued()
    first = delivered("POT-000102=2", "POT-000101=1.5")
    again = delivered("--csv", str(sheet))

    assert (0, 0) == (first.returncode, again.returncode), first.stderr + again.stderr
    assert (
        f"{GEMUESE}: 2 product(s) entered, 2 refund(s) planned; "
        "shop: 2 created, 0 failed, 0 pending"
    ) in first.stdout
    assert (
        f"{GEMUESE}: 2 product(s) entered, 0 refund(s) planned; "
        "shop: 0 created, 0 failed, 0 pending"
    ) in again.stdout
    assert {
        (134, "Kartoffeln festkochend"): ("1", "2.83", "0.07", "2.90", True),
        (131, "Karotten"): ("0.5", "1.56", "0.04", "1.60", True),
    } == shop_refunds(shop)
    assert before == queued()  # the producer's order stays as it was sent


# -- 5. below the minimum --------------------------------------------------------------


def test_order_below_minimum_is_held_then_released_once(
    shop: SandboxShop, mail: MailCatcher, open_bridge: MakeBridge
) -> None:
    """Bäckerei Kornblume: Dinkelbrot 4.90 + Ruchbrot 4.20 = 9.10, minimum 20.00."""
    bridge = open_bridge(producers={BAECKEREI: {"minimum_value": Decimal("20.00")}})
    round_name = shop.state.rounds[A_ID].name

    poll_and_send(bridge)
    held = to(mail, bridge, BAECKEREI)
    notices = [m for m in mail.messages if m["Subject"].startswith("Mindest")]
    status_held = group_order(bridge, BAECKEREI).status
    released = bridge.decide("sandbox", ROUND_A, BAECKEREI, "release")
    bridge.drain()
    poll_and_send(bridge)
    with pytest.raises(LookupError, match="is sent, not held"):
        bridge.decide("sandbox", ROUND_A, BAECKEREI, "release")
    bridge.drain()

    assert ([], "held", "sent") == (held, status_held, released)
    (notice,) = notices
    assert "admin@foodcoop-sandbox.example.org" == notice["To"]
    assert f"nicht erreicht: {BAECKEREI} – {round_name}" in notice["Subject"]
    body = text_of(notice)
    assert "9.10 CHF, nötig sind 20.00 CHF" in body
    for action in ("release", "cancel"):
        command = f"pot-bridge group-order {action} sandbox {ROUND_A} '{BAECKEREI}'"
        assert command in body
    # four producers, the notice and the distribution list; then the released
    # order and the distribution list again, now with the bakery's goods
    assert 8 == len(mail.messages)
    (order,) = to(mail, bridge, BAECKEREI)
    assert order in mail.messages[-2:]
    assert [ADMIN] == [m["To"] for m in mail.messages[-2:] if m is not order]
    assert attached(order, "application/pdf").startswith(b"%PDF-")
    assert "9.10" == csv_total(order)
    assert [] == refund_rows(bridge)
    assert {} == shop_refunds(shop)
