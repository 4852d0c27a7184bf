"""`pot-bridge topup …` end to end: a bridge on the sandbox shop, its members
pulled, the coop's QR-IBAN CH6630808001234567890 taking references 4711….

The morning's QR-bill notification (camt054_v08_qrr_topups.xml) pays 50.00 for
Lea (2) and 80.00 for Noah (5), whose wallet shows 53.80 before; three credits
wait for review, among them Leon's (10) 30.00 with a mistyped check digit.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import FAST_CLIENT, ahead

from pot_bridge import cli_topup
from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopCredit
from pot_bridge.credit import marker
from pot_bridge.credit import topup as credit_topup
from pot_bridge.credit.topup_match import ReadCredit
from pot_bridge.demo import sandbox_settings
from pot_bridge.errors import PotBridgeError
from pot_bridge.ledger import balance
from pot_bridge.sandbox import SandboxShop

from .test_topup import QR_IBAN, QRR_FILE, SAMPLES, SCOR_FILE

NOAH, LEA, LEON = 5, 2, 10
KEY = f"bank:{QR_IBAN}:"


@pytest.fixture
def bridge(shop: SandboxShop, db_url: str, tmp_path: Path) -> Iterator[Bridge]:
    settings = sandbox_settings(tmp_path, shop, 2525)
    credit = CoopCredit(iban=QR_IBAN, reference_prefix="4711", bridge_user_id=14)
    coop = settings.coops[0].model_copy(update={"credit": credit})
    settings = settings.model_copy(update={"database_url": db_url, "coops": [coop]})
    made = Bridge(settings, clock=ahead, client_options=FAST_CLIENT)
    made.sync("sandbox")  # the members the references name
    yield made
    made.dispose()


def topup(
    bridge: Bridge, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    """Run `pot-bridge topup ARGV` as the command line does; (exit code, output)."""
    parser = argparse.ArgumentParser(prog="pot-bridge")
    cli_topup.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["topup", *argv])
    capsys.readouterr()
    try:
        code = cli_topup.run(args, bridge)
    except PotBridgeError as exc:
        print(f"pot-bridge: {exc}")
        code = 1

    return code, capsys.readouterr().out


def ours(shop: SandboxShop) -> list[tuple[int, Decimal, str]]:
    """(member, amount, type) of the wallet rows the bridge marked."""
    return [
        (r.user_id, r.amount, r.type)
        for r in shop.state.wallet.rows
        if (marker.key_in(r.details) or "").startswith(KEY)
    ]


def waiting_id(out: str, debtor: str) -> str:
    line = next(line for line in out.splitlines() if debtor in line)
    return line.split()[0].lstrip("#")


def test_import_books_and_writes_the_wallet_once(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    with bridge.sessions() as session:
        before = balance(session, "sandbox", "member:5")  # his orders, booked by sync

    code, out = topup(bridge, capsys, "import", "sandbox", str(SAMPLES / QRR_FILE))

    assert 0 == code
    assert f"camt.054 of {QR_IBAN}, 5 credit(s): 2 booked, 3 for review" in out
    assert "wallet rows: 2 written, 0 found written before, 0 failed, 0 waiting" in out
    assert [
        (LEA, Decimal("50.00"), "deposit"),
        (NOAH, Decimal("80.00"), "deposit"),
    ] == ours(shop)
    assert Decimal("133.80") == shop.state.wallet.balance(NOAH)
    with bridge.sessions() as session:
        assert before + Decimal("80.00") == balance(session, "sandbox", "member:5")

    code, again = topup(bridge, capsys, "import", "sandbox", str(SAMPLES / QRR_FILE))

    assert 0 == code
    assert "0 booked, 0 for review, 5 read before" in again
    assert "wallet:" not in again
    assert 2 == len(ours(shop))


def test_review_assign_and_ignore(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    topup(bridge, capsys, "import", "sandbox", str(SAMPLES / QRR_FILE))

    code, listed = topup(bridge, capsys, "review", "sandbox")

    assert 0 == code
    assert "sandbox: 3 bank credit(s) wait for review" in listed
    assert "07.12.2026  30.00 CHF  Leon Fischer" in listed
    assert "reference: 471100000000000000000000102" in listed
    assert "has a wrong check digit" in listed
    leon, other = waiting_id(listed, "Leon Fischer"), waiting_id(listed, "Jonas Keller")

    code, out = topup(bridge, capsys, "assign", "sandbox", leon, "10", "--note", "typo")

    assert 0 == code
    assert f"bank credit {leon}: 30.00 CHF booked to member 10" in out
    assert (LEON, Decimal("30.00"), "deposit") == ours(shop)[-1]

    code, out = topup(
        bridge, capsys, "ignore", "sandbox", other, "--note", "for Foodcoop Süd"
    )

    assert 0 == code
    assert f"bank credit {other}: ignored (for Foodcoop Süd)" in out
    _, listed = topup(bridge, capsys, "review", "sandbox")
    assert "sandbox: 1 bank credit(s) wait for review" in listed
    assert "Max Beispiel" in listed

    code, out = topup(bridge, capsys, "assign", "sandbox", leon, "10")

    assert 1 == code
    assert f"bank credit {leon} is booked" in out
    assert 3 == len(ours(shop))


def test_ignore_needs_a_note(
    bridge: Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        topup(bridge, capsys, "ignore", "sandbox", "1")


def test_a_file_of_another_account_is_refused(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = topup(bridge, capsys, "import", "sandbox", str(SAMPLES / SCOR_FILE))

    assert 1 == code
    assert "not read: bank file" in out
    assert "about account CH4700700110000654321" in out
    assert [] == ours(shop)


def test_a_wallet_that_stores_nothing_then_a_retry(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh plugin install answers id 0 until wp-admin was opened once."""
    shop.state.wallet.schema_upgraded = False

    code, out = topup(bridge, capsys, "import", "sandbox", str(SAMPLES / QRR_FILE))

    assert 1 == code
    assert "wallet rows: 0 written, 0 found written before, 2 failed, 0 waiting" in out
    assert "failed: coop sandbox: wallet row for member 2 (50.00 CHF" in out
    assert [] == ours(shop)

    shop.state.wallet.schema_upgraded = True
    code, out = topup(bridge, capsys, "retry", "sandbox")

    assert 0 == code
    assert "2 failed wallet row(s) queued again" in out
    assert "wallet rows: 2 written" in out
    assert 2 == len(ours(shop))


