"""Refunds for what members did not get, created in the shop exactly once.

A `ShopRefund` row is written first, in the transaction that decided a member
gets less; `push` sends it later. A POST whose answer was lost may still have
created the refund, so every row is looked up before it is sent: the refund
carries the row's key in its meta (`_pot_bridge_refund`) and a marker at the end
of its reason, and a refund found by either is recorded instead of sent again.
The cost is two GETs per refund, and a row whose POST ended without a clear
answer waits for the next run instead of being sent again at once.

Only the shape WooCommerce 9.9.5 is proven to accept is sent, `api_refund` is
always explicit, and the shop's answer is read back: a refund stored without
its line or with another amount is a failure an admin must see (trap T-09).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems, refund_wire, shortfall
from pot_bridge.config import CoopConfig
from pot_bridge.errors import (
    RetryLaterError,
    ShopError,
    ShopNotFound,
    ShopUnavailable,
    SkipItemError,
)
from pot_bridge.money import format_quantity
from pot_bridge.refund_amount import LineRefund, line_refund
from pot_bridge.shop.client import ShopClient
from pot_bridge.store.schema import ShopRefund

log = structlog.get_logger(__name__)

PENDING, CREATED, FAILED = "pending", "created", "failed"
WALLET = "foodcoop_guthaben"
# The refund controller's refusal (a gateway without refunds, an amount above
# what is left): WooCommerce answers it with HTTP 500, but nothing was stored.
REFUSED = "woocommerce_rest_cannot_create_order_refund"
# POSTs without a clear answer before a row is given up to an admin.
MAX_ATTEMPTS = 5


@dataclass
class Pushed:
    """What one push did, per row: sent and confirmed (`created`), found in the
    shop from an earlier run (`found`), `failed`, or left `pending` (no clear
    answer, or the shop was down). `failures` holds each failure's message."""

    coop: str
    created: int = 0
    found: int = 0
    failed: int = 0
    pending: int = 0
    failures: list[str] = field(default_factory=list)


def push(
    sessions: sessionmaker[Session],
    client: ShopClient,
    coop: CoopConfig,
    now: datetime,
) -> Pushed:
    """Send the coop's pending refunds, each committed on its own.

    A crash loses at most the refund in flight, and the next push finds that
    one in the shop. Runs of the same coop must not overlap: the attempt
    counter stops two runs that start together, not one that starts later.
    """
    with sessions() as session:
        rows = session.scalars(
            select(ShopRefund)
            .where(ShopRefund.coop == coop.slug, ShopRefund.status == PENDING)
            .order_by(ShopRefund.id)
        ).all()
        due = [_Due.of(row) for row in rows]

    pushed = Pushed(coop=coop.slug)
    for row in due:
        _Push(sessions, client, coop, row, now, pushed).run()

    if due:
        log.info(
            "refund.pushed",
            coop=coop.slug,
            due=len(due),
            created=pushed.created,
            found=pushed.found,
            failed=pushed.failed,
            pending=pushed.pending,
        )
    return pushed


@dataclass(frozen=True)
class _Due:
    """A pending row, detached from its session while the shop is asked."""

    pk: int
    key: str
    order_id: int
    item_id: int
    product_name: str
    quantity: Decimal
    reason: str
    attempts: int

    @classmethod
    def of(cls, row: ShopRefund) -> _Due:
        return cls(
            pk=row.id,
            key=row.key,
            order_id=row.order_id,
            item_id=row.item_id,
            product_name=row.product_name,
            quantity=row.quantity,
            reason=row.reason,
            attempts=row.attempts,
        )


