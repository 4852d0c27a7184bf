"""Bank files in, members' top-ups booked once: camt.053/054 to ledger entries.

The coop "holz" has members 2 to 11 in its store. Its QR-IBAN account takes QR
references beginning with 4711; its normal IBAN takes RF references beginning
with HOLZ. The samples (tests/bank/samples/*_topups.xml) are one morning's
QR-bill notification (camt.054) and one day's statement (camt.053).
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.bank.camt import CamtError
from pot_bridge.config import CoopConfig, CoopCredit
from pot_bridge.credit import marker, review, topup, topup_book
from pot_bridge.ledger import balances, check
from pot_bridge.problems import open_problems
from pot_bridge.store import session_factory
from pot_bridge.store.schema import BankCredit, JournalEntry, Member, WalletWrite

SAMPLES = Path(__file__).parents[1] / "bank" / "samples"
QRR_FILE = "camt054_v08_qrr_topups.xml"
SCOR_FILE = "camt053_v08_scor_topups.xml"
QR_IBAN = "CH6630808001234567890"
IBAN = "CH4700700110000654321"
NOW = datetime(2026, 12, 9, 7, 0, tzinfo=UTC)
MEMBERS = range(2, 12)


class Killed(BaseException):
    """The bridge's process dies here (nothing after it runs or commits)."""


def coop_config(
    iban: str = QR_IBAN,
    prefix: str = "4711",
    *,
    mode: str = "plugin",
    folder: Path | None = None,
    slug: str = "holz",
) -> CoopConfig:
    return CoopConfig(
        slug=slug,
        name="Foodcoop Holzplatz",
        shop_url="http://127.0.0.1:9",
        wp_user="bridge",
        credit=CoopCredit(
            mode=mode,  # type: ignore[arg-type]
            iban=iban,
            reference_prefix=prefix,
            bridge_user_id=14,
            bank_folder=folder,
        ),
    )


QRR_COOP = coop_config()
SCOR_COOP = coop_config(IBAN, "HOLZ")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def add_members(sessions: sessionmaker[Session], coop: str = "holz") -> None:
    with sessions.begin() as session:
        for number in MEMBERS:
            session.add(Member(coop=coop, customer_id=number, synced_at=NOW))


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    made = session_factory(engine)
    add_members(made)
    return made


def journal(session: Session, coop: str = "holz") -> str:
    """The coop's ledger as the bookkeeper reads it, in booking order."""
    lines = []
    for entry in session.scalars(
        select(JournalEntry).where(JournalEntry.coop == coop).order_by(JournalEntry.id)
    ):
        lines.append(f"{entry.effective} {entry.kind} {entry.key}")
        lines.append(f'  "{entry.text}"')
        lines += [f"  {p.account.code:<10}{p.amount:>8}" for p in entry.postings]

    return "\n".join(lines)


def wallet_writes(session: Session, coop: str = "holz") -> list[tuple[object, ...]]:
    """(member, amount, type, status, details) of each planned wallet row."""
    rows = session.scalars(
        select(WalletWrite).where(WalletWrite.coop == coop).order_by(WalletWrite.id)
    )
    return [(w.member, w.amount, w.type, w.status, w.details) for w in rows]


def credits(session: Session, coop: str = "holz") -> list[tuple[object, ...]]:
    """(bank_ref, amount, currency, status, member, matched_by) in file order."""
    rows = session.scalars(
        select(BankCredit).where(BankCredit.coop == coop).order_by(BankCredit.id)
    )
    return [
        (c.bank_ref, c.amount, c.currency, c.status, c.member, c.matched_by)
        for c in rows
    ]


def reasons(session: Session, coop: str = "holz") -> dict[str, str]:
    rows = session.scalars(
        select(BankCredit).where(
            BankCredit.coop == coop, BankCredit.status == topup.REVIEW
        )
    )
    return {c.bank_ref: c.reason for c in rows}


