"""The mailer: sends the outbox's due messages over SMTP, each at most once.

One connection serves a drain run. Each message is claimed (`sending`) and
committed before SMTP, and its outcome committed after: `sent`, `failing` with
a later retry, `failed` when the server refuses it for good (or on a bug), or
`uncertain` when the answer to the body was lost (see `pot_bridge.outbox`).
"""

from __future__ import annotations

import contextlib
import random
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pot_bridge.config import SmtpConfig
from pot_bridge.outbox import DUE, FAILED, FAILING, SENDING, SENT, UNCERTAIN
from pot_bridge.store.schema import OutboxMessage

log = structlog.get_logger(__name__)

_JITTER = 0.1
_jitter = random.Random()


@dataclass(frozen=True)
class DrainResult:
    """What one drain run did; `uncertain` counts answers lost after the body."""

    sent: int = 0
    failing: int = 0
    failed: int = 0
    uncertain: int = 0


def build_message(message: OutboxMessage, sender: str) -> EmailMessage:
    """The e-mail as it goes out, the same bytes on every attempt."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    email.set_content(message.body, charset="utf-8", cte="quoted-printable")

    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )

    return email


class _Uncertain(Exception):
    """The body went out but no answer came back: it may have been delivered."""


class _Unreachable(Exception):
    """The server could not be reached earlier in this run; not tried again."""


class _Connection:
    """One SMTP connection for a drain run, opened when first needed.

    After a disconnect the next message connects again; after a failed connect
    the rest of the run fails fast instead of waiting for each timeout.
    """

    def __init__(self, smtp: SmtpConfig) -> None:
        self.smtp = smtp
        self.client: smtplib.SMTP | None = None
        self.broken: str | None = None

    def get(self) -> smtplib.SMTP:
        if self.broken is not None:
            raise _Unreachable(self.broken)
        if self.client is not None:
            return self.client

        try:
            self.client = self._open()
        except (OSError, smtplib.SMTPException) as exc:
            self.broken = _describe(exc, self.smtp)
            raise

        return self.client

    def _open(self) -> smtplib.SMTP:
        smtp = self.smtp
        # The EHLO name comes from the sender's domain: it spares a reverse
        # DNS lookup of this machine, which may not have a public name.
        helo = smtp.sender.rpartition("@")[2] or "localhost"
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(
                smtp.host,
                smtp.port,
                local_hostname=helo,
                timeout=smtp.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(
                smtp.host, smtp.port, local_hostname=helo, timeout=smtp.timeout_seconds
            )
        try:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username and smtp.password is not None:
                client.login(smtp.username, smtp.password.get_secret_value())
        except BaseException:
            client.close()
            raise

        return client

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        if self.client is None:
            return
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.client.quit()
        self.drop()


def _transmit(client: smtplib.SMTP, sender: str, recipient: str, raw: bytes) -> None:
    """MAIL, RCPT and DATA, telling a lost answer to the body from other failures.

    smtplib's sendmail cannot tell them apart, and only the first one may have
    delivered the message.
    """
    client.ehlo_or_helo_if_needed()
    code, reply = client.mail(sender)
    if code != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)

    code, reply = client.rcpt(recipient)
    if code not in (250, 251):
        client.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})

    code, reply = client.docmd("DATA")
    if code != 354:
        client.rset()
        raise smtplib.SMTPDataError(code, reply)

    stuffed = re.sub(rb"(?m)^\.", b"..", raw)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    client.send(stuffed + b".\r\n")
    try:
        code, reply = client.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise _Uncertain(str(exc) or type(exc).__name__) from exc
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def _describe(exc: BaseException, smtp: SmtpConfig) -> str:
    """An error text for `last_error` and the log, with no password in it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        text = f"{code} {reply.decode(errors='replace')}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error
        said = said.decode(errors="replace") if isinstance(said, bytes) else said
        text = f"{exc.smtp_code} {said}"
    elif isinstance(exc, _Unreachable):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = f"login as {smtp.username!r} refused: {text}"
    if smtp.password is not None and smtp.password.get_secret_value():
        text = text.replace(smtp.password.get_secret_value(), "[redacted]")

    return text


