"""Refunds for what members did not get, pushed to the sandbox shop over a socket.

Each order here is placed in the sandbox with prices including 2.6 % tax:

    Butterzopf 3 x 6.80 = 20.40   net 19.88   tax 0.516959 (0.52)
    Dinkelbrot 4 x 4.90 = 19.60   net 19.10   tax 0.496686 (0.50)

so every refund is checked to the Rappen. Crashes are simulated by raising at
the step where a killed process would stop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from pot_bridge import refund_wire, shop_refund
from pot_bridge.config import CoopConfig
from pot_bridge.refund_amount import Line, LineRefund, line_refund
from pot_bridge.refund_wire import marker
from pot_bridge.sandbox import SEED, Fault, SandboxShop
from pot_bridge.sandbox.model import Refund
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop_refund import push
from pot_bridge.store import session_factory
from pot_bridge.store.schema import Problem, ShopRefund

BUTTERZOPF, DINKELBROT = 26, 25
WC = Path(__file__).resolve().parents[2] / "shared/fixtures/woocommerce/9.9.5"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after the raise runs, no handler catches it."""


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def client(shop: SandboxShop) -> Iterator[ShopClient]:
    with ShopClient(
        "sandbox",
        shop.url,
        shop.consumer_key,
        shop.consumer_secret,
        connect_timeout=3.0,
        read_timeout=3.0,
        backoff_base=0.0,
        sleep=lambda seconds: None,
    ) as client:
        yield client


def coop_for(shop: SandboxShop, *, gateway_refunds: bool = False) -> CoopConfig:
    return CoopConfig(
        slug="sandbox",
        name="Foodcoop Sandbox",
        shop_url=shop.url,
        wp_user=shop.app_user,
        gateway_refunds=gateway_refunds,
    )


def place(shop: SandboxShop, product: int, qty: int, payment: str) -> tuple[int, int]:
    """A member's order of one product; its id and its line's id."""
    order = shop.state.add_order(
        3, [(product, qty)], round_id=None, payment_method=payment
    )
    return order["id"], order["line_items"][0]["id"]


def queue(
    sessions: sessionmaker[Session],
    order_id: int,
    item_id: int,
    quantity: str,
    *,
    name: str = "Butterzopf",
    key: str | None = None,
) -> str:
    """A pending refund as the round's shortfall writes it; returns its key."""
    key = key or f"shortfall:sandbox:{order_id}:{item_id}:{quantity}"
    with sessions.begin() as session:
        session.add(
            ShopRefund(
                key=key,
                coop="sandbox",
                round_key="plugin:130",
                order_id=order_id,
                item_id=item_id,
                product_name=name,
                quantity=Decimal(quantity),
                reason=f"Mutation: Produkt nicht geliefert ({name})",
                status="pending",
                attempts=0,
                last_error="",
                created_at=now(),
            )
        )
    return key


def now() -> datetime:
    return datetime.now(UTC)


def row(sessions: sessionmaker[Session], key: str) -> ShopRefund:
    with sessions() as session:
        return session.scalars(select(ShopRefund).where(ShopRefund.key == key)).one()


def refunds_of(shop: SandboxShop, order_id: int) -> list[Refund]:
    return list(shop.state.orders[order_id].refunds)


def wire_line(refund: Refund) -> tuple[Decimal, Decimal, Decimal]:
    (line,) = refund.lines
    return line.quantity, line.total, line.tax


# -- the arithmetic ---------------------------------------------------------------