class TestQrReferences:
    def test_matched_credits_are_booked_at_once(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Members 2 and 5 paid with their QR references; each is one entry."""
        imported = topup.import_file(
            sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW
        )

        with sessions() as session:
            assert """\
2026-12-07 top_up bank:CH6630808001234567890:HZ-20261207-Q-01-001
  "Einzahlung 07.12.2026 Ref. HZ-20261207-Q-01-001"
  bank        -50.00
  member:2     50.00
2026-12-07 top_up bank:CH6630808001234567890:HZ-20261207-Q-01-002
  "Einzahlung 07.12.2026 Ref. HZ-20261207-Q-01-002"
  bank        -80.00
  member:5     80.00""" == journal(session)
            assert {
                "bank": Decimal("-130.00"),
                "member:2": Decimal("50.00"),
                "member:5": Decimal("80.00"),
            } == balances(session, "holz")
            assert [] == check(session, "holz")
        assert (2, 3, 0) == (
            imported.count(topup.BOOKED),
            imported.count(topup.REVIEW),
            imported.count("known"),
        )

    def test_each_booking_plans_one_marked_deposit(
        self, sessions: sessionmaker[Session]
    ) -> None:
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)

        with sessions() as session:
            assert [
                (
                    2,
                    Decimal("50.00"),
                    "deposit",
                    "pending",
                    (
                        "Einzahlung 07.12.2026 Ref. HZ-20261207-Q-01-001 [pot-bridge "
                        "bank:CH6630808001234567890:HZ-20261207-Q-01-001]"
                    ),
                ),
                (
                    5,
                    Decimal("80.00"),
                    "deposit",
                    "pending",
                    (
                        "Einzahlung 07.12.2026 Ref. HZ-20261207-Q-01-002 [pot-bridge "
                        "bank:CH6630808001234567890:HZ-20261207-Q-01-002]"
                    ),
                ),
            ] == wallet_writes(session)

    def test_doubtful_references_wait_for_review(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A mistyped check digit, another coop's prefix, an unknown member."""
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)

        with sessions() as session:
            assert {
                "HZ-20261207-Q-01-003": (
                    "QR reference 471100000000000000000000102 has a wrong check "
                    "digit; the message names no member either"
                ),
                "HZ-20261207-Q-02#1": (
                    "QR reference 471200000000000000000000032 is not one of this "
                    "coop's (they begin with 4711); the message names no member either"
                ),
                "HZ-20261207-Q-03#1": (
                    "member 99 is not a customer of the shop (not in the store; "
                    "`pot-bridge sync` pulls new members)"
                ),
            } == reasons(session)
            waiting = {p.subject for p in open_problems(session, "holz")}
            review_ids = session.scalars(
                select(BankCredit.id).where(BankCredit.status == topup.REVIEW)
            ).all()
        assert {f"bank credit {i}" for i in review_ids} == waiting

    def test_the_same_file_twice_adds_nothing(
        self, sessions: sessionmaker[Session]
    ) -> None:
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)
        with sessions() as session:
            first = (journal(session), wallet_writes(session), credits(session))

        again = topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), "copy", NOW)

        with sessions() as session:
            assert first == (journal(session), wallet_writes(session), credits(session))
        assert [5] == [again.count("known")]
        assert {"known"} == {o.status for o in again.outcomes}

    def test_booking_day_is_the_banks(self, sessions: sessionmaker[Session]) -> None:
        """Booked the next morning, effective the day the bank booked it."""
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)

        with sessions() as session:
            days = set(session.scalars(select(JournalEntry.effective)))
        assert {date(2026, 12, 7)} == days