def _is_permanent(exc: Exception) -> bool:
    """A 5xx refusal of this recipient or this message, or a bug: no retry.

    Login and sender refusals are the bridge's setup, not the message's fault:
    they stay `failing` and go out by themselves once the setup is fixed.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, _ = next(iter(exc.recipients.values()))
        return code >= 500
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500

    return _is_bug(exc)


def _is_bug(exc: Exception) -> bool:
    return not isinstance(exc, OSError | smtplib.SMTPException | _Unreachable)


def _is_lost(exc: Exception) -> bool:
    """Whether the connection is gone and the next message must open another."""
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        return True

    return isinstance(exc, OSError | smtplib.SMTPServerDisconnected)


def backoff(
    attempts: int, base: float, cap: float, rng: random.Random = _jitter
) -> float:
    """Seconds to wait after the `attempts`-th failure: doubling, capped, jittered."""
    wait = min(base * 2 ** (attempts - 1), cap)

    return wait * (1 + rng.uniform(0, _JITTER))


def drain(
    sessions: sessionmaker[Session],
    smtp: SmtpConfig,
    *,
    now: Callable[[], datetime],
    limit: int = 50,
    backoff_base: float = 60,
    backoff_cap: float = 3600,
) -> DrainResult:
    """Send the messages that are due, each at most once, over one connection."""
    with sessions() as session:
        due = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status.in_(DUE))
            .where(OutboxMessage.next_attempt_at <= now())
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        ).all()

    counts = dict.fromkeys((SENT, FAILING, FAILED, UNCERTAIN), 0)
    connection = _Connection(smtp)
    try:
        for pk in due:
            message = _claim(sessions, pk, now())
            if message is None:
                continue
            outcome = _send_one(
                sessions, connection, message, smtp, now, backoff_base, backoff_cap
            )
            counts[outcome] += 1
    finally:
        connection.close()

    result = DrainResult(
        sent=counts[SENT],
        failing=counts[FAILING],
        failed=counts[FAILED],
        uncertain=counts[UNCERTAIN],
    )
    if due:
        log.info("outbox.drained", due=len(due), **asdict(result))

    return result


def _claim(
    sessions: sessionmaker[Session], pk: int, at: datetime
) -> OutboxMessage | None:
    """Take the message for this run, or None if another run has it already."""
    with sessions() as session, session.begin():
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == pk)
            .where(OutboxMessage.status.in_(DUE))
            .where(OutboxMessage.next_attempt_at <= at)
            .values(status=SENDING)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id == pk)
            .options(selectinload(OutboxMessage.attachments))
        ).one()


def _send_one(
    sessions: sessionmaker[Session],
    connection: _Connection,
    message: OutboxMessage,
    smtp: SmtpConfig,
    now: Callable[[], datetime],
    backoff_base: float,
    backoff_cap: float,
) -> str:
    """SMTP for one claimed message, then its outcome committed."""
    context = {"coop": message.coop, "key": message.key}
    attempt = message.attempts + 1

    try:
        raw = build_message(message, smtp.sender).as_bytes(policy=SMTP_POLICY)
        _transmit(connection.get(), smtp.sender, message.recipient, raw)
    except _Uncertain as exc:
        connection.drop()
        error = f"no answer after the message was sent: {exc}"
        _finish(sessions, message.id, UNCERTAIN, attempts=attempt, last_error=error)
        log.warning("outbox.uncertain", **context, error=error)
        return UNCERTAIN
    except Exception as exc:
        if _is_lost(exc):
            connection.drop()
        error = _describe(exc, smtp)
        if _is_permanent(exc):
            _finish(sessions, message.id, FAILED, attempts=attempt, last_error=error)
            log.error(
                "outbox.failed",
                **context,
                recipient=message.recipient,
                error=error,
                exc_info=_is_bug(exc),
            )
            return FAILED
        wait = backoff(attempt, backoff_base, backoff_cap)
        retry_at = now() + timedelta(seconds=wait)
        _finish(
            sessions,
            message.id,
            FAILING,
            attempts=attempt,
            last_error=error,
            next_attempt_at=retry_at,
        )
        log.warning(
            "outbox.retry", **context, attempt=attempt, wait=round(wait), error=error
        )
        return FAILING

    _finish(sessions, message.id, SENT, attempts=attempt, sent_at=now())
    log.info(
        "outbox.sent",
        **context,
        recipient=message.recipient,
        message_id=message.message_id,
    )

    return SENT


def _finish(
    sessions: sessionmaker[Session], pk: int, status: str, **values: object
) -> None:
    """Commit the outcome of a claimed message.

    `sent` is recorded even if an admin's `recover` marked the row uncertain
    meanwhile: the server took it, and that is what counts.
    """
    held = (SENDING, UNCERTAIN) if status == SENT else (SENDING,)
    with sessions() as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == pk)
            .where(OutboxMessage.status.in_(held))
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        )