def test_an_odd_file_is_read_around_what_cannot_be_kept(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sub-Rappen and a 20-digit amount, a member number beyond 2^63, and
    Jonas's (3) 5.00 (camt054_v08_odd_topups.xml)."""
    odd = str(SAMPLES / "camt054_v08_odd_topups.xml")

    code, out = topup(bridge, capsys, "import", "sandbox", odd)

    assert 1 == code
    assert "2 credit(s): 1 booked, 1 for review, 0 read before" in out
    assert "amount 10.005 CHF is not a whole number of Rappen (cents)" in out
    assert "amount 999999999999999999.99 CHF is more than the bridge books" in out
    assert "names member 9999999999999999999999, more than any member" in out
    assert "wallet rows: 1 written" in out
    assert [(3, Decimal("5.00"), "deposit")] == ours(shop)


def test_a_crash_on_one_file_does_not_stop_the_next(
    bridge: Bridge,
    shop: SandboxShop,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    odd = str(SAMPLES / "camt054_v08_odd_topups.xml")
    real = credit_topup.keep_credit

    def buggy(*args: object) -> credit_topup.Outcome:
        fields = args[3]
        assert isinstance(fields, ReadCredit)
        if fields.source == odd:
            raise RuntimeError("planted bug")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(credit_topup, "keep_credit", buggy)

    code, out = topup(bridge, capsys, "import", "sandbox", odd, str(SAMPLES / QRR_FILE))

    assert 1 == code
    assert f"{odd}: the bridge failed on it (RuntimeError)" in out
    assert "5 credit(s): 2 booked, 3 for review" in out
    assert [(LEA, Decimal("50.00")), (NOAH, Decimal("80.00"))] == [
        (member, amount) for member, amount, _ in ours(shop)
    ]


def test_a_known_bank_reference_with_another_credit_is_reported(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    """camt054_v08_reused_refs.xml reuses the morning's references."""
    topup(bridge, capsys, "import", "sandbox", str(SAMPLES / QRR_FILE))

    code, out = topup(
        bridge,
        capsys,
        "import",
        "sandbox",
        str(SAMPLES / "camt054_v08_reused_refs.xml"),
    )

    assert 1 == code
    assert (
        "4 credit(s): 1 booked, 0 for review, 1 read before, 2 in conflict with a "
        "credit read before"
    ) in out
    assert (
        "  conflict  bank reference HZ-20261207-Q-01-001 of account "
        f"{QR_IBAN} was read before as 50.00 CHF for member 2"
    ) in out
    assert [
        (LEA, Decimal("50.00"), "deposit"),
        (NOAH, Decimal("80.00"), "deposit"),
        (3, Decimal("40.00"), "deposit"),
    ] == ours(shop)


def test_a_bank_reference_with_spaces_is_assigned_by_its_number(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bank writes "HZ 20261209 Q 02"; Elena's (6) reference named 99."""
    spaced = str(SAMPLES / "camt054_v08_spaced_refs.xml")
    topup(bridge, capsys, "import", "sandbox", spaced)
    _, listed = topup(bridge, capsys, "review", "sandbox")
    elena = waiting_id(listed, "Elena Rossi")

    code, out = topup(bridge, capsys, "assign", "sandbox", elena, "6")

    assert 0 == code
    assert (
        f"bank credit {elena}: 15.00 CHF booked to member 6 "
        f"({KEY}HZ%2020261209%20Q%2002#1)"
    ) in out
    assert [(4, Decimal("35.00"), "deposit"), (6, Decimal("15.00"), "deposit")] == (
        ours(shop)
    )


def test_a_member_number_beyond_the_store_is_refused(
    bridge: Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    topup(bridge, capsys, "import", "sandbox", str(SAMPLES / QRR_FILE))
    _, listed = topup(bridge, capsys, "review", "sandbox")
    leon = waiting_id(listed, "Leon Fischer")

    code, out = topup(bridge, capsys, "assign", "sandbox", leon, str(2**64))

    assert 1 == code
    assert "18446744073709551616 is not a member number" in out
