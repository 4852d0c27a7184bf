"""The outbox: e-mails kept in the store until the SMTP server has taken them.

A producer must get each group order exactly once, even if the bridge dies or the
mail server is away. So a message is first written with the key of its cause
(enqueueing it twice is harmless), then claimed (`sending`) and committed before
SMTP, and marked `sent` after (`pot_bridge.mailer`). A message found in `sending` at start may or may
not have been delivered: it becomes `uncertain` and waits for an admin instead of
being sent again. The cost is that rare case needs a human; a duplicate order to
a farmer costs more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.store.schema import OutboxAttachment, OutboxMessage

log = structlog.get_logger(__name__)

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILING = "failing"
FAILED = "failed"
UNCERTAIN = "uncertain"
STATUSES = (QUEUED, SENDING, SENT, FAILING, FAILED, UNCERTAIN)
DUE = (QUEUED, FAILING)

_KEY_LENGTH = 200


@dataclass(frozen=True)
class Attachment:
    """A file to send along, stored with the message so every attempt is alike."""

    filename: str
    content_type: str
    content: bytes


def message_id(key: str, coop: str) -> str:
    """The Message-ID, derived from the cause so that every attempt carries it."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]

    return f"<{digest}.{coop}@pot-bridge.invalid>"


def enqueue(
    session: Session,
    *,
    key: str,
    coop: str,
    recipient: str,
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    now: datetime,
) -> OutboxMessage:
    """Queue a message once per `key`; a second call returns the first message.

    The caller commits. A concurrent enqueue of the same key by another process
    ends in the unique constraint; the savepoint keeps the caller's transaction.
    """
    if not key or len(key) > _KEY_LENGTH:
        raise ValueError(f"outbox key must have 1 to {_KEY_LENGTH} characters: {key!r}")

    existing = _by_key(session, key)
    if existing is not None:
        return existing

    message = OutboxMessage(
        key=key,
        coop=coop,
        recipient=recipient,
        subject=subject,
        body=body,
        status=QUEUED,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        message_id=message_id(key, coop),
        created_at=now,
        attachments=[
            OutboxAttachment(
                filename=a.filename, content_type=a.content_type, content=a.content
            )
            for a in attachments
        ],
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = _by_key(session, key)
        if existing is None:  # pragma: no cover - a constraint other than the key
            raise
        return existing

    log.info("outbox.queued", coop=coop, key=key, recipient=recipient)

    return message


def count_keys(session: Session, prefix: str) -> int:
    """How many mails were ever queued under keys starting with `prefix`."""
    found = session.scalar(
        select(func.count()).where(OutboxMessage.key.startswith(prefix))
    )
    return int(found or 0)


def exists(session: Session, key: str) -> bool:
    """Whether a mail with this key was ever queued (sent or not)."""
    return _by_key(session, key) is not None


def _by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


def recover(sessions: sessionmaker[Session], now: datetime) -> int:
    """At start, mark messages a dead process left in `sending` as uncertain.

    They are not sent again: the server may have delivered them. Run beside a
    live drain, it marks that drain's message too; the drain still records
    `sent` if the server takes it, so the cost is an admin's look, not a copy.
    """
    with sessions() as session, session.begin():
        stuck = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == SENDING)
        ).all()
        for message in stuck:
            message.status = UNCERTAIN
            message.last_error = (
                f"the bridge stopped while sending (found at {now.isoformat()}); "
                "check with the recipient, then resend or mark sent"
            )
            log.warning(
                "outbox.uncertain",
                coop=message.coop,
                key=message.key,
                recipient=message.recipient,
                message_id=message.message_id,
            )

    return len(stuck)


def resend(session: Session, message_pk: int, now: datetime) -> OutboxMessage:
    """Queue an uncertain or failed message again, on an admin's word."""
    message = _get(session, message_pk)
    if message.status not in (UNCERTAIN, FAILED):
        raise ValueError(
            f"message {message_pk} is {message.status}; only uncertain or failed "
            "messages can be sent again"
        )

    message.status = QUEUED
    message.attempts = 0
    message.next_attempt_at = now
    log.info("outbox.resend", coop=message.coop, key=message.key)

    return message


def mark_sent(session: Session, message_pk: int, now: datetime) -> OutboxMessage:
    """Record that a message reached its recipient by other means."""
    message = _get(session, message_pk)
    if message.status in (SENT, SENDING):
        raise ValueError(f"message {message_pk} is {message.status}")

    message.status = SENT
    message.sent_at = now
    log.info("outbox.marked_sent", coop=message.coop, key=message.key)

    return message


def _get(session: Session, message_pk: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_pk)
    if message is None:
        raise LookupError(f"no outbox message {message_pk}")

    return message


def summary(session: Session) -> dict[str, int]:
    """How many messages are in each state, every known state listed."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in rows:
        counts[status] = count

    return counts


def list_messages(
    session: Session, coop: str | None = None, status: str | None = None
) -> list[OutboxMessage]:
    """Messages oldest first, for `pot-bridge status`."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
    if coop is not None:
        query = query.where(OutboxMessage.coop == coop)
    if status is not None:
        query = query.where(OutboxMessage.status == status)

    return list(session.scalars(query).all())