class _Failed(Exception):
    """The row cannot be done: recorded as failed, the push goes on."""

    def __init__(self, message: str, *, kind: str = "refund.failed") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class _Push:
    """Look up, compute, send and record one pending refund."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: ShopClient,
        coop: CoopConfig,
        due: _Due,
        now: datetime,
        pushed: Pushed,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.coop = coop
        self.due = due
        self.now = now
        self.pushed = pushed
        self.what = (
            f"refund of {format_quantity(due.quantity)} × {due.product_name!r} "
            f"on order {due.order_id} (line {due.item_id})"
        )
        self.context = {
            "coop": coop.slug,
            "key": due.key,
            "order_id": due.order_id,
            "item_id": due.item_id,
        }

    def run(self) -> None:
        try:
            self._run()
        except _Failed as failure:
            self._fail(failure.message, failure.kind)

    def _run(self) -> None:
        due = self.due
        if due.quantity <= 0:
            raise _Failed(f"{self.what}: the quantity to refund is not positive")
        try:
            order = self.client.get(f"orders/{due.order_id}")
            refunds = list(self.client.iter_all(f"orders/{due.order_id}/refunds"))
        except ShopNotFound:
            raise _Failed(f"{self.what}: the order is gone from the shop") from None
        except RetryLaterError as exc:
            self._wait(f"not sent, the shop failed: {_said(exc)}", "refund.deferred")
            return

        try:
            seen = [refund_wire.parse(raw) for raw in refunds]
            seen += refund_wire.summaries(order, refunds)
            line = refund_wire.line_of(order, due.item_id)
            api_refund = self._api_refund(order)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _Failed(
                f"{self.what}: the shop's order or refunds are unreadable ({exc!r})"
            ) from None

        ours = self._ours(seen)
        if ours is not None:
            self._found(ours, api_refund)
            return
        if any(not s.detailed for s in seen):
            # An order listing refunds its refunds route does not show (T-07):
            # what is left of the line cannot be known.
            raise _Failed(
                f"{self.what}: the order lists refunds without detail "
                f"({', '.join(str(s.id) for s in seen if not s.detailed)}); what is "
                "left of the line is unknown"
            )
        if line is None:
            raise _Failed(f"{self.what}: the line is no longer in the order")

        earlier = [back for s in seen for back in s.lines if back.item_id == line.id]
        plan = line_refund(line, earlier, due.quantity)
        if plan is None:
            raise _Failed(f"{self.what}: nothing of the line is left to refund")
        if plan.quantity < due.quantity:
            log.warning(
                "refund.reduced",
                **self.context,
                asked=str(due.quantity),
                left=str(plan.quantity),
            )
        self._send(plan, api_refund)

    # -- the shop -------------------------------------------------------------

    def _api_refund(self, order: Mapping[str, Any]) -> bool:
        """Wallet orders are credited by the POT gateway; others as configured."""
        if order.get("payment_method") == WALLET:
            return True
        return bool(self.coop.gateway_refunds)

    def _ours(self, seen: Sequence[refund_wire.Seen]) -> refund_wire.Seen | None:
        tag = refund_wire.marker(self.due.key)
        for refund in seen:
            if refund.key == self.due.key or refund.reason.rstrip().endswith(tag):
                return refund
        return None

    def _send(self, plan: LineRefund, api_refund: bool) -> None:
        due = self.due
        if not self._claim():
            return  # another run took it meanwhile

        reason = due.reason or shortfall.REASON.format(name=due.product_name)
        body = refund_wire.request(plan, due.key, reason, api_refund)
        try:
            answer = self.client.post(f"orders/{due.order_id}/refunds", body)
        except SkipItemError as exc:
            raise _Failed(f"{self.what} refused by the shop: {_said(exc)}") from None
        except ShopUnavailable as exc:
            if REFUSED in exc.message:
                raise _Failed(
                    f"{self.what} refused by the shop: {_said(exc)}"
                ) from None
            self._unconfirmed(exc)
            return
        except RetryLaterError as exc:
            self._unconfirmed(exc)
            return

        try:
            got = refund_wire.parse(answer)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._unconfirmed(exc)
            return
        problem = refund_wire.mismatch(plan, got)
        if problem is not None:
            self._mismatched(
                f"{self.what}: the shop stored refund {got.id} unlike the request "
                f"(asked {plan.describe()}, amount {plan.amount}; got {problem})",
                got,
                api_refund,
            )
            return

        self._created(got, api_refund)
        self.pushed.created += 1
        log.info(
            "refund.created",
            **self.context,
            refund_id=got.id,
            amount=str(got.amount),
            quantity=str(plan.quantity),
            api_refund=api_refund,
        )

    def _found(self, refund: refund_wire.Seen, api_refund: bool) -> None:
        """Our refund is in the shop already: an earlier answer was lost."""
        mine = [back for back in refund.lines if back.item_id == self.due.item_id]
        if refund.detailed and not mine:
            self._mismatched(
                f"{self.what}: the shop holds refund {refund.id} for it without the "
                f"line (amount {refund.amount})",
                refund,
                api_refund,
            )
            return

        self._created(refund, api_refund)
        self.pushed.found += 1
        log.info(
            "refund.found",
            **self.context,
            refund_id=refund.id,
            amount=str(refund.amount),
            detailed=refund.detailed,
        )

    # -- the store --------------------------------------------------------------

    def _claim(self) -> bool:
        """Count the attempt before sending, so a crash still counts it."""
        with self.sessions.begin() as session:
            claimed = session.execute(
                update(ShopRefund)
                .where(ShopRefund.id == self.due.pk)
                .where(ShopRefund.status == PENDING)
                .where(ShopRefund.attempts == self.due.attempts)
                .values(attempts=self.due.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def _created(self, refund: refund_wire.Seen, api_refund: bool) -> None:
        """Record the refund the shop holds for this row: the row is done."""
        self._record(
            status=CREATED,
            refund_id=refund.id,
            amount=refund.amount,
            api_refund=api_refund,
            last_error="",
            done_at=self.now,
        )

    def _mismatched(
        self, message: str, refund: refund_wire.Seen, api_refund: bool
    ) -> None:
        """The shop holds a refund for this row, but not the one asked for."""
        self._fail(
            message,
            "refund.mismatch",
            refund_id=refund.id,
            amount=refund.amount,
            api_refund=api_refund,
        )

    def _unconfirmed(self, exc: Exception) -> None:
        """Sent, but no clear answer: the shop may hold it; the next run looks."""
        said = _said(exc)
        attempts = self.due.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            self._fail(
                f"{self.what}: no clear answer after {attempts} attempts ({said}); "
                f"look in the shop for a refund whose reason ends with "
                f"{refund_wire.marker(self.due.key)} before refunding by hand"
            )
            return
        self._wait(f"sent without a clear answer: {said}", "refund.unconfirmed")

    def _wait(self, error: str, event: str) -> None:
        """Leave the row pending for the next run, saying why."""
        self._record(last_error=error)
        self.pushed.pending += 1
        log.warning(event, **self.context, error=error)

    def _fail(self, message: str, kind: str = "refund.failed", **values: Any) -> None:
        message = f"coop {self.coop.slug}: {message}"
        subject = f"order {self.due.order_id} line {self.due.item_id}"
        self._record(
            status=FAILED,
            last_error=message,
            done_at=self.now,
            problem=(kind, subject, message),
            **values,
        )
        self.pushed.failed += 1
        self.pushed.failures.append(message)
        log.error("refund.failed", **self.context, kind=kind, error=message)

    def _record(
        self, *, problem: tuple[str, str, str] | None = None, **values: Any
    ) -> None:
        """Commit what happened to this row, with its problem if there is one."""
        with self.sessions.begin() as session:
            session.execute(
                update(ShopRefund)
                .where(ShopRefund.id == self.due.pk)
                .where(ShopRefund.status == PENDING)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if problem is not None:
                kind, subject, message = problem
                problems.report(
                    session,
                    coop=self.coop.slug,
                    kind=kind,
                    subject=subject,
                    message=message,
                    now=self.now,
                    details={"key": self.due.key},
                )


def _said(exc: Exception) -> str:
    """An error's text without the coop prefix the messages carry already."""
    return exc.message if isinstance(exc, ShopError) else str(exc)
