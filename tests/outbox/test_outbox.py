"""The outbox over real SMTP (the mail catcher on loopback), on both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from pot_bridge import mailer, outbox
from pot_bridge.config import SmtpConfig
from pot_bridge.mailcatcher import MailCatcher, free_port
from pot_bridge.mailer import DrainResult
from pot_bridge.outbox import Attachment
from pot_bridge.store.schema import OutboxMessage

CSV = "\ufeffSKU;Produkt\r\nAPF-1;Äpfel Gala\r\n".encode()
PASSWORD = "hunter2-Sekret-7"
START = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)


class Clock:
    """The drain's `now`, moved by hand."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as running:
        yield running


@pytest.fixture
def smtp(catcher: MailCatcher) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=catcher.port,
        security="none",
        sender="bestellungen@nord.invalid",
        timeout_seconds=5,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def queue(
    sessions: sessionmaker[Session],
    key: str = "group-order:nord:plugin:130:Hof Sonnenberg",
    recipient: str = "hof@sonnenberg.invalid",
) -> OutboxMessage:
    with sessions() as session, session.begin():
        return outbox.enqueue(
            session,
            key=key,
            coop="nord",
            recipient=recipient,
            subject="Bestellung Foodcoop Nord – Bestellrunde KW 50",
            body="Grüezi\n\n3 kg Äpfel Gala\n",
            attachments=[Attachment("group-order.csv", "text/csv", CSV)],
            now=START,
        )


def row(sessions: sessionmaker[Session], key: str) -> OutboxMessage:
    with sessions() as session:
        message = outbox.list_messages(session)
        return next(m for m in message if m.key == key)


class TestEnqueue:
    def test_same_key_twice_gives_one_message(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A second enqueue of a cause returns the first message unchanged."""
        first = queue(sessions)
        second = queue(sessions, recipient="other@sonnenberg.invalid")

        with sessions() as session:
            messages = outbox.list_messages(session)
        assert [first.id] == [m.id for m in messages]
        assert first.id == second.id
        assert "hof@sonnenberg.invalid" == second.recipient
        assert first.message_id == second.message_id
        assert second.message_id.endswith(".nord@pot-bridge.invalid>")

    def test_concurrent_enqueue_of_one_key(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Two sessions enqueueing one key at once end with one message."""
        results: list[int] = []
        holder = sessions()
        holder.begin()
        first = outbox.enqueue(
            holder,
            key="k",
            coop="nord",
            recipient="a@b.invalid",
            subject="s",
            body="b",
            now=START,
        )
        holder.flush()

        def second() -> None:
            with sessions() as session, session.begin():
                message = outbox.enqueue(
                    session,
                    key="k",
                    coop="nord",
                    recipient="c@d.invalid",
                    subject="s",
                    body="b",
                    now=START,
                )
                results.append(message.id)

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)  # the second one now waits on the first one's lock
        holder.commit()
        holder.close()
        thread.join(10)

        with sessions() as session:
            assert 1 == len(outbox.list_messages(session))
        assert [first.id] == results

    def test_key_too_long_is_refused(self, sessions: sessionmaker[Session]) -> None:
        """Keys longer than the column are a caller's bug."""
        with pytest.raises(ValueError, match="outbox key"):
            queue(sessions, key="x" * 201)