class TestCreditorReferences:
    def test_reference_and_message_book_their_members(
        self, sessions: sessionmaker[Session]
    ) -> None:
        imported = topup.import_file(
            sessions, SCOR_COOP, sample(SCOR_FILE), SCOR_FILE, NOW
        )

        with sessions() as session:
            assert [
                ("ZKB-T-20261208-0001", Decimal("60.00"), "CHF", "booked", 3, "scor"),
                (
                    "ZKB-T-20261208-0002",
                    Decimal("45.00"),
                    "CHF",
                    "booked",
                    6,
                    "message",
                ),
                ("ZKB-T-20261208-0003", Decimal("20.00"), "CHF", "review", None, ""),
                ("ZKB-20261208-0004#1", Decimal("35.00"), "CHF", "review", None, ""),
                ("ZKB-20261208-0005#1", Decimal("12.00"), "CHF", "review", None, ""),
                (
                    "ZKB-20261208-0009#1",
                    Decimal("22.00"),
                    "CHF",
                    "booked",
                    9,
                    "message",
                ),
                (
                    "ZKB-20261208-0006#1",
                    Decimal("30.00"),
                    "EUR",
                    "review",
                    5,
                    "message",
                ),
                ("ZKB-20261208-0007", Decimal("-15.00"), "CHF", "review", None, ""),
            ] == credits(session)
            assert {
                "bank": Decimal("-127.00"),
                "member:3": Decimal("60.00"),
                "member:6": Decimal("45.00"),
                "member:9": Decimal("22.00"),
            } == balances(session, "holz")
        assert 1 == imported.set_aside  # the payment to a producer

    def test_why_each_credit_waits(self, sessions: sessionmaker[Session]) -> None:
        topup.import_file(sessions, SCOR_COOP, sample(SCOR_FILE), SCOR_FILE, NOW)

        with sessions() as session:
            found = reasons(session)
        no_member = (
            "no member found: no reference of this coop and no "
            "'TopUp <name> (<member number>)' in the message"
        )
        assert {
            "ZKB-T-20261208-0003": "the reference names member 7, the message member 8",
            "ZKB-20261208-0004#1": no_member,
            "ZKB-20261208-0005#1": (
                "creditor reference RF28HOLZ4 has wrong check digits; the message "
                "names no member either"
            ),
            "ZKB-20261208-0006#1": "currency EUR, not CHF",
            "ZKB-20261208-0007": (
                "a reversal: the bank took back or returned a payment; if it takes "
                "back a top-up, assign it to that member, else ignore it"
            ),
        } == found

    def test_a_qr_reference_on_a_normal_iban_is_doubtful(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """The QR-IBAN's file read as if the coop had a normal IBAN."""
        coop = coop_config(QR_IBAN, "4711").model_copy(
            update={"credit": CoopCredit(iban=IBAN, reference_prefix="HOLZ")}
        )
        data = sample(QRR_FILE).replace(QR_IBAN.encode(), IBAN.encode())

        topup.import_file(sessions, coop, data, QRR_FILE, NOW)

        with sessions() as session:
            assert (
                "reference 471100000000000000000000022 is not an RF creditor "
                in (reasons(session)["HZ-20261207-Q-01-001"])
            )
            assert "" == journal(session)


class TestRefused:
    def test_another_accounts_file_is_refused_whole(
        self, sessions: sessionmaker[Session]
    ) -> None:
        with pytest.raises(topup.WrongAccount) as refused:
            topup.import_file(sessions, SCOR_COOP, sample(QRR_FILE), QRR_FILE, NOW)

        assert (
            "coop holz: bank file camt054_v08_qrr_topups.xml is about account "
            "CH6630808001234567890, not the coop's account CH4700700110000654321; "
            "nothing was read"
        ) == str(refused.value)
        with sessions() as session:
            assert 0 == session.scalar(select(func.count()).select_from(BankCredit))

    def test_not_a_bank_file(self, sessions: sessionmaker[Session]) -> None:
        with pytest.raises(CamtError, match=r"pain001\.xml is not a camt"):
            topup.import_file(
                sessions, QRR_COOP, sample("not_camt_pain001.xml"), "pain001.xml", NOW
            )

    def test_unreadable_entries_are_reported_and_the_rest_is_read(
        self, sessions: sessionmaker[Session]
    ) -> None:
        coop = coop_config("CH0300700110000123456", "HOLZ")
        name = "camt053_malformed_amount.xml"

        imported = topup.import_file(sessions, coop, sample(name), name, NOW)

        assert 2 == len(imported.problems)
        assert 2 == len(imported.outcomes)
        with sessions() as session:
            found = [
                p for p in open_problems(session, "holz") if p.kind != "topup.review"
            ]
        assert [("topup.file_problems", f"file {name}")] == [
            (p.kind, p.subject.rpartition(" ")[0]) for p in found
        ]
        assert "amount '12,50' is not a number like 25.50" in found[0].message


def test_ledger_mode_books_without_wallet_rows(
    sessions: sessionmaker[Session],
) -> None:
    coop = coop_config(mode="ledger")

    topup.import_file(sessions, coop, sample(QRR_FILE), QRR_FILE, NOW)

    with sessions() as session:
        assert [] == wallet_writes(session)
        assert Decimal("80.00") == balances(session, "holz")["member:5"]


def test_a_bridge_killed_mid_file_reads_the_rest_on_the_next_run(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while matching the third credit: two are in, the rest follows."""
    real, calls = topup_book.match_credit, []

    def dying(*args: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(topup_book, "match_credit", dying)
    with pytest.raises(Killed):
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)
    with sessions() as session:
        assert 2 == len(credits(session))
    monkeypatch.setattr(topup_book, "match_credit", real)

    rerun = topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)

    assert ["known", "known", "review", "review", "review"] == [
        o.status for o in rerun.outcomes
    ]
    with sessions() as session:
        assert Decimal("-130.00") == balances(session, "holz")["bank"]
        assert 2 == len(wallet_writes(session))


class TestWatchedFolder:
    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        inbox = tmp_path / "bank"
        inbox.mkdir()
        return inbox

    def test_files_are_read_once_and_moved(
        self, sessions: sessionmaker[Session], folder: Path
    ) -> None:
        """Any case of .xml is read; a second copy of a file books nothing."""
        shutil.copy(SAMPLES / QRR_FILE, folder / "2026-12-07.xml")
        shutil.copy(SAMPLES / QRR_FILE, folder / "2026-12-07-again.XML")
        (folder / "readme.txt").write_text("not a bank file", encoding="utf-8")
        coop = coop_config(folder=folder)

        results = topup.watch_folder(sessions, coop, NOW)

        assert [(2, 0), (0, 5)] == [
            (r.count(topup.BOOKED), r.count("known")) for r in results
        ]
        assert ["2026-12-07-again.XML", "2026-12-07.xml"] == sorted(
            p.name for p in (folder / "done").iterdir()
        )
        assert ["done", "readme.txt"] == sorted(p.name for p in folder.iterdir())
        with sessions() as session:
            assert 2 == session.scalar(select(func.count()).select_from(JournalEntry))

    def test_a_file_that_cannot_be_read_goes_to_failed(
        self, sessions: sessionmaker[Session], folder: Path
    ) -> None:
        shutil.copy(SAMPLES / "not_camt_pain001.xml", folder / "payment.xml")
        shutil.copy(SAMPLES / SCOR_FILE, folder / "statement.xml")  # other account
        shutil.copy(SAMPLES / QRR_FILE, folder / "topups.xml")
        coop = coop_config(folder=folder)

        results = topup.watch_folder(sessions, coop, NOW)

        assert ["topups.xml"] == [r.source for r in results]
        assert ["payment.xml", "statement.xml"] == sorted(
            p.name for p in (folder / "failed").iterdir()
        )
        with sessions() as session:
            failed = {
                p.subject: p.message
                for p in open_problems(session, "holz")
                if p.kind == "topup.file_failed"
            }
        assert ["file failed/payment.xml", "file failed/statement.xml"] == sorted(
            failed
        )
        assert (
            "about account CH4700700110000654321" in failed["file failed/statement.xml"]
        )

    def test_killed_before_the_move_the_file_is_read_again_for_nothing(
        self, sessions: sessionmaker[Session], folder: Path
    ) -> None:
        """The import was committed, then the bridge died before moving it."""
        shutil.copy(SAMPLES / QRR_FILE, folder / "topups.xml")
        coop = coop_config(folder=folder)
        topup.import_file(sessions, coop, sample(QRR_FILE), "topups.xml", NOW)

        (result,) = topup.watch_folder(sessions, coop, NOW)

        assert 5 == result.count("known")
        assert (folder / "done" / "topups.xml").exists()
        with sessions() as session:
            assert 2 == len(wallet_writes(session))

    def test_a_name_read_before_is_kept_beside_the_first(
        self, sessions: sessionmaker[Session], folder: Path
    ) -> None:
        coop = coop_config(folder=folder)
        for _ in range(2):
            shutil.copy(SAMPLES / QRR_FILE, folder / "topups.xml")
            topup.watch_folder(sessions, coop, NOW)

        assert ["topups.1.xml", "topups.xml"] == sorted(
            p.name for p in (folder / "done").iterdir()
        )

    def test_without_an_iban_the_files_wait_and_the_admin_is_told(
        self, sessions: sessionmaker[Session], folder: Path
    ) -> None:
        shutil.copy(SAMPLES / QRR_FILE, folder / "topups.xml")
        coop = coop_config(folder=folder).model_copy(
            update={"credit": CoopCredit(bank_folder=folder)}
        )

        assert [] == topup.watch_folder(sessions, coop, NOW)

        assert ["topups.xml"] == [p.name for p in folder.iterdir()]
        with sessions() as session:
            assert ["topup.folder_unused"] == [
                p.kind for p in open_problems(session, "holz")
            ]

    def test_a_missing_folder_is_reported(
        self, sessions: sessionmaker[Session], tmp_path: Path
    ) -> None:
        coop = coop_config(folder=tmp_path / "gone")

        assert [] == topup.watch_folder(sessions, coop, NOW)

        with sessions() as session:
            (problem,) = open_problems(session, "holz")
        assert f"the bank folder {tmp_path / 'gone'} does not exist" in problem.message


class TestBankReferencesReadAgain:
    """camt054_v08_reused_refs.xml, read after the morning's QR-bill file:

    HZ-20261207-Q-01-001   99.00 CHF member 5   was 50.00 CHF for member 2
    HZ-20261207-Q-01-002   80.00 CHF member 5   as before
    HZ-20261207-Q-03#1     25.00 CHF member 7   was 25.00 CHF for member 99
    HZ-20261209-Q-05-001   40.00 CHF member 3   new
    """

    REUSED = "camt054_v08_reused_refs.xml"

    def test_a_different_credit_under_a_known_reference_is_not_booked(
        self, sessions: sessionmaker[Session]
    ) -> None:
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)

        again = topup.import_file(
            sessions, QRR_COOP, sample(self.REUSED), self.REUSED, NOW
        )

        assert ["conflict", "known", "conflict", "booked"] == [
            o.status for o in again.outcomes
        ]
        assert (1, 1, 2) == (
            again.count(topup.BOOKED),
            again.count(topup.KNOWN),
            again.count(topup.CONFLICT),
        )
        with sessions() as session:
            assert {
                "bank": Decimal("-170.00"),
                "member:2": Decimal("50.00"),
                "member:3": Decimal("40.00"),
                "member:5": Decimal("80.00"),
            } == balances(session, "holz")
            assert 3 == len(wallet_writes(session))

    def test_each_conflict_is_reported_with_both_amounts(
        self, sessions: sessionmaker[Session]
    ) -> None:
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)
        for _ in range(2):  # read twice: told once, counted twice
            topup.import_file(sessions, QRR_COOP, sample(self.REUSED), self.REUSED, NOW)

        with sessions() as session:
            found = [
                (p.message, p.times_seen, p.details)
                for p in open_problems(session, "holz")
                if p.kind == topup.CONFLICT_PROBLEM
            ]
        assert [
            (
                (
                    "coop holz: bank reference HZ-20261207-Q-01-001 of account "
                    "CH6630808001234567890 was read before as 50.00 CHF for member 2 "
                    "(bank credit 1, camt054_v08_qrr_topups.xml), now as 99.00 CHF for "
                    "member 5 (camt054_v08_reused_refs.xml); not booked: ask the bank "
                    "which is right"
                ),
                2,
                {
                    "iban": QR_IBAN,
                    "bank_ref": "HZ-20261207-Q-01-001",
                    "amount_before": "50.00",
                    "amount_now": "99.00",
                },
            ),
            (
                (
                    "coop holz: bank reference HZ-20261207-Q-03#1 of account "
                    "CH6630808001234567890 was read before as 25.00 CHF for member 99 "
                    "(bank credit 5, camt054_v08_qrr_topups.xml), now as 25.00 CHF for "
                    "member 7 (camt054_v08_reused_refs.xml); not booked: ask the bank "
                    "which is right"
                ),
                2,
                {
                    "iban": QR_IBAN,
                    "bank_ref": "HZ-20261207-Q-03#1",
                    "amount_before": "25.00",
                    "amount_now": "25.00",
                },
            ),
        ] == found

    def test_a_credit_assigned_by_hand_is_known_when_read_again(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Leon's mistyped reference names no member; the admin gave it to 10."""
        topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), QRR_FILE, NOW)
        with sessions.begin() as session:
            leon = session.scalars(
                select(BankCredit.id).where(
                    BankCredit.bank_ref == "HZ-20261207-Q-01-003"
                )
            ).one()
            review.assign(session, QRR_COOP, leon, 10, "typo", NOW)

        again = topup.import_file(sessions, QRR_COOP, sample(QRR_FILE), "copy", NOW)

        assert 5 == again.count(topup.KNOWN)


