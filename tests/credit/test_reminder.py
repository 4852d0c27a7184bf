"""Low-balance reminders over real SMTP (the mail catcher), on both databases.

Balances come from ledger entries in the notation of tests/ledger/notation.py;
what goes out is read back from the SMTP server.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage

import pypdf
import pytest
from ledger.notation import book_all
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from credit.test_statement import add_members
from pot_bridge import mailer
from pot_bridge.config import CoopConfig, SmtpConfig
from pot_bridge.credit.qrbill import format_reference, member_bill
from pot_bridge.credit.reminder import key, proven_recently, remind, window
from pot_bridge.errors import ConfigError
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.store.schema import Reconciliation, ReconciliationFinding
from pot_bridge.wording import TEMPLATES

COOP = CoopConfig(
    slug="nord",
    name="Foodcoop Nord",
    shop_url="http://127.0.0.1:8080",
    wp_user="bridge",
    admin_email="kasse@nord.example.org",
    address=["Foodcoop Nord", "Lagerstrasse 12a", "8400 Winterthur"],
    credit={
        # the ledger is the book, so its balances are the members' (plugin
        # mode is below: there a reconciliation must have proven them)
        "mode": "ledger",
        "iban": "CH44 3199 9123 0008 8901 2",
        "reference_prefix": "21",
        "low_balance": Decimal("20.00"),
        "reminder_days": 7,
    },
)

# Anna is low; Ben is low without e-mail; Cleo has plenty; Dario sits exactly
# on the threshold; Eva never used her credit.
LEDGER = """
2026-11-02 top_up bank:CH4431999123000889012:A1 "Einzahlung Bank"
  bank      -150.00
  member:5    50.00
  member:6    20.00
  member:7    80.00
2026-11-20 order order:131:paid "Bestellung #131"
  member:5   -38.00
  member:6   -17.00
  sales       55.00
2026-11-21 top_up bank:CH4431999123000889012:A2 "Einzahlung Bank"
  bank       -20.00
  member:8    20.00
