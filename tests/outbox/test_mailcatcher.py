"""The mail catcher: real SMTP on loopback, files for the demo, a clean stop."""

from __future__ import annotations

import smtplib
import socket
import time
from pathlib import Path

from pot_bridge.mailcatcher import MailCatcher

RAW = b"From: a@nord.invalid\r\nSubject: Test\r\n\r\nHallo\r\n"


def send(port: int, recipient: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, "test.invalid", timeout=5) as client:
        client.sendmail("a@nord.invalid", [recipient], RAW)


def test_writes_each_message_as_eml(tmp_path: Path) -> None:
    """The demo finds every e-mail as a numbered file named after its recipient."""
    with MailCatcher(tmp_path / "mail") as catcher:
        send(catcher.port, "hof@sonnenberg.invalid")
        send(catcher.port, "Käse <k@alp.invalid>")

    names = sorted(p.name for p in (tmp_path / "mail").iterdir())

    assert ["001-hof@sonnenberg.invalid.eml", "002-k@alp.invalid.eml"] == names
    assert RAW == (tmp_path / "mail" / names[0]).read_bytes()
    assert ["Test", "Test"] == [m["Subject"] for m in catcher.messages]


def test_stop_is_quick_and_frees_the_port() -> None:
    """After stop, even with a client still connected, the port can be bound."""
    catcher = MailCatcher().start()
    client = smtplib.SMTP("127.0.0.1", catcher.port, "test.invalid", timeout=5)
    began = time.monotonic()

    catcher.stop()
    took = time.monotonic() - began
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", catcher.port))
    client.close()

    assert took < 1


def test_login_required_when_credentials_are_set() -> None:
    """Without AUTH the catcher refuses, like a submission server would."""
    with MailCatcher(credentials=("bridge", "pw-1234")) as catcher:
        client = smtplib.SMTP("127.0.0.1", catcher.port, "test.invalid", timeout=5)
        code, _ = client.ehlo()
        mail_code, _ = client.mail("a@nord.invalid")
        rcpt_code, _ = client.rcpt("hof@sonnenberg.invalid")
        client.close()

    assert (250, 250, 530) == (code, mail_code, rcpt_code)
