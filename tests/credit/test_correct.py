"""Applying a run's proposals: findings in; correction entries, planned wallet
rows and finding states out; twice books once, stale runs are refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.credit import correct
from pot_bridge.credit.correct import NotApplicable, apply
from pot_bridge.credit.reconcile import reconcile
from pot_bridge.store import session_factory
from pot_bridge.store.schema import ReconciliationFinding, WalletWrite

from .shop_notation import NOW, balances, ledger, same
from .test_reconcile import NOAH_ROWS, PLUGIN, SLUG, Shop, raw, shop_orders


class Killed(BaseException):
    """Stands for SIGKILL: nothing after the raise runs, no handler catches it."""


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    sessions = session_factory(engine)
    shop_orders(sessions, "order 136 Noah processing 33.00 round 130")
    return sessions


def noah(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """Reconcile Noah's wallet (row 3 charges order 136 twice, row 4 lost
    10.00): the run, and the numbers of its chain and duplicate findings."""
    run = reconcile(sessions, Shop(NOAH_ROWS), PLUGIN, NOW)
    chain, duplicate = (f.id for f in run.findings)

    return run.id, chain, duplicate


def writes(session: Session) -> list[tuple[object, ...]]:
    return [
        (w.key, w.member, w.amount, w.type, w.details, w.status)
        for w in session.scalars(select(WalletWrite).order_by(WalletWrite.id))
    ]


def states(session: Session, run_id: int) -> list[tuple[object, ...]]:
    return [
        (f.kind, f.status)
        for f in session.scalars(
            select(ReconciliationFinding)
            .where(ReconciliationFinding.run_pk == run_id)
            .order_by(ReconciliationFinding.id)
        )
    ]


def test_applying_twice_books_each_correction_once(
    sessions: sessionmaker[Session],
) -> None:
    run_id, chain, duplicate = noah(sessions)

    first = apply(sessions, PLUGIN, run_id, NOW)
    second = apply(sessions, PLUGIN, run_id, NOW + timedelta(minutes=5))

    with sessions() as session:
        booked = ledger(session, SLUG, "reconcile:")
        planned = writes(session)
        found = states(session, run_id)
    assert (2, 0, 0) == (first.booked, first.declined, first.before)
    assert Decimal("43.00") == first.total
    assert (0, 0, 2) == (second.booked, second.declined, second.before)
    assert same(f"""
        reconcile:{chain}      corrections -10.00  member:5 10.00
        reconcile:{duplicate}  corrections -33.00  member:5 33.00
    """) == same(booked)
    text = "Korrektur Abgleich 04.12.2026"
    assert [
        (
            f"reconcile:{chain}",
            5,
            Decimal("10.00"),
            "manual_transaction",
            (
                f"{text}: Laufender Saldo gebrochen (Zeile 4) "
                f"[pot-bridge reconcile:{chain}]"
            ),
            "pending",
        ),
        (
            f"reconcile:{duplicate}",
            5,
            Decimal("33.00"),
            "manual_transaction",
            f"{text}: Doppelte Wallet-Zeile (Zeile 3) [pot-bridge reconcile:{duplicate}]",
            "pending",
        ),
    ] == planned
    assert [("chain_break", "applied"), ("duplicate_row", "applied")] == found


def test_a_crash_while_applying_books_nothing_and_a_retry_books_all(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, _, _ = noah(sessions)
    planned = []

    def plan_then_die(*args: Any, **kwargs: Any) -> None:
        planned.append(args)
        if len(planned) == 2:
            raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(correct.wallet_write, "plan", plan_then_die)
        with pytest.raises(Killed):
            apply(sessions, PLUGIN, run_id, NOW)
    with sessions() as session:
        after_crash = (ledger(session, SLUG, "reconcile:"), writes(session))
        open_after_crash = states(session, run_id)

    again = apply(sessions, PLUGIN, run_id, NOW)

    assert ("", []) == after_crash
    assert [("chain_break", "open"), ("duplicate_row", "open")] == open_after_crash
    assert 2 == again.booked


def test_only_the_newest_run_may_be_applied(sessions: sessionmaker[Session]) -> None:
    older, _, _ = noah(sessions)
    newer, _, _ = noah(sessions)

    with pytest.raises(NotApplicable) as refused:
        apply(sessions, PLUGIN, older, NOW)

    with sessions() as session:
        booked = ledger(session, SLUG, "reconcile:")
    assert (
        f"coop coop-t: run {older} is not the newest reconciliation (run {newer} is); "
        "an older run's proposals may be stale, so only the newest is applied: "
        "`pot-bridge reconcile coop-t --apply` shows it"
    ) == str(refused.value)
    assert "" == booked


def test_without_a_run_there_is_nothing_to_apply(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(NotApplicable, match="no reconciliation yet"):
        apply(sessions, PLUGIN, 1, NOW)


def test_a_skip_that_names_no_open_proposal_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    run_id, _, _ = noah(sessions)

    with pytest.raises(NotApplicable, match="has no open proposal numbered 99"):
        apply(sessions, PLUGIN, run_id, NOW, skip=[99])


def test_corrected_and_declined_causes_are_not_proposed_again(
    sessions: sessionmaker[Session],
) -> None:
    """The chain loss is given back (the shop then holds the bridge's row 5),
    the duplicate left out: the next night finds nothing open."""
    run_id, _, duplicate = noah(sessions)
    applied = apply(sessions, PLUGIN, run_id, NOW, skip=[duplicate])
    written = raw(
        5,
        5,
        "10.00",
        "34.00",
        "Korrektur Abgleich 04.12.2026: Laufender Saldo gebrochen (Zeile 4) "
        f"[pot-bridge {applied.keys[0]}]",
        type="manual_transaction",
    )

    later = reconcile(
        sessions, Shop([*NOAH_ROWS, written]), PLUGIN, NOW + timedelta(days=1)
    )

    with sessions() as session:
        first = states(session, run_id)
        kept = balances(session, SLUG)
    assert [("chain_break", "applied"), ("duplicate_row", "declined")] == first
    assert (1, 1) == (applied.booked, applied.declined)
    assert [] == later.findings
    assert same("member:5 34.00") == same(kept)