class TestBankReferencesWithSpaces:
    """camt054_v08_spaced_refs.xml: the bank writes "HZ 20261209 Q 01"."""

    SPACED = "camt054_v08_spaced_refs.xml"
    KEY = "bank:CH6630808001234567890:HZ%2020261209%20Q%2001#1"

    def test_a_matched_credit_is_booked_under_an_escaped_key(
        self, sessions: sessionmaker[Session]
    ) -> None:
        topup.import_file(sessions, QRR_COOP, sample(self.SPACED), self.SPACED, NOW)

        with sessions() as session:
            assert f"""\
2026-12-09 top_up {self.KEY}
  "Einzahlung 09.12.2026 Ref. HZ 20261209 Q 01#1"
  bank        -35.00
  member:4     35.00""" == journal(session)
            ((*_, details),) = wallet_writes(session)
        assert self.KEY == marker.key_in(details)

    @pytest.mark.parametrize(
        ("bank_ref", "key"),
        [
            pytest.param("HZ-1", "bank:CH00:HZ-1", id="plain"),
            pytest.param("HZ 1", "bank:CH00:HZ%201", id="space"),
            pytest.param("HZ%201", "bank:CH00:HZ%25201", id="percent"),
            pytest.param("HZ]1\t", "bank:CH00:HZ%5D1%09", id="bracket-tab"),
            pytest.param("HZ\u00a01", "bank:CH00:HZ%C2%A01", id="no-break-space"),
        ],
    )
    def test_keys_stay_apart(self, bank_ref: str, key: str) -> None:
        assert key == topup.entry_key("CH00", bank_ref)
