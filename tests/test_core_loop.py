"""The whole loop over real sockets: shop → store → round → group order → SMTP.

Crashes are simulated by raising at a chosen step, as a killed process would
stop there; the next run must then double nothing and lose nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import func, select

from pot_bridge import close as close_module
from pot_bridge import sync as sync_module
from pot_bridge.bridge import Bridge
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SEED, Fault, SandboxShop
from pot_bridge.store.schema import GroupOrder, OrderLine, OutboxMessage, Round

ROUND_A = f"plugin:{SEED['round_a']}"
COUNTED = {"processing", "on-hold", "completed", "refunded"}


class Killed(BaseException):
    """Stands for SIGKILL: nothing after the raise runs, no handler catches it."""


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def expected_totals(shop: SandboxShop, round_id: int) -> dict[str, Decimal]:
    """Per producer, what members paid for their lines net of refunds, computed
    from the shop's own data and independently of the bridge."""
    refunded: dict[int, Decimal] = defaultdict(Decimal)
    for refund in shop.state.refunds.values():
        for back in refund.lines:
            refunded[back.item.id] += back.total + back.tax
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for order in shop.state.orders.values():
        if order.meta_value("bestellrunde_id") != str(round_id):
            continue
        if order.status not in COUNTED:
            continue
        for line in order.lines:
            producer = next((str(v) for _, k, v in line.meta if k == "_lieferant"), "")
            if producer:
                totals[producer] += line.gross + refunded[line.id]
    return {name: amount for name, amount in totals.items() if amount}


def mails_by_recipient(mail: MailCatcher) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for message in mail.messages:
        counts[message["To"]] += 1
    return dict(counts)


def test_round_closes_with_exact_totals_and_one_mail_per_producer(
    bridge: Bridge, shop: SandboxShop, mail: MailCatcher
) -> None:
    result = bridge.poll("sandbox")
    bridge.drain()

    assert result.error is None
    with bridge.sessions() as session:
        built = {g.producer: g.total for g in session.scalars(select(GroupOrder))}
    assert expected_totals(shop, SEED["round_a"]) == built
    assert all(1 == count for count in mails_by_recipient(mail).values())
    # one mail per producer, and the distribution list to the coop's admin
    assert len(built) + 1 == len(mail.messages)
    attachments = list(mail.messages[0].iter_attachments())
    types = sorted(a.get_content_type() for a in attachments)
    assert types == ["application/pdf", "text/csv"]
    csv = next(a for a in attachments if a.get_content_type() == "text/csv")
    text = csv.get_content()
    assert "Total" in (text if isinstance(text, str) else text.decode("utf-8-sig"))


def test_second_poll_and_restart_send_nothing_more(
    bridge: Bridge, shop: SandboxShop, mail: MailCatcher, db_url: str, tmp_path: Path
) -> None:
    bridge.poll("sandbox")
    bridge.drain()
    sent = len(mail.messages)

    bridge.poll("sandbox")
    bridge.drain()
    restarted = make_bridge(shop, db_url, mail.port, tmp_path)
    restarted.recover()
    restarted.poll("sandbox")
    restarted.drain()
    restarted.dispose()

    assert sent == len(mail.messages)


@pytest.mark.parametrize("kill_after", [1, 5, 9])
def test_kill_during_sync_then_rerun_doubles_nothing(
    bridge: Bridge,
    shop: SandboxShop,
    monkeypatch: pytest.MonkeyPatch,
    kill_after: int,
) -> None:
    real = sync_module.upsert_order
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> bool:
        calls["n"] += 1
        if calls["n"] == kill_after:
            raise Killed
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync_module, "upsert_order", dying)
    with pytest.raises(Killed):
        bridge.sync("sandbox")
    monkeypatch.setattr(sync_module, "upsert_order", real)

    bridge.sync("sandbox")
    bridge.sync("sandbox")

    with bridge.sessions() as session:
        lines = session.scalar(select(func.count()).select_from(OrderLine))
    assert sum(len(o.lines) for o in shop.state.orders.values()) == lines


