"""The command line and the service, run as an admin would: processes and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SandboxShop

CONFIG = """
state_dir = "{state}"
database_url = "{db_url}"
log_format = "json"
outbox_poll_seconds = 1

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "bestellungen@nord.example.org"

[[coop]]
slug = "nord"
name = "Foodcoop Nord"
shop_url = "{shop_url}"
wp_user = "{wp_user}"
poll_minutes = 1
requests_per_second = 0

[[coop.producer]]
name = "Hof Sonnenberg"
email = "hof@producers.example.org"

[[coop.producer]]
name = "Käserei Talgrund"
email = "kaeserei@producers.example.org"
language = "fr"
"""


@pytest.fixture
def config(
    tmp_path: Path, shop: SandboxShop, mail: MailCatcher, db_url: str
) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "pot-bridge.toml"
    path.write_text(
        CONFIG.format(
            state=tmp_path,
            db_url=db_url,
            smtp_port=mail.port,
            shop_url=shop.url,
            wp_user=shop.app_user,
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "POT_BRIDGE_NORD_CONSUMER_KEY": shop.consumer_key,
        "POT_BRIDGE_NORD_CONSUMER_SECRET": shop.consumer_secret,
        "POT_BRIDGE_NORD_WP_APP_PASSWORD": shop.app_password,
    }
    return path, env


def pot_bridge(
    config: tuple[Path, dict[str, str]], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    path, env = config
    return subprocess.run(
        [sys.executable, "-m", "pot_bridge.cli", "--config", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_sync_close_status_by_hand_send_each_mail_once(
    config: tuple[Path, dict[str, str]], mail: MailCatcher, shop: SandboxShop
) -> None:
    synced = pot_bridge(config, "sync", "nord")
    closed = pot_bridge(config, "close-round", "nord")
    again = pot_bridge(config, "close-round", "nord")
    status = pot_bridge(config, "status")

    assert 0 == synced.returncode, synced.stderr
    assert 0 == closed.returncode, closed.stderr
    assert "2 mails queued" in closed.stdout
    assert "outbox: 0 sent" in again.stdout
    assert 2 == len(mail.messages)
    assert "closed" in status.stdout
    assert "producer.no_contact" in status.stdout  # three producers lack an e-mail
    for run in (synced, closed, again, status):
        output = run.stdout + run.stderr
        assert shop.consumer_secret not in output
        assert shop.app_password not in output


def test_wrong_secret_is_a_clear_error_without_the_secret(
    config: tuple[Path, dict[str, str]],
) -> None:
    path, env = config
    wrong = "cs_" + "0" * 40

    result = pot_bridge(
        (path, {**env, "POT_BRIDGE_NORD_CONSUMER_SECRET": wrong}), "sync", "nord"
    )

    assert 1 == result.returncode
    assert "coop nord" in result.stdout + result.stderr
    assert wrong not in result.stdout + result.stderr


def test_broken_config_stops_the_start_naming_file_coop_field(
    config: tuple[Path, dict[str, str]],
) -> None:
    path, _env = config
    path.write_text(
        path.read_text().replace(
            'slug = "nord"', 'slug = "nord"\ntimezone = "Mars/Olymp"'
        )
    )

    result = pot_bridge(config, "run")

    assert 2 == result.returncode
    assert str(path) in result.stderr
    assert "coop 'nord'" in result.stderr
    assert "timezone" in result.stderr


def test_service_sends_mail_and_stops_cleanly_on_sigterm(
    config: tuple[Path, dict[str, str]], mail: MailCatcher
) -> None:
    path, env = config
    service = subprocess.Popen(
        [sys.executable, "-m", "pot_bridge.cli", "--config", str(path), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(mail.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)

    service.send_signal(signal.SIGTERM)
    _, stderr = service.communicate(timeout=30)

    assert 2 == len(mail.messages)
    assert 0 == service.returncode, stderr
    assert '"event": "daemon.stopped"' in stderr


def test_check_config_finds_an_address_no_qr_bill_can_carry(
    config: tuple[Path, dict[str, str]],
) -> None:
    path, _env = config
    credit = (
        '\n[coop.credit]\niban = "CH4431999123000889012"\nreference_prefix = "21"\n'
    )
    text = path.read_text()
    path.write_text(text + credit)

    without = pot_bridge(config, "check-config")
    path.write_text(
        text.replace(
            'slug = "nord"',
            'slug = "nord"\naddress = ["Hohlstrasse 117", "8004 Zürich"]',
        )
        + credit
    )
    fine = pot_bridge(config, "check-config")

    assert 2 == without.returncode
    assert "nord" in without.stderr
    assert "postal code and town" in without.stderr
    assert 0 == fine.returncode, fine.stderr
