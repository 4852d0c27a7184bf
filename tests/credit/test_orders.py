"""Credit-paid orders and refunds booked from the store: orders in, postings out."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.credit.orders import (
    Booked,
    book_orders,
    credit_orders,
    double_charges,
    replacements,
)
from pot_bridge.ledger import balance, check
from pot_bridge.problems import open_problems
from pot_bridge.store.schema import JournalEntry

from .shop_notation import (
    NOW,
    coop,
    ledger,
    pull,
    pull_recorded_orders,
    recorded_rows,
    same,
)

PLUGIN = coop()
LEDGER = coop(mode="ledger", payment_methods=["guthaben"])


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def run(session: Session, coop: CoopConfig = PLUGIN) -> Booked:
    booked = book_orders(session, coop, NOW)
    session.commit()
    return booked


def entries(session: Session, coop: CoopConfig = PLUGIN) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.coop == coop.slug)
        )
        or 0
    )


# -- re-orders ----------------------------------------------------------------


def test_recorded_reorders_net_as_the_plugins_adjustment_rows(
    session: Session,
) -> None:
    """Jonas 133 → 143 and Mia 134 → 135, as the real shop recorded them: the
    new order's debit and the old one's credit make the "(Anpassung)" row."""
    pull_recorded_orders(
        session,
        PLUGIN.slug,
        [
            "order_get_reorder_smaller_old_trashed.json",
            "order_get_reorder_smaller_new.json",
            "order_get_reorder_old_trashed.json",
            "order_get_reorder_new.json",
        ],
    )
    jonas = {r.id: r for r in recorded_rows("getAllTransactions.json", [3])}
    mia = {r.id: r for r in recorded_rows("getTransactions_user4_reorder.json")}

    booked = run(session)

    assert same("""
        order:133:paid      member:3 -20.00  sales 20.00
        order:133:replaced  member:3 20.00   sales -20.00
        order:134:paid      member:4 -22.45  sales 22.45
        order:134:replaced  member:4 22.45   sales -22.45
        order:135:paid      member:4 -42.55  sales 42.55
        order:143:paid      member:3 -7.50   sales 7.50
    """) == same(ledger(session, PLUGIN.slug))
    assert (4, 2) == (booked.debited, booked.replaced)
    assert "Bestellung #143 (Anpassung)" == jonas[26].details
    assert (
        jonas[26].amount
        == Decimal("12.50")
        == (_member(session, "order:143:paid") + _member(session, "order:133:replaced"))
    )
    assert "Bestellung #135 (Anpassung)" == mia[19].details
    assert (
        mia[19].amount
        == Decimal("-20.10")
        == (_member(session, "order:135:paid") + _member(session, "order:134:replaced"))
    )


def _member(session: Session, key: str) -> Decimal:
    entry = session.scalars(select(JournalEntry).where(JournalEntry.key == key)).one()
    return next(p.amount for p in entry.postings if p.account.code.startswith("m"))


def test_a_chain_of_reorders_nets_to_the_last_order(session: Session) -> None:
    pull(
        session,
        PLUGIN.slug,
        """
        order 201 Noah trash       30.00 round 130 at 10:00 ended 11:00
        order 202 Noah trash       45.00 round 130 at 11:00 ended 12:00
        order 203 Noah processing  12.00 round 130 at 12:00
        """,
    )

    run(session)

    assert {201: 202, 202: 203} == replacements(credit_orders(session, PLUGIN))
    assert Decimal("-12.00") == balance(session, PLUGIN.slug, "member:5")
    assert Decimal("12.00") == balance(session, PLUGIN.slug, "sales")


def test_refunds_on_the_old_order_are_kept_out_of_its_credit(
    session: Session,
) -> None:
    """The plugin nets the old order's total less what was refunded on it."""
    pull(
        session,
        PLUGIN.slug,
        """
        order 201 Noah trash       33.00 round 130 at 10:00 ended 11:00
        refund 205 of 201 6.80 wallet "Mutation: Produkt nicht geliefert (Butterzopf)"
        order 202 Noah processing  40.00 round 130 at 11:00
        """,
    )

    run(session)

    assert same("""
        order:201:paid      member:5 -33.00  sales 33.00
        order:201:replaced  member:5 26.20   sales -26.20
        order:202:paid      member:5 -40.00  sales 40.00
        refund:205          member:5 6.80    refunds -6.80
    """) == same(ledger(session, PLUGIN.slug))
    # wallet: -33.00 + 6.80 (refund) - (40.00 - 26.20) (Anpassung) = -40.00
    assert Decimal("-40.00") == balance(session, PLUGIN.slug, "member:5")