class TestDrain:
    def test_sends_once_with_attachment_and_message_id(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """The e-mail arrives once, whole; a second drain sends nothing."""
        queued = queue(sessions)
        queue(sessions)

        with capture_logs() as logs:
            first = mailer.drain(sessions, smtp, now=clock)
        second = mailer.drain(sessions, smtp, now=clock)

        assert DrainResult(sent=1) == first
        assert DrainResult() == second
        assert 1 == len(catcher.messages)
        mail = catcher.messages[0]
        assert queued.message_id == mail["Message-ID"]
        assert "Bestellung Foodcoop Nord – Bestellrunde KW 50" == mail["Subject"]
        assert "bestellungen@nord.invalid" == mail["From"]
        assert "hof@sonnenberg.invalid" == mail["To"]
        body = mail.get_body(("plain",))
        assert body is not None
        assert "Grüezi\n\n3 kg Äpfel Gala\n" == body.get_content()
        [attachment] = list(mail.iter_attachments())
        assert "group-order.csv" == attachment.get_filename()
        assert "text/csv" == attachment.get_content_type()
        assert CSV == attachment.get_payload(decode=True)
        stored = row(sessions, queued.key)
        assert ("sent", START) == (stored.status, stored.sent_at)
        sent = [e for e in logs if e["event"] == "outbox.sent"]
        assert [queued.message_id] == [e["message_id"] for e in sent]
        assert ["outbox.sent", "outbox.drained"] == [e["event"] for e in logs]

    def test_transient_failures_back_off_then_send_once(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """451 and a dropped connection are retried later, with growing waits."""
        key = queue(sessions).key
        catcher.fail_next(1, 451, "greylisted, try again later")

        with capture_logs() as logs:
            first = mailer.drain(sessions, smtp, now=clock)
            after_first = row(sessions, key)
            too_early = mailer.drain(sessions, smtp, now=clock)
            clock.advance(66)
            catcher.drop_next(1)
            second = mailer.drain(sessions, smtp, now=clock)
            after_second = row(sessions, key)
            clock.advance(132)
            third = mailer.drain(sessions, smtp, now=clock)

        assert DrainResult(failing=1) == first
        assert ("failing", 1) == (after_first.status, after_first.attempts)
        assert "451 greylisted, try again later" == after_first.last_error
        assert 60 <= (after_first.next_attempt_at - START).total_seconds() <= 66
        assert DrainResult() == too_early
        assert DrainResult(failing=1) == second
        assert ("failing", 2) == (after_second.status, after_second.attempts)
        wait = (after_second.next_attempt_at - START).total_seconds() - 66
        assert 120 <= wait <= 132
        assert "SMTPServerDisconnected" in after_second.last_error
        assert DrainResult(sent=1) == third
        assert 1 == len(catcher.messages)
        assert ("sent", 3) == (row(sessions, key).status, row(sessions, key).attempts)
        retries = [e for e in logs if e["event"] == "outbox.retry"]
        assert [1, 2] == [e["attempt"] for e in retries]
        assert {"warning"} == {e["log_level"] for e in retries}

    def test_unreachable_server_fails_fast_for_all(
        self, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        """With nobody listening, every message is failing, the run short."""
        queue(sessions, key="a")
        queue(sessions, key="b")
        nobody = SmtpConfig(
            host="127.0.0.1", port=free_port(), security="none", timeout_seconds=5
        )

        result = mailer.drain(sessions, nobody, now=clock)

        assert DrainResult(failing=2) == result
        assert "ConnectionRefusedError" in row(sessions, "a").last_error
        assert row(sessions, "a").last_error == row(sessions, "b").last_error

    def test_permanent_refusal_fails_only_that_message(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """A 550 for one producer does not hold back the others."""
        queue(sessions, key="gone", recipient="gone@hof.invalid")
        queue(sessions, key="fine", recipient="fine@hof.invalid")
        catcher.refuse_recipient("gone@hof.invalid", 550)

        with capture_logs() as logs:
            result = mailer.drain(sessions, smtp, now=clock)
        clock.advance(86400)
        later = mailer.drain(sessions, smtp, now=clock)

        assert DrainResult(sent=1, failed=1) == result
        assert DrainResult() == later
        assert [["fine@hof.invalid"]] == catcher.recipients
        gone = row(sessions, "gone")
        assert "failed" == gone.status
        assert gone.last_error.startswith("550 ")
        assert ["gone"] == [e["key"] for e in logs if e["event"] == "outbox.failed"]

    def test_data_refused_for_good_is_failed(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """A 554 to the message itself is not retried either."""
        queue(sessions)
        catcher.fail_next(1, 554, "message rejected")

        result = mailer.drain(sessions, smtp, now=clock)

        assert DrainResult(failed=1) == result
        assert [] == catcher.messages


class TestExactlyOnce:
    def test_row_left_in_sending_becomes_uncertain(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """A dead process's claim is never sent again without an admin."""
        key = queue(sessions).key
        with sessions() as session, session.begin():
            session.execute(update(OutboxMessage).values(status="sending"))

        with capture_logs() as logs:
            recovered = outbox.recover(sessions, clock())
        clock.advance(7 * 86400)
        later = mailer.drain(sessions, smtp, now=clock)

        assert 1 == recovered
        assert DrainResult() == later
        assert [] == catcher.messages
        assert "uncertain" == row(sessions, key).status
        assert [("outbox.uncertain", "warning")] == [
            (e["event"], e["log_level"]) for e in logs
        ]

    def test_crash_after_the_server_took_it(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Dying between SMTP and the commit of `sent` gives one e-mail, not two."""
        key = queue(sessions).key
        finish = mailer._finish

        def die_before_sent(*args: Any, **kwargs: Any) -> None:
            if args[2] == "sent":
                raise SystemExit("killed")
            finish(*args, **kwargs)

        monkeypatch.setattr(mailer, "_finish", die_before_sent)
        with pytest.raises(SystemExit):
            mailer.drain(sessions, smtp, now=clock)
        monkeypatch.undo()

        left = row(sessions, key).status
        recovered = outbox.recover(sessions, clock())
        clock.advance(86400)
        later = mailer.drain(sessions, smtp, now=clock)

        assert "sending" == left
        assert 1 == recovered
        assert DrainResult() == later
        assert 1 == len(catcher.messages)
        assert "uncertain" == row(sessions, key).status

    def test_lost_answer_after_the_body_is_uncertain(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """No reply to the end of DATA may mean delivered: not retried."""
        key = queue(sessions).key
        catcher.drop_next(1, after_data=True)

        result = mailer.drain(sessions, smtp, now=clock)
        clock.advance(86400)
        later = mailer.drain(sessions, smtp, now=clock)

        assert DrainResult(uncertain=1) == result
        assert DrainResult() == later
        assert 1 == len(catcher.messages)
        assert "uncertain" == row(sessions, key).status

    def test_concurrent_drains_send_each_message_once(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """Two drains over one store share the work and never double it."""
        keys = [f"group-order:nord:plugin:130:Hof {n}" for n in range(8)]
        for key in keys:
            queue(sessions, key=key)
        start = threading.Barrier(2)
        results: list[DrainResult] = []

        def run() -> None:
            start.wait()
            results.append(mailer.drain(sessions, smtp, now=clock))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)

        assert 8 == sum(r.sent for r in results)
        assert 8 == len(catcher.messages)
        ids = {m["Message-ID"] for m in catcher.messages}
        assert {outbox.message_id(k, "nord") for k in keys} == ids


class TestLogin:
    def test_login_then_send(
        self, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        """With a username and password the bridge logs in before sending."""
        queue(sessions)

        with MailCatcher(credentials=("bridge", PASSWORD)) as catcher:
            smtp = SmtpConfig(
                port=catcher.port,
                security="none",
                username="bridge",
                password=SecretStr(PASSWORD),
            )
            result = mailer.drain(sessions, smtp, now=clock)

        assert DrainResult(sent=1) == result
        assert 1 == len(catcher.messages)

    def test_wrong_password_shows_nowhere(
        self, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        """A refused login is retried, and its password is in no error or log."""
        key = queue(sessions).key
        wrong = PASSWORD + "-old"

        with MailCatcher(credentials=("bridge", PASSWORD)) as catcher:
            smtp = SmtpConfig(
                port=catcher.port,
                security="none",
                username="bridge",
                password=SecretStr(wrong),
            )
            with capture_logs() as logs:
                result = mailer.drain(sessions, smtp, now=clock)

        stored = row(sessions, key)
        assert DrainResult(failing=1) == result
        assert "failing" == stored.status
        assert "login as 'bridge' refused: 535" in stored.last_error
        assert PASSWORD not in stored.last_error
        assert PASSWORD not in repr(logs)
        assert "outbox.retry" in [e["event"] for e in logs]


class TestAdmin:
    def test_resend_and_mark_sent(
        self,
        sessions: sessionmaker[Session],
        catcher: MailCatcher,
        smtp: SmtpConfig,
        clock: Clock,
    ) -> None:
        """An admin may send an uncertain message again or close a failed one."""
        uncertain = queue(sessions, key="u")
        failed = queue(sessions, key="f", recipient="gone@hof.invalid")
        catcher.refuse_recipient("gone@hof.invalid")
        with sessions() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == uncertain.id)
                .values(status="sending")
            )
        outbox.recover(sessions, clock())
        mailer.drain(sessions, smtp, now=clock)

        with sessions() as session, session.begin():
            outbox.resend(session, uncertain.id, clock())
            outbox.mark_sent(session, failed.id, clock())
            with pytest.raises(ValueError, match="only uncertain or failed"):
                outbox.resend(session, failed.id, clock())
        result = mailer.drain(sessions, smtp, now=clock)
        with sessions() as session:
            counts = outbox.summary(session)
            sent = outbox.list_messages(session, coop="nord", status="sent")

        assert DrainResult(sent=1) == result
        assert 1 == len(catcher.messages)
        assert 2 == counts["sent"]
        assert 0 == counts["uncertain"]
        assert set(outbox.STATUSES) == set(counts)
        assert ["u", "f"] == [m.key for m in sent]

    def test_unknown_message(self, sessions: sessionmaker[Session]) -> None:
        """Admin actions on a missing id say so."""
        with sessions() as session, pytest.raises(LookupError):
            outbox.mark_sent(session, 999, START)


def test_backoff_doubles_up_to_the_cap() -> None:
    """60 s, 120 s, 240 s … never more than the cap plus its jitter."""
    waits = [mailer.backoff(n, 60, 3600) for n in (1, 2, 3, 10)]

    assert 60 <= waits[0] <= 66
    assert 120 <= waits[1] <= 132
    assert 240 <= waits[2] <= 264
    assert 3600 <= waits[3] <= 3960