@pytest.mark.parametrize("step", ["after_group_orders", "after_first_mail"])
def test_kill_while_closing_then_rerun_queues_each_mail_once(
    bridge: Bridge,
    shop: SandboxShop,
    mail: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    bridge.sync("sandbox")
    real_enqueue = close_module.producer_mail.outbox.enqueue
    real_save = close_module.save

    def dying_save(*args: object, **kwargs: object) -> bool:
        saved = real_save(*args, **kwargs)  # type: ignore[arg-type]
        if step == "after_group_orders":
            raise Killed
        return saved

    def dying_enqueue(*args: object, **kwargs: object) -> object:
        real_enqueue(*args, **kwargs)  # type: ignore[arg-type]
        raise Killed

    monkeypatch.setattr(close_module, "save", dying_save)
    if step == "after_first_mail":
        monkeypatch.setattr(close_module.producer_mail.outbox, "enqueue", dying_enqueue)
    with pytest.raises(Killed):
        bridge.close("sandbox")
    monkeypatch.undo()

    bridge.poll("sandbox")
    bridge.drain()

    with bridge.sessions() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
        groups = session.scalar(select(func.count()).select_from(GroupOrder))
        closed = session.scalars(select(Round).where(Round.key == ROUND_A)).one()
    # each producer's mail and the coop's distribution list, once
    assert groups + 1 == queued
    assert queued == len(mail.messages)
    assert closed.closed_at is not None


def test_failing_smtp_is_retried_and_sends_once(
    bridge: Bridge, mail: MailCatcher
) -> None:
    mail.fail_next(3, code=451)
    bridge.poll("sandbox")

    first = bridge.drain()
    with bridge.sessions() as session:
        failing = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "failing")
        ).all()
        for message in failing:  # the backoff has passed
            assert 1 == message.attempts
            message.next_attempt_at = message.created_at
        session.commit()
    second = bridge.drain()

    assert 3 == first.failing
    assert 3 == second.sent
    assert len(set(mails_by_recipient(mail))) == len(mail.messages)


def test_a_failing_shop_does_not_stop_another_coop(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from pot_bridge.sandbox import seed_coop

    with SandboxShop(seed_coop(datetime.now(UTC))) as broken:
        broken.faults.add(
            Fault(
                method="*",
                path=r".*",
                times=1000,
                kind="status",
                status=500,
                body={
                    "code": "internal_server_error",
                    "message": "There has been a critical error on this website.",
                    "data": {"status": 500},
                },
            )
        )
        good = make_bridge(shop, db_url, mail.port, tmp_path, slug="good")
        bad = make_bridge(broken, db_url, mail.port, tmp_path, slug="bad")

        failed = bad.poll("bad")
        fine = good.poll("good")
        good.dispose()
        bad.dispose()

    assert failed.error is not None
    assert "coop bad" in failed.error
    assert fine.error is None
    assert fine.closed


@pytest.mark.parametrize(
    ("fault", "recovers"),
    [
        (
            Fault(
                method="GET",
                path=r"/orders$",
                times=2,
                kind="status",
                status=503,
                body="<html><body>Wartungsmodus</body></html>",
            ),
            True,
        ),
        (
            Fault(
                method="GET",
                path=r"/orders$",
                times=2,
                kind="status",
                status=429,
                retry_after=1,
                body={
                    "code": "too_many",
                    "message": "slow down",
                    "data": {"status": 429},
                },
            ),
            True,
        ),
        (Fault(method="GET", path=r"/orders$", times=2, kind="html"), True),
        (Fault(method="GET", path=r"/orders$", times=2, kind="drop"), True),
        (Fault(method="GET", path=r"/orders$", times=2, kind="truncated"), True),
        (Fault(method="GET", path=r"/orders$", times=99, kind="html"), False),
    ],
    ids=[
        "503-html",
        "429-retry-after",
        "html-page",
        "no-answer",
        "cut-off",
        "html-forever",
    ],
)
def test_shop_faults_are_retried_or_reported(
    bridge: Bridge, shop: SandboxShop, fault: Fault, recovers: bool
) -> None:
    shop.faults.add(fault)

    result = bridge.poll("sandbox")

    if recovers:
        assert result.error is None
        assert result.synced is not None
        assert result.synced.orders_seen > 0
    else:
        assert result.error is not None
        assert "coop sandbox" in result.error
        assert result.closed is None