def test_an_order_cancelled_before_the_member_ordered_again_is_not_replaced(
    session: Session,
) -> None:
    """An admin cancelled 201 at 10:30; the plugin charged 202 in full."""
    pull(
        session,
        PLUGIN.slug,
        """
        order 201 Noah cancelled   30.00 round 130 at 10:00 ended 10:30
        order 202 Noah processing  12.00 round 130 at 11:00
        """,
    )

    run(session)

    assert {} == replacements(credit_orders(session, PLUGIN))
    assert Decimal("-42.00") == balance(session, PLUGIN.slug, "member:5")


def test_block_checkout_double_charge_is_debited_twice(session: Session) -> None:
    """Lea's two block-checkout orders lost the round: the shop took both."""
    pull(
        session,
        PLUGIN.slug,
        """
        order 131 Lea processing 16.60 key plugin:130 at 15:29:17
        order 139 Lea processing 20.55 key plugin:130 at 15:30:04
        """,
    )

    run(session)

    assert Decimal("-37.15") == balance(session, PLUGIN.slug, "member:2")
    assert {(2, "plugin:130"): [131, 139]} == double_charges(
        credit_orders(session, PLUGIN)
    )


# -- what is paid -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "debit"),
    [
        pytest.param("processing", "-18.70", id="processing"),
        pytest.param("on-hold", "-18.70", id="on-hold"),
        pytest.param("completed", "-18.70", id="completed"),
        pytest.param("refunded", "-18.70", id="refunded"),
        pytest.param("cancelled", "-18.70", id="cancelled-keeps-its-debit"),
        pytest.param("failed", "0.00", id="failed"),
        pytest.param("pending", "0.00", id="pending"),
        pytest.param("trash", "0.00", id="trash-first-seen"),
    ],
)
def test_which_statuses_are_debited(session: Session, status: str, debit: str) -> None:
    pull(session, PLUGIN.slug, f"order 138 Elena {status} 18.70 round 130")

    run(session)

    assert Decimal(debit) == balance(session, PLUGIN.slug, "member:6")


def test_a_debited_order_keeps_its_debit_in_the_trash(session: Session) -> None:
    pull(session, PLUGIN.slug, "order 138 Elena processing 18.70 round 130")
    run(session)
    pull(session, PLUGIN.slug, "order 138 Elena trash 18.70 round 130")

    booked = run(session)

    assert 0 == booked.debited
    assert Decimal("-18.70") == balance(session, PLUGIN.slug, "member:6")


def test_only_credit_payment_methods_count_by_id(session: Session) -> None:
    pull(
        session,
        LEDGER.slug,
        """
        order 140 Luca completed 29.10 by guthaben
        order 141 Sofia completed 13.35 by bacs
        order 142 Nina completed 27.90 by foodcoop_guthaben
        """,
    )

    run(session, LEDGER)

    assert same("""
        order:140:paid  member:7 -29.10  sales 29.10
    """) == same(ledger(session, LEDGER.slug))


def test_a_guests_credit_order_is_a_problem_naming_coop_and_order(
    session: Session,
) -> None:
    pull(session, PLUGIN.slug, "order 150 0 processing 12.00")

    booked = run(session)

    assert 0 == entries(session)
    assert ["order 150"] == [p.subject for p in open_problems(session, "coop-t")]
    assert "coop coop-t" in booked.problems[0]
    assert "order 150" in booked.problems[0]


# -- refunds ------------------------------------------------------------------

NOAH = """
order 136 Noah processing 33.00 round 130
refund 137 of 136 6.80 wallet "Mutation: Produkt nicht geliefert (Butterzopf)"
"""


def test_a_refund_is_credited_once_also_when_run_twice(session: Session) -> None:
    pull(session, PLUGIN.slug, NOAH)

    first = run(session)
    second = run(session)

    assert same("""
        order:136:paid  member:5 -33.00  sales 33.00
        refund:137      member:5 6.80    refunds -6.80
    """) == same(ledger(session, PLUGIN.slug))
    assert (1, 1) == (first.debited, first.refunded)
    assert (0, 0, 0) == (second.debited, second.refunded, second.replaced)
    assert Decimal("-26.20") == balance(session, PLUGIN.slug, "member:5")
    assert [] == check(session, PLUGIN.slug)


def test_plugin_mode_credits_only_refunds_paid_back_to_the_wallet(
    session: Session,
) -> None:
    pull(
        session,
        PLUGIN.slug,
        """
        order 136 Noah processing 33.00 round 130
        refund 137 of 136 6.80 kept "paid back in cash"
        refund 138 of 136 2.00 unknown
        """,
    )

    booked = run(session)

    assert 1 == booked.waiting
    assert Decimal("-33.00") == balance(session, PLUGIN.slug, "member:5")

    pull(session, PLUGIN.slug, "refund 138 of 136 2.00 wallet")
    later = run(session)

    assert (0, 1) == (later.waiting, later.refunded)
    assert Decimal("-31.00") == balance(session, PLUGIN.slug, "member:5")


