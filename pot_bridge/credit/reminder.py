"""Low-balance reminders: a mail with the member's QR-bill to top up.

A member whose credit in the ledger is below the coop's `low_balance` gets one
reminder per `reminder_days`. The outbox key names the member and the window
of `reminder_days` days the reminder falls in (counted from 1 January of year
1 in the coop's calendar), so a run repeated after a crash queues nothing new;
and no reminder goes out while the member's last one is younger than
`reminder_days`, so two windows meeting cannot give two mails a day apart.

Only members with a credit account in the ledger are reminded: a customer who
never used credit has nothing to top up. Members without an e-mail address in
the store are skipped and logged.

With the POT plugin the member sees the wallet's balance, not the ledger's. A
reminder therefore quotes the ledger only where a reconciliation of the last
day found it equal to the wallet: without such a run nobody is reminded (a new
install has not read the wallet yet), and a member whose balance differs, or
who has wallet rows not yet matched, waits until the admin has looked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import outbox
from pot_bridge.config import CoopConfig, plausible_email
from pot_bridge.credit import qrbill
from pot_bridge.credit.found import Kind
from pot_bridge.credit.reconcile_store import newest_run
from pot_bridge.credit.statement import Contact, contacts
from pot_bridge.documents import render_mail
from pot_bridge.errors import ConfigError, SkipItemError
from pot_bridge.ledger import balances
from pot_bridge.ledger.accounts import member_id
from pot_bridge.money import format_chf
from pot_bridge.store.schema import OutboxMessage

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LowBalance:
    member: int
    balance: Decimal


def key(coop: CoopConfig, member: int, now: datetime) -> str:
    """reminder:<coop>:<member>:<first day of the window>"""
    return f"reminder:{coop.slug}:{member}:{window(coop, now).isoformat()}"


def window(coop: CoopConfig, now: datetime) -> date:
    """The first day of the `reminder_days` window that `now` falls in."""
    day = now.astimezone(coop.zone).date().toordinal()

    return date.fromordinal(day - (day - 1) % coop.credit.reminder_days)


def low_balances(session: Session, coop: CoopConfig) -> list[LowBalance]:
    """Members whose credit is below the coop's threshold, by member number."""
    threshold = coop.credit.low_balance
    if threshold is None:
        return []

    found = []
    for code, balance in balances(session, coop.slug).items():
        member = member_id(code)
        if member is not None and balance < threshold:
            found.append(LowBalance(member, balance))

    return sorted(found, key=lambda low: low.member)


def remind(sessions: sessionmaker[Session], coop: CoopConfig, now: datetime) -> int:
    """Queue a reminder for each member below the threshold; return how many.

    Each member is queued in a transaction of its own: one member's bad
    address or reference does not hold back the others.
    """
    if coop.credit.low_balance is None:
        return 0
    if coop.credit.iban is None:
        raise ConfigError(
            "low_balance reminders carry a QR-bill: set [coop.credit] iban",
            coop=coop.slug,
        )

    with sessions() as session:
        low = low_balances(session, coop)
        if coop.credit.mode == "plugin":
            low = _proven(session, coop, low, now)
        people = contacts(session, coop.slug, [item.member for item in low])

    queued = skipped = 0
    for item in low:
        contact = people.get(item.member)
        if not _reachable(coop, item.member, contact):
            skipped += 1
            continue
        assert contact is not None
        try:
            with sessions.begin() as session:
                queued += _queue(session, coop, item, contact, now)
        except SkipItemError as exc:
            skipped += 1
            log.warning(
                "credit.reminder.skipped",
                coop=coop.slug,
                member=item.member,
                error=str(exc),
            )

    log.info(
        "credit.reminders.done",
        coop=coop.slug,
        below=len(low),
        queued=queued,
        skipped=skipped,
    )

    return queued


# a reconciliation older than this proves nothing about tonight's balances
PROVEN_FOR = timedelta(hours=26)
_DISPUTED = frozenset({Kind.BALANCE_DIFFERS, Kind.ROW_UNMATCHED})


def proven_recently(
    sessions: sessionmaker[Session], coop: CoopConfig, now: datetime
) -> bool:
    """Whether a reconciliation of the last day can vouch for the balances."""
    with sessions() as session:
        run = newest_run(session, coop.slug)
    return run is not None and run.ran_at >= now - PROVEN_FOR


def _proven(
    session: Session, coop: CoopConfig, low: list[LowBalance], now: datetime
) -> list[LowBalance]:
    """The members whose ledger balance the last day's reconciliation found
    equal to the shop's wallet."""
    run = newest_run(session, coop.slug)
    if run is None or run.ran_at < now - PROVEN_FOR:
        log.warning(
            "credit.reminders.unproven",
            coop=coop.slug,
            reason="no reconciliation in the last day",
        )
        return []

    disputed = {f.member for f in run.findings if f.kind in _DISPUTED}
    if disputed & {item.member for item in low}:
        log.info("credit.reminders.disputed", coop=coop.slug, members=len(disputed))
    return [item for item in low if item.member not in disputed]


def reminder_email(
    coop: CoopConfig, contact: Contact, balance: Decimal
) -> tuple[str, str]:
    """Subject and body in the coop's language (members have no language of
    their own in the shop)."""
    assert coop.credit.low_balance is not None
    bill = qrbill.member_bill(coop, contact.member, contact.name)
    reference = qrbill.format_reference(bill) if bill.reference_type != "NON" else ""

    return render_mail(
        "reminder_email",
        coop.language,
        coop_name=coop.name,
        coop_email=coop.admin_email,
        member_name=contact.name,
        member=contact.member,
        balance=format_chf(balance),
        threshold=format_chf(coop.credit.low_balance),
        iban=qrbill.format_iban(bill.account),
        reference=reference,
        message=bill.message,
        attachment=qrbill.file_name(coop, contact.member),
    )


def _reachable(coop: CoopConfig, member: int, contact: Contact | None) -> bool:
    if contact is None or not contact.email:
        log.info("credit.reminder.no_email", coop=coop.slug, member=member)
        return False
    try:
        plausible_email(contact.email)
    except ValueError:
        log.warning("credit.reminder.bad_email", coop=coop.slug, member=member)
        return False

    return True


def _queue(
    session: Session,
    coop: CoopConfig,
    item: LowBalance,
    contact: Contact,
    now: datetime,
) -> int:
    """1 if a reminder was queued now, 0 if the member had one lately."""
    if _reminded_since(session, coop, item.member, now):
        return 0

    subject, body = reminder_email(coop, contact, item.balance)
    pdf = qrbill.qrbill_pdf(coop, item.member, contact.name)
    attachment = outbox.Attachment(
        qrbill.file_name(coop, item.member), "application/pdf", pdf
    )
    outbox.enqueue(
        session,
        key=key(coop, item.member, now),
        coop=coop.slug,
        recipient=contact.email,
        subject=subject,
        body=body,
        attachments=[attachment],
        now=now,
    )

    return 1


def _reminded_since(
    session: Session, coop: CoopConfig, member: int, now: datetime
) -> bool:
    since = now - timedelta(days=coop.credit.reminder_days)
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.key.startswith(
                f"reminder:{coop.slug}:{member}:", autoescape=True
            ),
            OutboxMessage.created_at > since,
        )
    )

    return bool(count)
