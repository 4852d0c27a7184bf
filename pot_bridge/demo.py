"""The embedded default: the sandbox shop, a local mail catcher and SQLite.

`pot-bridge demo` runs the main job once on a seeded coop whose last round has
just closed, with this morning's bank file of two top-ups in its bank folder,
then its nightly credit run, and shows the e-mails as they arrive (also written
as .eml files) and each member's credit. With `--keep-running`, or `pot-bridge run` without a configuration,
it stays up as the daemon would.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

from pydantic import SecretStr

from pot_bridge.bank.reference import make_qrr
from pot_bridge.bridge import Bridge
from pot_bridge.config import (
    CoopConfig,
    CoopCredit,
    Language,
    ProducerConfig,
    Settings,
    SmtpConfig,
)
from pot_bridge.credit.qrbill import qrbill_pdf
from pot_bridge.credit.reconcile_gather import member_balances
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SandboxShop, seed_coop
from pot_bridge.sandbox.bank import Payment, camt054
from pot_bridge.sandbox.state import BRIDGE_USER_ID

MARKER = ".pot-bridge-demo"
# a QR-IBAN of the sandbox coop's bank (QR references starting with 21)
DEMO_IBAN = "CH4431999123000889012"
DEMO_PREFIX = "21"
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
        credit=CoopCredit(
            bridge_user_id=BRIDGE_USER_ID,
            iban=DEMO_IBAN,
            reference_prefix=DEMO_PREFIX,
            bank_folder=state_dir / "bank",
            low_balance=Decimal("25.00"),
        ),
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
            _bank_file(settings.coops[0], now)
            result = bridge.poll("sandbox")
            night = bridge.nightly("sandbox")
            bridge.drain()
            credit = _credit_text(bridge, shop, state_dir)
            from pot_bridge.cli import status_text

            status = status_text(bridge)
        finally:
            bridge.dispose()

    for message in catcher.messages:
        print(render(message))
    print(status)
    print(credit)
    print(
        f"\n{len(catcher.messages)} e-mails (to producers, the distribution list "
        f"and the credit report to the coop, reminders to members), also on disk "
        f"in {mail_dir}/"
    )
    return 1 if result.error or night is None or not catcher.messages else 0


def _bank_file(coop: CoopConfig, now: datetime) -> None:
    """This morning's camt.054 in the coop's bank folder: two members topped up
    with their QR-bills."""
    assert coop.credit.bank_folder is not None
    payments = [
        Payment("Lea Müller", Decimal("50.00"), make_qrr(DEMO_PREFIX, 2), "DEMO-1"),
        Payment("Nina Baumann", Decimal("40.00"), make_qrr(DEMO_PREFIX, 9), "DEMO-2"),
    ]
    coop.credit.bank_folder.mkdir(parents=True, exist_ok=True)
    data = camt054(DEMO_IBAN, now.date(), payments)
    (coop.credit.bank_folder / "camt054-today.xml").write_bytes(data)


def _credit_text(bridge: Bridge, shop: SandboxShop, state_dir: Path) -> str:
    """Each member's credit in the ledger beside the shop's wallet, and a
    QR-bill on disk."""
    coop = bridge.settings.coops[0]
    with bridge.sessions() as session:
        kept = member_balances(session, coop.slug)
    lines = ["", "Members' credit: the ledger beside the shop's wallet"]
    for number, amount in sorted(kept.items()):
        wallet = shop.state.wallet.balance(number)
        mark = "" if wallet == amount else "   <- see the credit report"
        lines.append(f"  member {number:>3}  {amount:>8} CHF   wallet {wallet}{mark}")
    bill = state_dir / "qr-bill-sandbox-2.pdf"
    bill.write_bytes(qrbill_pdf(coop, 2, "Lea Müller"))
    lines.append(f"A member's QR-bill to top up: {bill}")
    return "\n".join(lines)


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