class TestLineRefund:
    BREAD = Line(
        id=62,
        name="Dinkelbrot",
        quantity=Decimal(4),
        total=Decimal("19.10"),
        taxes={2: Decimal("0.496686")},
    )

    def test_whole_line_is_the_recorded_refund(self) -> None:
        """order_refund_create_partial.json: 4 x -> 19.10 + 0.50 = 19.60."""
        got = line_refund(self.BREAD, [], Decimal(4))

        assert LineRefund(62, Decimal(4), Decimal("19.10"), {2: Decimal("0.50")}) == got
        assert got is not None
        assert Decimal("19.60") == got.amount

    def test_share_rounds_half_up_per_rate(self) -> None:
        got = line_refund(self.BREAD, [], Decimal(1))

        assert LineRefund(62, Decimal(1), Decimal("4.78"), {2: Decimal("0.12")}) == got

    def test_last_units_get_exactly_what_is_left(self) -> None:
        """4.78 + 4.78 + 4.78 taken: the last one is 4.76, not 4.78."""
        one = LineRefund(62, Decimal(1), Decimal("4.78"), {2: Decimal("0.12")})

        got = line_refund(self.BREAD, [one, one, one], Decimal(1))

        assert LineRefund(62, Decimal(1), Decimal("4.76"), {2: Decimal("0.14")}) == got

    def test_more_than_is_left_is_cut_to_the_rest(self) -> None:
        three = LineRefund(62, Decimal(3), Decimal("14.33"), {2: Decimal("0.37")})

        got = line_refund(self.BREAD, [three], Decimal(2))

        assert LineRefund(62, Decimal(1), Decimal("4.77"), {2: Decimal("0.13")}) == got

    def test_nothing_left(self) -> None:
        whole = LineRefund(62, Decimal(4), Decimal("19.10"), {2: Decimal("0.50")})

        assert None is line_refund(self.BREAD, [whole], Decimal(1))

    def test_weighed_quantity(self) -> None:
        cheese = Line(81, "Bergkäse", Decimal("0.5"), Decimal("18.76"), {})

        got = line_refund(cheese, [], Decimal("0.2"))

        assert LineRefund(81, Decimal("0.2"), Decimal("7.50"), {}) == got


def test_request_has_the_recorded_shape() -> None:
    """order_refund_create_partial.json, with money as exact strings."""
    path = WC / "order_refund_create_partial.json"
    if not path.exists():
        pytest.skip(f"recorded fixture {path} is not on this machine")
    recorded = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    wanted = recorded["request"]["body"]
    plan = LineRefund(62, Decimal(4), Decimal("19.10"), {2: Decimal("0.50")})

    body = refund_wire.request(
        plan, "k", "Dinkelbrot nicht geliefert", api_refund=False
    )

    line, wanted_line = body["line_items"][0], wanted["line_items"][0]
    assert (wanted["amount"], False) == (body["amount"], body["api_refund"])
    assert f"{wanted['reason']} {marker('k')}" == body["reason"]
    assert list(wanted_line) == list(line)
    assert (62, 4, Decimal("19.1")) == (
        line["id"],
        line["quantity"],
        Decimal(line["refund_total"]),
    )
    assert [(2, Decimal("0.5"))] == [
        (tax["id"], Decimal(tax["refund_total"])) for tax in line["refund_tax"]
    ]
    assert [{"key": "_pot_bridge_refund", "value": "k"}] == body["meta_data"]


# -- over the socket ----------------------------------------------------------------


def test_wallet_order_is_refunded_through_the_gateway(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "2")

    with capture_logs() as logs:
        pushed = push(sessions, client, coop_for(shop), now())

    (refund,) = refunds_of(shop, order_id)
    done = row(sessions, key)
    assert (1, 0, 0, 0) == (pushed.created, pushed.found, pushed.failed, pushed.pending)
    assert (Decimal("13.59"), True) == (refund.amount, refund.refunded_payment)
    assert (Decimal(-2), Decimal("-13.25"), Decimal("-0.34")) == wire_line(refund)
    assert refund.lines[0].item.id == item_id
    assert [("_pot_bridge_refund", key)] == [(k, v) for _, k, v in refund.meta]
    assert refund.reason.endswith(marker(key))
    assert refund.reason.startswith("Mutation: Produkt nicht geliefert (Butterzopf)")
    assert ("created", refund.id, Decimal("13.59"), True, 1) == (
        done.status,
        done.refund_id,
        done.amount,
        done.api_refund,
        done.attempts,
    )
    assert done.done_at is not None
    events = [e["event"] for e in logs if e["event"].startswith("refund.")]
    assert ["refund.created", "refund.pushed"] == events


