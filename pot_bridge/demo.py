"""The embedded default: the sandbox shop, a local mail catcher and SQLite.

`pot-bridge demo` runs the main job once on a seeded coop whose last round has
just closed, and shows the producers' e-mails as they arrive (also written as
.eml files). With `--keep-running`, or `pot-bridge run` without a configuration,
it stays up as the daemon would.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from pydantic import SecretStr

from pot_bridge.bridge import Bridge
from pot_bridge.config import (
    CoopConfig,
    Language,
    ProducerConfig,
    Settings,
    SmtpConfig,
)
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SandboxShop, seed_coop

MARKER = ".pot-bridge-demo"
PRODUCERS: tuple[tuple[str, Language], ...] = (
    ("Hof Sonnenberg", "de"),
    ("Käserei Talgrund", "de"),
    ("Bäckerei Kornblume", "fr"),
    ("Mühle Lindenau", "en"),
    ("Gemüsekooperative Lieferdienst", "de"),
)

NOTES = {
    "Hof Sonnenberg": "Bitte in Harassen liefern, Rampe hinten.",
    "Bäckerei Kornblume": "Livraison avant 10h, merci.",
}


def sandbox_settings(state_dir: Path, shop: SandboxShop, smtp_port: int) -> Settings:
    """Settings for the sandbox coop, as a coop admin would write them."""
    coop = CoopConfig(
        slug="sandbox",
        name="Foodcoop Sandbox",
        shop_url=shop.url,
        timezone="Europe/Zurich",
        admin_email="admin@foodcoop-sandbox.example.org",
        address=["Foodcoop Sandbox", "Hohlstrasse 117", "8004 Zürich"],
        pickup_place="Depot Hohlstrasse",
        rounds="plugin",
        wp_user=shop.app_user,
        history_since=datetime.now(UTC).date().replace(month=1, day=1),
        poll_minutes=1,
        requests_per_second=0,
        producers=[
            ProducerConfig(
                name=name,
                email=_address(name),
                language=language,
                note=NOTES.get(name, ""),
                packs_per_member=name == "Hof Sonnenberg",
            )
            for name, language in PRODUCERS
        ],
        consumer_key=SecretStr(shop.consumer_key),
        consumer_secret=SecretStr(shop.consumer_secret),
        wp_app_password=SecretStr(shop.app_password),
    )
    return Settings(
        state_dir=state_dir,
        smtp=SmtpConfig(
            host="127.0.0.1",
            port=smtp_port,
            security="none",
            sender="bestellungen@foodcoop-sandbox.example.org",
        ),
        coops=[coop],
        outbox_poll_seconds=5,
    )


def _address(name: str) -> str:
    local = name.lower().replace(" ", ".")
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        local = local.replace(umlaut, plain)
    return f"{local}@producers.example.org"


def run_demo(state_dir: Path, *, keep_running: bool = False) -> int:
    """Run the job once (or for good) on a fresh sandbox; print the mails."""
    marker = state_dir / MARKER
    if state_dir.exists() and any(state_dir.iterdir()):
        if not marker.exists():
            print(
                f"pot-bridge: {state_dir} is not empty and was not made by the "
                "demo; give an empty or new --state-dir",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(state_dir)
    mail_dir = state_dir / "mail"
    mail_dir.mkdir(parents=True)
    marker.write_text("made by pot-bridge demo; removed at its next run\n")

    now = datetime.now(UTC)
    shop = SandboxShop(
        seed_coop(now),
        consumer_key="ck_" + secrets.token_hex(20),
        consumer_secret="cs_" + secrets.token_hex(20),
        app_user="bridge",
        app_password=" ".join(secrets.token_hex(2) for _ in range(6)),
    )
    with shop, MailCatcher(directory=mail_dir) as catcher:
        settings = sandbox_settings(state_dir, shop, catcher.port)
        print(f"Sandbox shop: {shop.url}   mail catcher: 127.0.0.1:{catcher.port}")
        bridge = Bridge(settings)
        if keep_running:
            from pot_bridge.daemon import Daemon

            Daemon(bridge).run_until_signal()
            return 0
        try:
            result = bridge.poll("sandbox")
            bridge.drain()
            from pot_bridge.cli import status_text

            status = status_text(bridge)
        finally:
            bridge.dispose()

    for message in catcher.messages:
        print(render(message))
    print(status)
    print(
        f"\n{len(catcher.messages)} e-mails (to producers, and the distribution "
        f"list to the coop), also on disk in {mail_dir}/"
    )
    return 1 if result.error or not catcher.messages else 0


def render(message: EmailMessage) -> str:
    """A mail as a terminal shows it: headers, text, attachment names."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    names = [part.get_filename() for part in message.iter_attachments()]
    rule = "─" * 78
    return (
        f"{rule}\nTo: {message['To']}\nSubject: {message['Subject']}\n"
        f"Attachments: {', '.join(n for n in names if n)}\n\n{text}"
    )