"""
PEOPLE = [
    (5, "Anna", "Muster", "anna@example.org"),
    (6, "Ben", "Ohnemail", ""),
    (7, "Cleo", "Reich", "cleo@example.org"),
    (8, "Dario", "Knapp", "dario@example.org"),
    (9, "Eva", "Neu", "eva@example.org"),
]


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        book_all(session, "nord", LEDGER)
        add_members(session, "nord", *PEOPLE)
    return factory


@pytest.fixture
def smtp(mail: MailCatcher) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=mail.port,
        security="none",
        sender="kasse@nord.example.org",
        timeout_seconds=5,
    )


def last_day_of_a_window(coop: CoopConfig) -> datetime:
    """10:00 in Zurich on the last day of a reminder window."""
    start = window(coop, datetime(2026, 12, 1, 9, 0, tzinfo=coop.zone))
    day = start + timedelta(days=coop.credit.reminder_days - 1)
    return datetime.combine(day, time(10, 0), tzinfo=coop.zone)


def send(sessions: sessionmaker[Session], smtp: SmtpConfig, now: datetime) -> int:
    return mailer.drain(sessions, smtp, now=lambda: now + timedelta(minutes=1)).sent


def pdf_text(message: EmailMessage) -> str:
    [attachment] = list(message.iter_attachments())
    data = attachment.get_content()
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_member_below_threshold_gets_a_mail_with_the_qr_bill(
    sessions: sessionmaker[Session], smtp: SmtpConfig, mail: MailCatcher
) -> None:
    now = last_day_of_a_window(COOP)
    with capture_logs() as logs:
        queued = remind(sessions, COOP, now)
    send(sessions, smtp, now)

    assert 1 == queued
    [message] = mail.messages
    assert "anna@example.org" == message["To"]
    assert "Ihr Guthaben bei Foodcoop Nord: 12.00 CHF" == message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Guten Tag Anna Muster" in text
    assert "unter 20.00 CHF" in text
    assert "TopUp Anna Muster (5)" in text
    assert "kasse@nord.example.org" in text
    [attachment] = list(message.iter_attachments())
    assert "qr-bill-nord-5.pdf" == attachment.get_filename()
    assert "application/pdf" == attachment.get_content_type()
    reference = format_reference(member_bill(COOP, 5))
    assert reference in text
    assert reference in pdf_text(message)
    skipped = [log for log in logs if log["event"] == "credit.reminder.no_email"]
    assert [6] == [log["member"] for log in skipped]


def test_at_most_one_reminder_per_window_of_days(
    sessions: sessionmaker[Session], smtp: SmtpConfig, mail: MailCatcher
) -> None:
    """Again at once: nothing. Three days later, in the next window: still
    nothing, the last mail is younger than 7 days. A week later: one more."""
    now = last_day_of_a_window(COOP)
    later = now + timedelta(days=3)
    week = now + timedelta(days=7)

    counts = [remind(sessions, COOP, at) for at in (now, now, later, week)]
    send(sessions, smtp, week)

    assert window(COOP, now) != window(COOP, later)
    assert [1, 0, 0, 1] == counts
    assert ["anna@example.org"] * 2 == [m["To"] for m in mail.messages]
    assert key(COOP, 5, now) != key(COOP, 5, week)
    assert key(COOP, 5, now).startswith("reminder:nord:5:")


def test_language_is_the_coops(
    sessions: sessionmaker[Session], smtp: SmtpConfig, mail: MailCatcher
) -> None:
    coop = COOP.model_copy(update={"language": "fr"})
    now = last_day_of_a_window(coop)

    remind(sessions, coop, now)
    send(sessions, smtp, now)

    [message] = mail.messages
    assert "Votre avoir auprès de Foodcoop Nord : 12.00 CHF" == message["Subject"]
    assert "Section paiement" in pdf_text(message)


def test_no_threshold_no_reminders(
    sessions: sessionmaker[Session], smtp: SmtpConfig, mail: MailCatcher
) -> None:
    credit = COOP.credit.model_copy(update={"low_balance": None})
    coop = COOP.model_copy(update={"credit": credit})
    now = last_day_of_a_window(coop)

    assert 0 == remind(sessions, coop, now)
    assert 0 == send(sessions, smtp, now)
    assert [] == mail.messages


def test_a_threshold_without_iban_names_the_coop(
    sessions: sessionmaker[Session],
) -> None:
    credit = COOP.credit.model_copy(update={"iban": None})
    coop = COOP.model_copy(update={"credit": credit})

    with pytest.raises(ConfigError, match=r"coop nord: .*QR-bill.*iban"):
        remind(sessions, coop, last_day_of_a_window(coop))


@pytest.mark.parametrize("lang", ["de", "fr", "en"])
def test_every_language_has_the_template(lang: str) -> None:
    assert (TEMPLATES / f"reminder_email.{lang}.txt.j2").is_file()


# -- with the POT plugin: only balances a reconciliation proved -------------------

PLUGIN = COOP.model_copy(
    update={"credit": COOP.credit.model_copy(update={"mode": "plugin"})}
)


def reconciled(sessions: sessionmaker[Session], at: datetime, *disputed: int) -> None:
    """A reconciliation run at `at`, finding the balances of `disputed` differ."""
    with sessions.begin() as session:
        run = Reconciliation(coop="nord", ran_at=at, members=5, wallet_rows=9)
        run.findings = [
            ReconciliationFinding(
                kind="balance_differs", member=member, amount=Decimal("5.00")
            )
            for member in disputed
        ]
        session.add(run)


def test_plugin_mode_reminds_nobody_before_a_reconciliation(
    sessions: sessionmaker[Session],
) -> None:
    assert 0 == remind(sessions, PLUGIN, last_day_of_a_window(PLUGIN))


def test_plugin_mode_reminds_on_balances_proven_in_the_last_day(
    sessions: sessionmaker[Session],
) -> None:
    now = last_day_of_a_window(PLUGIN)
    reconciled(sessions, now - timedelta(hours=27))

    stale = remind(sessions, PLUGIN, now)
    reconciled(sessions, now - timedelta(hours=8))
    proven = remind(sessions, PLUGIN, now)

    assert (0, 1) == (stale, proven)


def test_plugin_mode_leaves_out_a_member_whose_wallet_differs(
    sessions: sessionmaker[Session],
) -> None:
    now = last_day_of_a_window(PLUGIN)
    reconciled(sessions, now - timedelta(hours=1), 5)

    assert 0 == remind(sessions, PLUGIN, now)


def test_plugin_mode_says_when_balances_are_proven(
    sessions: sessionmaker[Session],
) -> None:
    now = last_day_of_a_window(PLUGIN)
    before = proven_recently(sessions, PLUGIN, now)
    reconciled(sessions, now - timedelta(hours=2))

    assert (False, True) == (before, proven_recently(sessions, PLUGIN, now))