def test_partial_then_the_remainder_refunds_what_was_paid(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    """2 of 3: 13.25 + 0.34; the last one: 19.88 - 13.25 and 0.52 - 0.34."""
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    queue(sessions, order_id, item_id, "2")
    push(sessions, client, coop_for(shop), now())
    rest = f"shortfall:sandbox:{order_id}:{item_id}:3"
    queue(sessions, order_id, item_id, "1", key=rest)

    push(sessions, client, coop_for(shop), now())

    first, last = refunds_of(shop, order_id)
    assert (Decimal(-1), Decimal("-6.63"), Decimal("-0.18")) == wire_line(last)
    assert Decimal("6.81") == last.amount
    assert Decimal("20.40") == first.amount + last.amount
    assert "refunded" == shop.state.orders[order_id].status


def test_bacs_order_is_booked_without_the_gateway(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, DINKELBROT, 4, "bacs")
    key = queue(sessions, order_id, item_id, "4", name="Dinkelbrot")

    push(sessions, client, coop_for(shop), now())

    (refund,) = refunds_of(shop, order_id)
    assert (Decimal("19.60"), False) == (refund.amount, refund.refunded_payment)
    assert (Decimal(-4), Decimal("-19.10"), Decimal("-0.50")) == wire_line(refund)
    assert ("created", False) == (
        row(sessions, key).status,
        row(sessions, key).api_refund,
    )


def test_gateway_refusal_is_a_clear_failure(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, DINKELBROT, 4, "bacs")
    key = queue(sessions, order_id, item_id, "1", name="Dinkelbrot")

    pushed = push(sessions, client, coop_for(shop, gateway_refunds=True), now())

    failed = row(sessions, key)
    assert [] == refunds_of(shop, order_id)
    assert ("failed", 1, None) == (failed.status, failed.attempts, failed.refund_id)
    for part in (
        "coop sandbox",
        f"order {order_id}",
        "'Dinkelbrot'",
        "does not support automatic refunds",
    ):
        assert part in failed.last_error
    assert [failed.last_error] == pushed.failures
    with sessions() as session:
        problem = session.scalars(select(Problem)).one()
    assert ("refund.failed", f"order {order_id} line {item_id}") == (
        problem.kind,
        problem.subject,
    )


def test_pushing_twice_creates_one_refund(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    queue(sessions, order_id, item_id, "1")
    push(sessions, client, coop_for(shop), now())
    posts = sum(r.method == "POST" for r in shop.requests)

    again = push(sessions, client, coop_for(shop), now())

    assert 1 == len(refunds_of(shop, order_id))
    assert (0, 0, 0) == (again.created, again.found, again.pending)
    assert posts == sum(r.method == "POST" for r in shop.requests)


def test_lost_answer_is_found_on_the_next_push(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")
    shop.faults.add(Fault(method="POST", path=r"/refunds$", kind="lost"))

    lost = push(sessions, client, coop_for(shop), now())
    waiting = row(sessions, key)
    with capture_logs() as logs:
        found = push(sessions, client, coop_for(shop), now())

    (refund,) = refunds_of(shop, order_id)
    done = row(sessions, key)
    assert (1, "pending", 1) == (lost.pending, waiting.status, waiting.attempts)
    assert "connection failed" in waiting.last_error
    assert (1, 0) == (found.found, found.created)
    assert ("created", refund.id, Decimal("6.80"), 1) == (
        done.status,
        done.refund_id,
        done.amount,
        done.attempts,
    )
    assert "refund.found" in [e["event"] for e in logs]


def test_crash_before_the_store_commit_sends_no_second_refund(
    shop: SandboxShop,
    client: ShopClient,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")
    record = shop_refund._Push._record

    def killed(self: Any, **values: Any) -> None:
        if values.get("status") == "created":
            raise Killed
        record(self, **values)

    monkeypatch.setattr(shop_refund._Push, "_record", killed)
    with pytest.raises(Killed):
        push(sessions, client, coop_for(shop), now())
    monkeypatch.undo()

    after = push(sessions, client, coop_for(shop), now())

    (refund,) = refunds_of(shop, order_id)
    assert (1, 0) == (after.found, after.created)
    assert ("created", refund.id) == (
        row(sessions, key).status,
        row(sessions, key).refund_id,
    )


def test_store_rolled_back_after_the_shop_answered_sends_no_second_refund(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    """As if the store were restored from a backup taken before the push."""
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")
    push(sessions, client, coop_for(shop), now())
    with sessions.begin() as session:
        session.execute(
            update(ShopRefund)
            .where(ShopRefund.key == key)
            .values(status="pending", refund_id=None, amount=None, attempts=0)
        )

    again = push(sessions, client, coop_for(shop), now())

    assert (1, 0) == (again.found, again.created)
    assert 1 == len(refunds_of(shop, order_id))


def test_marker_in_the_reason_finds_it_where_meta_is_dropped(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    shop.state.drops_refund_meta = True
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")
    shop.faults.add(Fault(method="POST", path=r"/refunds$", kind="lost"))
    push(sessions, client, coop_for(shop), now())

    again = push(sessions, client, coop_for(shop), now())

    assert 1 == again.found
    assert 1 == len(refunds_of(shop, order_id))
    assert "created" == row(sessions, key).status


def test_refund_known_only_from_the_order_is_found(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    """T-07: the refunds route hides it; the order's summary has the marker."""
    shop.state.hides_order_refunds = True
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")
    shop.faults.add(Fault(method="POST", path=r"/refunds$", kind="lost"))
    push(sessions, client, coop_for(shop), now())

    again = push(sessions, client, coop_for(shop), now())

    (refund,) = refunds_of(shop, order_id)
    assert 1 == again.found
    assert (refund.id, Decimal("6.80")) == (
        row(sessions, key).refund_id,
        row(sessions, key).amount,
    )


def test_unknown_earlier_refund_stops_the_row(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    """T-07 again: with a refund of unknown lines, what is left is unknown."""
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    shop.state.refund(order_id, amount=Decimal("1.00"), reason="Rabatt")
    shop.state.hides_order_refunds = True
    key = queue(sessions, order_id, item_id, "1")

    pushed = push(sessions, client, coop_for(shop), now())

    assert 1 == pushed.failed
    assert "without detail" in row(sessions, key).last_error
    assert 1 == len(refunds_of(shop, order_id))


def test_shop_ignoring_the_lines_fails_loudly(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    """T-09: the refund is stored amount-only; the bridge says so."""
    shop.state.ignores_refund_lines = True
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")

    with capture_logs() as logs:
        pushed = push(sessions, client, coop_for(shop), now())

    (refund,) = refunds_of(shop, order_id)
    failed = row(sessions, key)
    assert 1 == pushed.failed
    assert ("failed", refund.id) == (failed.status, failed.refund_id)
    for part in (
        f"order {order_id}",
        f"line {item_id}: 1 × 6.63 + tax 0.17",
        "amount 6.80",
        "got no lines",
    ):
        assert part in failed.last_error
    with sessions() as session:
        assert "refund.mismatch" == session.scalars(select(Problem.kind)).one()
    errors = [e for e in logs if e["event"] == "refund.failed"]
    assert ["error"] == [e["log_level"] for e in errors]


def test_bad_rows_fail_and_the_rest_goes_on(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    refunded = shop.state.orders[SEED["refunded_order"]]  # Butterzopf refunded
    gone = queue(sessions, 99999, 1, "1", key="gone")
    no_line = queue(sessions, order_id, 424242, "1", key="no line")
    nothing = queue(sessions, refunded.id, refunded.lines[3].id, "1", key="nothing")
    good = queue(sessions, order_id, item_id, "1")

    pushed = push(sessions, client, coop_for(shop), now())

    assert (1, 3) == (pushed.created, pushed.failed)
    assert "the order is gone" in row(sessions, gone).last_error
    assert "no longer in the order" in row(sessions, no_line).last_error
    assert "nothing of the line is left" in row(sessions, nothing).last_error
    assert "created" == row(sessions, good).status


def test_shop_down_leaves_the_row_pending(
    shop: SandboxShop, client: ShopClient, sessions: sessionmaker[Session]
) -> None:
    order_id, item_id = place(shop, BUTTERZOPF, 3, "foodcoop_guthaben")
    key = queue(sessions, order_id, item_id, "1")
    shop.faults.add(Fault(method="GET", kind="status", status=503, times=6))

    pushed = push(sessions, client, coop_for(shop), now())

    waiting = row(sessions, key)
    assert 1 == pushed.pending
    assert ("pending", 0) == (waiting.status, waiting.attempts)
    assert not any(r.method == "POST" for r in shop.requests)
