"""One bad bank file must not stop a coop's top-ups: what cannot be read is
reported, and the rest of the file, the other files and the wallet go on.

camt054_v08_odd_topups.xml, coop "holz" (QR-IBAN, references 4711…, members
2 to 11), booked 08.12.2026:

    HZ-20261208-Q-01-001   10.005 CHF                  member 3   sub-Rappen
    HZ-20261208-Q-02-001   999999999999999999.99 CHF   member 3   20 digits
    HZ-20261208-Q-03-001   12.00 CHF   4711 + 22 nines + check digit
    HZ-20261208-Q-04-001   5.00 CHF                    member 3   good
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import FAST_CLIENT, ahead
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from pot_bridge.bank.reference import make_member_scor, make_qrr
from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopCredit
from pot_bridge.credit import marker, topup
from pot_bridge.credit.topup_match import ReadCredit
from pot_bridge.demo import sandbox_settings
from pot_bridge.ledger import balances
from pot_bridge.problems import open_problems
from pot_bridge.sandbox import SandboxShop
from pot_bridge.store import session_factory

from .test_topup import (
    IBAN,
    NOW,
    QR_IBAN,
    QRR_FILE,
    SAMPLES,
    SCOR_COOP,
    SCOR_FILE,
    add_members,
    coop_config,
    credits,
    reasons,
    sample,
)

ODD_FILE = "camt054_v08_odd_topups.xml"
BIG_REF = "471199999999999999999999995"  # prefix 4711, member 99…9 (22 digits)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    made = session_factory(engine)
    add_members(made)
    return made


def opened(session: Session, kind: str) -> dict[str, str]:
    """{subject: message} of the coop's open problems of one kind."""
    return {
        p.subject: p.message for p in open_problems(session, "holz") if p.kind == kind
    }


class TestOddCredits:
    def test_what_the_store_cannot_hold_is_reported_and_the_rest_booked(
        self,
        sessions: sessionmaker[Session],
    ) -> None:
        imported = topup.import_file(
            sessions, coop_config(), sample(ODD_FILE), ODD_FILE, NOW
        )

        assert [
            (
                f"{ODD_FILE}, Ntfctn 1, Ntry 1, TxDtls 1 (line 28): amount 10.005 "
                "CHF is not a whole number of Rappen (cents); not read"
            ),
            (
                f"{ODD_FILE}, Ntfctn 1, Ntry 2, TxDtls 1 (line 55): amount "
                "999999999999999999.99 CHF is more than the bridge books "
                "(999999999.99); not read"
            ),
        ] == imported.problems
        with sessions() as session:
            assert [
                ("HZ-20261208-Q-03-001", Decimal("12.00"), "CHF", "review", None, ""),
                ("HZ-20261208-Q-04-001", Decimal("5.00"), "CHF", "booked", 3, "qrr"),
            ] == credits(session)
            assert {"bank": Decimal("-5.00"), "member:3": Decimal("5.00")} == (
                balances(session, "holz")
            )
            (message,) = opened(session, "topup.file_problems").values()
        assert f"2 entries of bank file {ODD_FILE} were not read" in message

    def test_a_member_number_beyond_any_user_id_waits_for_review(
        self,
        sessions: sessionmaker[Session],
    ) -> None:
        topup.import_file(sessions, coop_config(), sample(ODD_FILE), ODD_FILE, NOW)

        with sessions() as session:
            assert (
                f"reference {BIG_REF} names member 9999999999999999999999, more "
                "than any member number (at most 9007199254740992); the message "
                "names no member either"
            ) == reasons(session)["HZ-20261208-Q-03-001"]

    @pytest.mark.parametrize(
        ("ref", "reason"),
        [
            pytest.param(
                make_qrr("4711", 2**53),
                "member 9007199254740992 is not a customer of the shop",
                id="qrr-largest-user-id",
            ),
            pytest.param(
                make_qrr("4711", 2**53 + 1),
                "names member 9007199254740993, more than any member number",
                id="qrr-one-more",
            ),
            pytest.param(
                make_qrr("4711", 2**63),
                "names member 9223372036854775808, more than any member number",
                id="qrr-beyond-64-bits",
            ),
        ],
    )
    def test_largest_member_numbers(
        self,
        sessions: sessionmaker[Session],
        ref: str,
        reason: str,
    ) -> None:
        data = sample(ODD_FILE).replace(BIG_REF.encode(), ref.encode())

        topup.import_file(sessions, coop_config(), data, ODD_FILE, NOW)

        with sessions() as session:
            assert reason in reasons(session)["HZ-20261208-Q-03-001"]

    def test_a_creditor_reference_beyond_any_user_id_waits_for_review(
        self,
        sessions: sessionmaker[Session],
    ) -> None:
        ref = make_member_scor("HOLZ", 10**17 - 1)
        data = (
            sample(ODD_FILE)
            .replace(QR_IBAN.encode(), IBAN.encode())
            .replace(BIG_REF.encode(), ref.encode())
        )

        topup.import_file(sessions, SCOR_COOP, data, ODD_FILE, NOW)

        with sessions() as session:
            assert (
                f"reference {ref} names member 99999999999999999, more than any "
                "member number (at most 9007199254740992)"
            ) in reasons(session)["HZ-20261208-Q-03-001"]

    def test_trailing_zeros_are_whole_rappen(
        self,
        sessions: sessionmaker[Session],
    ) -> None:
        data = sample(ODD_FILE).replace(b">10.005<", b">10.50000<")

        imported = topup.import_file(sessions, coop_config(), data, ODD_FILE, NOW)

        assert Decimal("10.50") == imported.outcomes[0].amount
        with sessions() as session:
            assert Decimal("15.50") == balances(session, "holz")["member:3"]