def test_ledger_mode_credits_every_refund_of_a_credit_order(
    session: Session,
) -> None:
    pull(
        session,
        LEDGER.slug,
        """
        order 136 Noah processing 33.00 by guthaben
        refund 137 of 136 6.80 kept
        refund 138 of 136 2.00 unknown
        """,
    )

    booked = run(session, LEDGER)

    assert 2 == booked.refunded
    assert Decimal("-24.20") == balance(session, LEDGER.slug, "member:5")


# -- a total that changes after its debit -----------------------------------


def test_ledger_mode_books_each_change_of_the_total(session: Session) -> None:
    pull(session, LEDGER.slug, "order 136 Noah processing 33.00 by guthaben")
    run(session, LEDGER)
    pull(session, LEDGER.slug, "order 136 Noah processing 30.60 by guthaben")
    run(session, LEDGER)
    pull(session, LEDGER.slug, "order 136 Noah completed 31.00 by guthaben")

    run(session, LEDGER)
    again = run(session, LEDGER)

    assert same("""
        order:136:paid    member:5 -33.00  sales 33.00
        order:136:paid:2  member:5 2.40    sales -2.40
        order:136:paid:3  member:5 -0.40   sales 0.40
    """) == same(ledger(session, LEDGER.slug))
    assert 0 == again.debited


def test_plugin_mode_leaves_a_changed_total_to_the_wallets_row(
    session: Session,
) -> None:
    """A price adjustment writes its own wallet row; it is booked from there."""
    pull(session, PLUGIN.slug, "order 136 Noah processing 33.00 round 130")
    run(session)
    pull(session, PLUGIN.slug, "order 136 Noah processing 30.60 round 130")

    booked = run(session)

    assert [136] == booked.total_changed
    assert 1 == entries(session)
    assert Decimal("-33.00") == balance(session, PLUGIN.slug, "member:5")


def test_a_refund_after_the_reorder_is_a_problem_not_a_second_credit(
    session: Session,
) -> None:
    pull(
        session,
        PLUGIN.slug,
        """
        order 201 Noah trash       33.00 round 130 at 10:00 ended 11:00
        order 202 Noah processing  40.00 round 130 at 11:00
        """,
    )
    run(session)
    pull(session, PLUGIN.slug, "refund 205 of 201 3.00 wallet")

    booked = run(session)

    assert 1 == booked.refunded
    assert ["order 201"] == [p.subject for p in open_problems(session, "coop-t")]
    assert "coop coop-t" in booked.problems[0]
    assert Decimal("33.00") == _member(session, "order:201:replaced")


# -- ledger mode: a cancelled order ---------------------------------------------


def test_ledger_mode_gives_a_cancelled_orders_cost_back_once(
    session: Session,
) -> None:
    pull(
        session,
        LEDGER.slug,
        """
        order 136 Noah processing 33.00 by guthaben
        refund 137 of 136 6.80 kept
        """,
    )
    run(session, LEDGER)
    pull(session, LEDGER.slug, "order 136 Noah cancelled 33.00 by guthaben")

    first = run(session, LEDGER)
    again = run(session, LEDGER)

    assert same("""
        order:136:paid       member:5 -33.00  sales 33.00
        refund:137           member:5 6.80    refunds -6.80
        order:136:cancelled  member:5 26.20   sales -26.20
    """) == same(ledger(session, LEDGER.slug))
    assert (1, 0) == (first.cancelled, again.cancelled)
    assert Decimal("0.00") == balance(session, LEDGER.slug, "member:5")


def test_ledger_mode_never_debits_an_order_first_seen_cancelled(
    session: Session,
) -> None:
    pull(session, LEDGER.slug, "order 136 Noah cancelled 33.00 by guthaben")

    booked = run(session, LEDGER)

    assert (0, 0) == (booked.debited, booked.cancelled)
    assert 0 == entries(session, LEDGER)


def test_ledger_mode_a_refund_after_the_cancellation_is_a_problem(
    session: Session,
) -> None:
    pull(session, LEDGER.slug, "order 136 Noah processing 33.00 by guthaben")
    run(session, LEDGER)
    pull(session, LEDGER.slug, "order 136 Noah cancelled 33.00 by guthaben")
    run(session, LEDGER)
    pull(session, LEDGER.slug, "refund 137 of 136 33.00 kept")

    late = run(session, LEDGER)

    assert 0 == late.refunded
    assert "refund 137 of 33.00 CHF on order 136" in late.problems[0]
    assert Decimal("0.00") == balance(session, LEDGER.slug, "member:5")
