"""The credit commands as an admin runs them: files written, mails sent, output.

The commands run in-process through `add_parser` and `run`, on a bridge on
SQLite and PostgreSQL, with the mail catcher as SMTP server.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from ledger.notation import book_all
from sqlalchemy.orm import Session

from credit.test_reminder import COOP, LEDGER, PEOPLE, last_day_of_a_window
from credit.test_statement import add_members
from pot_bridge import cli_credit
from pot_bridge.bridge import Bridge
from pot_bridge.config import Settings, SmtpConfig
from pot_bridge.errors import ConfigError, SkipItemError
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.store import make_engine, migrate

NOW = last_day_of_a_window(COOP)


@pytest.fixture
def bridge(db_url: str, mail: MailCatcher, tmp_path: Path) -> Iterator[Bridge]:
    settings = Settings(
        state_dir=tmp_path,
        database_url=db_url,
        smtp=SmtpConfig(
            host="127.0.0.1",
            port=mail.port,
            security="none",
            sender="kasse@nord.example.org",
            timeout_seconds=5,
        ),
        coops=[COOP],
    )
    running = Bridge(settings, clock=lambda: NOW + timedelta(minutes=1))
    with running.sessions.begin() as session:
        book_all(session, "nord", LEDGER)
        add_members(session, "nord", *PEOPLE)
    yield running
    running.dispose()


def command(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pot-bridge")
    cli_credit.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_qrbill_with_an_amount(
    bridge: Bridge, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "anna.pdf"

    status = cli_credit.run(
        command("qrbill", "nord", "5", "-o", str(out), "--amount", "25"), bridge
    )

    assert 0 == status
    text = pdf_text(out)
    assert "CHF 25.00" in text
    assert "TopUp Anna Muster (5)" in text
    printed = capsys.readouterr().out
    assert "member 5 (Anna Muster)" in printed
    assert "reference 21 00000 00000 00000 00000 00056" in printed
    assert "amount 25.00 CHF" in printed


def test_qrbill_of_an_unknown_member_says_to_sync(bridge: Bridge) -> None:
    with pytest.raises(SkipItemError, match="coop nord: no member 77 in the store"):
        cli_credit.run(command("qrbill", "nord", "77"), bridge)


def test_statement_writes_pdf_and_csv(
    bridge: Bridge, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["statement", "nord", "5", "--from", "2026-11-01", "--to", "2026-11-30"]

    status = cli_credit.run(command(*argv, "-o", str(tmp_path)), bridge)

    assert 0 == status
    stem = tmp_path / "statement-nord-5-2026-11-01-2026-11-30"
    rows = stem.with_suffix(".csv").read_text("utf-8-sig").splitlines()
    assert "2026-11-30;Schlusssaldo;;;12.00" == rows[-1]
    assert "Kontoauszug" in pdf_text(stem.with_suffix(".pdf"))
    printed = capsys.readouterr().out
    assert "opening 0.00 CHF, 2 postings, closing 12.00 CHF" in printed


def test_journal_writes_the_csv_and_the_totals(
    bridge: Bridge, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "journal.csv"
    argv = ["journal", "nord", "--from", "2026-11-01", "--to", "2026-11-30"]

    status = cli_credit.run(command(*argv, "-o", str(out)), bridge)

    assert 0 == status
    lines = out.read_text("utf-8-sig").splitlines()
    assert "Date;Doc;Description;AccountDebit;AccountCredit;Amount;Key" == lines[0]
    assert 4 == len(lines)  # two top-ups and one order, each on one pair
    printed = capsys.readouterr().out
    assert "wrote 3 rows of 3 entries" in printed
    assert "  1020: debit 170.00, credit 0.00 CHF" in printed
    assert "  2030: debit 55.00, credit 170.00 CHF" in printed
    assert "  3200: debit 0.00, credit 55.00 CHF" in printed


def test_remind_queues_and_sends(
    bridge: Bridge, mail: MailCatcher, capsys: pytest.CaptureFixture[str]
) -> None:
    first = cli_credit.run(command("remind", "nord"), bridge)
    again = cli_credit.run(command("remind", "nord"), bridge)

    assert (0, 0) == (first, again)
    assert ["anna@example.org"] == [m["To"] for m in mail.messages]
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith(("nord", "out"))]
    assert [
        "nord: 1 reminders queued",
        "outbox: 1 sent, 0 failing, 0 failed",
        "nord: 0 reminders queued",
        "outbox: 0 sent, 0 failing, 0 failed",
    ] == lines


def test_unknown_coop_and_bad_arguments(bridge: Bridge) -> None:
    with pytest.raises(ConfigError, match="no coop 'sued'"):
        cli_credit.run(command("remind", "sued"), bridge)
    with pytest.raises(SystemExit):
        command("qrbill", "nord", "anna")
    with pytest.raises(SystemExit):
        command("journal", "nord", "--from", "2026-11-01")
    with pytest.raises(SystemExit):
        command("statement", "nord", "5", "--from", "1.11.2026", "--to", "2026-11-30")


CONFIG = """
database_url = "{db_url}"
log_format = "json"

[[coop]]
slug = "nord"
name = "Foodcoop Nord"
shop_url = "http://127.0.0.1:9"
wp_user = "bridge"
address = ["Foodcoop Nord", "Lagerstrasse 12a", "8400 Winterthur"]

[coop.credit]
iban = "CH44 3199 9123 0008 8901 2"
reference_prefix = "21"
"""


def test_through_the_pot_bridge_command(db_url: str, tmp_path: Path) -> None:
    """The real command: a bill written, an unknown member a clear error."""
    engine = make_engine(db_url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        add_members(session, "nord", *PEOPLE)
    engine.dispose()
    config = tmp_path / "pot-bridge.toml"
    config.write_text(CONFIG.format(db_url=db_url), encoding="utf-8")
    env = {
        **os.environ,
        "POT_BRIDGE_NORD_CONSUMER_KEY": "ck_test",
        "POT_BRIDGE_NORD_CONSUMER_SECRET": "cs_test",
        "POT_BRIDGE_NORD_WP_APP_PASSWORD": "app test",
    }

    def pot_bridge(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pot_bridge.cli", "--config", str(config)]
        return subprocess.run(
            [*command, *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )

    written = pot_bridge("qrbill", "nord", "5")
    unknown = pot_bridge("qrbill", "nord", "77")

    assert 0 == written.returncode, written.stderr
    assert "TopUp Anna Muster (5)" in pdf_text(tmp_path / "qr-bill-nord-5.pdf")
    assert 1 == unknown.returncode
    assert "pot-bridge: coop nord: no member 77 in the store" in unknown.stderr