class TestWatchedFolder:
    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        inbox = tmp_path / "bank"
        inbox.mkdir()
        return inbox

    def test_an_odd_file_does_not_hold_up_the_next(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
    ) -> None:
        shutil.copy(SAMPLES / ODD_FILE, folder / "a.xml")
        shutil.copy(SAMPLES / QRR_FILE, folder / "b.xml")

        results = topup.watch_folder(sessions, coop_config(folder=folder), NOW)

        assert [("a.xml", 1, 2), ("b.xml", 2, 0)] == [
            (r.source, r.count(topup.BOOKED), len(r.problems)) for r in results
        ]
        assert ["a.xml", "b.xml"] == sorted(p.name for p in (folder / "done").iterdir())
        with sessions() as session:
            assert {
                "bank": Decimal("-135.00"),
                "member:2": Decimal("50.00"),
                "member:3": Decimal("5.00"),
                "member:5": Decimal("80.00"),
            } == balances(session, "holz")

    def test_a_file_the_bridge_fails_on_goes_to_failed_and_the_rest_is_read(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A bug met in b.xml (an unknown one, here a planted error)."""
        real = topup.keep_credit

        def buggy(*args: object) -> topup.Outcome:
            fields = args[3]
            assert isinstance(fields, ReadCredit)
            if fields.source == "b.xml":
                raise RuntimeError("planted bug\nsecond line")
            return real(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(topup, "keep_credit", buggy)
        shutil.copy(SAMPLES / QRR_FILE, folder / "b.xml")
        shutil.copy(SAMPLES / ODD_FILE, folder / "c.xml")

        with capture_logs() as logs:
            results = topup.watch_folder(sessions, coop_config(folder=folder), NOW)

        assert ["c.xml"] == [r.source for r in results]
        assert ["b.xml"] == [p.name for p in (folder / "failed").iterdir()]
        assert ["c.xml"] == [p.name for p in (folder / "done").iterdir()]
        with sessions() as session:
            failed = opened(session, "topup.file_failed")
        assert {
            "file failed/b.xml": (
                "coop holz: bank file b.xml made the bridge fail (RuntimeError: "
                "planted bug; the log has the details) and may be read in part; "
                f"once fixed, put it back to read the rest; it is in "
                f"{folder / 'failed' / 'b.xml'}"
            )
        } == failed
        crashed = [e for e in logs if e["event"] == "topup.file_crashed"]
        assert [("holz", "b.xml", True)] == [
            (e["coop"], e["file"], e["exc_info"]) for e in crashed
        ]

    def test_a_store_that_is_down_leaves_the_file_for_the_next_run(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        real = topup.import_file

        def locked(*args: object) -> topup.Imported:
            if args[3] == "a.xml":
                raise OperationalError("INSERT …", {}, Exception("database is locked"))
            return real(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(topup, "import_file", locked)
        shutil.copy(SAMPLES / QRR_FILE, folder / "a.xml")
        shutil.copy(SAMPLES / ODD_FILE, folder / "b.xml")

        results = topup.watch_folder(sessions, coop_config(folder=folder), NOW)

        assert ["b.xml"] == [r.source for r in results]
        assert ["a.xml", "done"] == sorted(p.name for p in folder.iterdir())
        with sessions() as session:
            assert {} == opened(session, "topup.file_failed")

    def test_a_failed_file_stays_reported_after_a_good_one_of_its_name(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
    ) -> None:
        """Banks reuse names: camt054.xml of another account, then a good one."""
        coop = coop_config(folder=folder)
        for name in (SCOR_FILE, QRR_FILE):
            shutil.copy(SAMPLES / name, folder / "camt054.xml")
            topup.watch_folder(sessions, coop, NOW)

        with sessions() as session:
            failed = opened(session, "topup.file_failed")
        assert ["file failed/camt054.xml"] == list(failed)
        assert (
            "is about account CH4700700110000654321"
            in (failed["file failed/camt054.xml"])
        )
        assert ["camt054.xml"] == [p.name for p in (folder / "done").iterdir()]

    def test_each_failed_file_of_one_name_has_its_own_problem(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
    ) -> None:
        coop = coop_config(folder=folder)
        for _ in range(2):
            shutil.copy(SAMPLES / SCOR_FILE, folder / "camt054.xml")
            topup.watch_folder(sessions, coop, NOW)

        with sessions() as session:
            failed = opened(session, "topup.file_failed")
        assert ["file failed/camt054.1.xml", "file failed/camt054.xml"] == sorted(
            failed
        )
        assert (
            f"it is in {folder / 'failed' / 'camt054.1.xml'}"
            in (failed["file failed/camt054.1.xml"])
        )

    def test_each_file_of_one_name_keeps_its_own_problems(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
    ) -> None:
        """Two days' statements named alike, each with an unreadable amount."""
        coop = coop_config("CH0300700110000123456", "HOLZ", folder=folder)
        first = sample("camt053_malformed_amount.xml")
        for data in (first, first.replace(b">12,50<", b">7.5.0<")):
            (folder / "camt053.xml").write_bytes(data)
            topup.watch_folder(sessions, coop, NOW)

        with sessions() as session:
            found = "\n".join(opened(session, "topup.file_problems").values())
        assert 2 == len(found.splitlines())
        assert "amount '12,50' is not a number" in found
        assert "amount '7.5.0' is not a number" in found


@pytest.fixture
def bridge(shop: SandboxShop, db_url: str, tmp_path: Path) -> Iterator[Bridge]:
    """The sandbox coop reading top-ups from tmp_path/bank."""
    settings = sandbox_settings(tmp_path, shop, 2525)
    credit = CoopCredit(
        iban=QR_IBAN,
        reference_prefix="4711",
        bridge_user_id=14,
        bank_folder=tmp_path / "bank",
    )
    coop = settings.coops[0].model_copy(update={"credit": credit})
    settings = settings.model_copy(update={"database_url": db_url, "coops": [coop]})
    (tmp_path / "bank").mkdir()
    made = Bridge(settings, clock=ahead, client_options=FAST_CLIENT)
    yield made
    made.dispose()


def test_the_poll_goes_on_to_write_the_wallet(
    bridge: Bridge, shop: SandboxShop, tmp_path: Path
) -> None:
    """The odd file first, the morning's good one after it: both are read and
    the shop's wallet gets every booked top-up in the same poll."""
    shutil.copy(SAMPLES / ODD_FILE, tmp_path / "bank" / "a.xml")
    shutil.copy(SAMPLES / QRR_FILE, tmp_path / "bank" / "b.xml")

    result = bridge.poll("sandbox")

    assert result.error is None
    ours = [
        (r.user_id, r.amount)
        for r in shop.state.wallet.rows
        if (marker.key_in(r.details) or "").startswith(f"bank:{QR_IBAN}:")
    ]
    assert [(3, Decimal("5.00")), (2, Decimal("50.00")), (5, Decimal("80.00"))] == ours
    assert ["a.xml", "b.xml"] == sorted(
        p.name for p in (tmp_path / "bank" / "done").iterdir()
    )
