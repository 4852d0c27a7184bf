"""Bank top-ups: camt.053/054 files in, members' credit booked once.

Each credit of a file is kept as a `BankCredit` under the statement's IBAN and
the bank's reference, so reading a file twice, or a file the bridge died in,
adds nothing. A credit is matched to its member by its QR reference (QRR on a
QR-IBAN, an RF creditor reference on a normal IBAN), else by the member number
in the plugin's QR-bill message `TopUp <name> (<id>)`. A matched credit is
booked at once, in the same transaction, as the ledger entry
`bank:<iban>:<bank_ref>` and, on a plugin coop, a planned `deposit` row for the
shop's wallet (written by `wallet_write.flush`). Anything doubtful waits in the
review queue (`review`) with its reason, for an admin to assign or ignore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import ledger, problems
from pot_bridge.bank.camt import Credit, SetAside, Statement, read_camt
from pot_bridge.bank.reference import (
    member_of_message,
    member_of_qrr,
    member_of_scor,
)
from pot_bridge.config import CoopConfig
from pot_bridge.credit import wallet_write
from pot_bridge.errors import ConfigError, SkipItemError
from pot_bridge.ledger import accounts
from pot_bridge.money import format_chf
from pot_bridge.store.schema import BankCredit, Member

log = structlog.get_logger(__name__)

REVIEW, BOOKED, IGNORED = "review", "booked", "ignored"
REVIEW_PROBLEM = "topup.review"
HOME_CURRENCY = "CHF"
BANK_REF_MAX = 120  # BankCredit.bank_ref
DEPOSIT_TEXT = "Einzahlung {day:%d.%m.%Y} Ref. {ref}"
RETURN_TEXT = "Rückbuchung {day:%d.%m.%Y} Ref. {ref}"
# a bank reference goes into a ledger key and a wallet row's mark
_KEYABLE = re.compile(r"[^\s\]]+")
_QRR_SHAPE = re.compile(r"[0-9]{27}")
_SCOR_SHAPE = re.compile(r"RF[0-9]{2}[A-Z0-9]{1,21}")


class WrongAccount(SkipItemError):
    """The file is about another account than the coop's: nothing is read."""


@dataclass(frozen=True)
class Outcome:
    """What became of one credit of a file."""

    credit_id: int
    bank_ref: str
    amount: Decimal
    currency: str
    status: str  # booked, review, or known (read before)
    member: int | None
    reason: str = ""


@dataclass
class Imported:
    """One bank file read: its credits' outcomes and what was not read."""

    source: str
    kind: str
    iban: str
    outcomes: list[Outcome] = field(default_factory=list)
    set_aside: int = 0  # debits and entries not booked by the bank
    problems: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class _Match:
    member: int | None
    matched_by: str
    doubt: str = ""


def entry_key(iban: str, bank_ref: str) -> str:
    """The ledger key of a bank top-up."""
    return f"bank:{iban}:{bank_ref}"


def import_file(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    data: bytes,
    source: str,
    now: datetime,
) -> Imported:
    """Read one camt file into the coop's bank credits and book what matches.

    Each credit is committed on its own, so a crash half-way loses nothing
    that reading the file again does not add. A file about another account
    raises `WrongAccount`, an unreadable one `CamtError`.
    """
    statement = read_camt(data, source)
    iban = _coop_account(coop, statement)

    imported = Imported(source=source, kind=statement.kind, iban=iban)
    imported.problems = [str(problem) for problem in statement.problems]
    imported.set_aside = len(statement.set_aside) - len(statement.reversals)
    kept = [_fields_of(credit, source) for credit in statement.credits]
    kept += [_fields_of(credit, source) for credit in statement.foreign]
    for reversal in statement.reversals:
        if reversal.bank_ref is None:
            imported.problems.append(
                f"{source}, {reversal.position}: a reversal without a bank "
                "reference; not read"
            )
            continue
        kept.append(_fields_of_reversal(reversal, source))
    for fields in kept:
        if len(fields.bank_ref) > BANK_REF_MAX:
            imported.problems.append(
                f"{source}: bank reference {fields.bank_ref[:40]}… is longer than "
                f"{BANK_REF_MAX} characters; not read"
            )
            continue
        imported.outcomes.append(_keep(sessions, coop, iban, fields, now))

    _report_file_problems(sessions, coop, imported, now)
    log.info(
        "topup.imported",
        coop=coop.slug,
        source=source,
        kind=statement.kind,
        booked=imported.count(BOOKED),
        review=imported.count(REVIEW),
        known=imported.count("known"),
        problems=len(imported.problems),
    )
    return imported


def book_credit(
    session: Session,
    coop: CoopConfig,
    credit: BankCredit,
    member: int,
    matched_by: str,
    now: datetime,
) -> None:
    """Book a CHF credit to `member`: the ledger entry and, on a plugin coop, the
    wallet row to write, in the caller's transaction; the credit is `booked`."""
    if credit.currency != HOME_CURRENCY:
        raise SkipItemError(
            f"bank credit {credit.id} is in {credit.currency}: the ledger keeps "
            "CHF only; ignore it and book what the bank credited in CHF by hand",
            coop=coop.slug,
        )
    if not _KEYABLE.fullmatch(credit.bank_ref):
        raise SkipItemError(
            f"bank credit {credit.id}: bank reference {credit.bank_ref!r} cannot "
            "name a booking (spaces or ']')",
            coop=coop.slug,
        )

    key = entry_key(credit.iban, credit.bank_ref)
    day = credit.booked_on or now.astimezone(coop.zone).date()
    text = (DEPOSIT_TEXT if credit.amount > 0 else RETURN_TEXT).format(
        day=day, ref=credit.bank_ref
    )
    ledger.book(
        session,
        coop.slug,
        key,
        ledger.EntryKind.TOP_UP,
        text,
        [(accounts.member(member), credit.amount), (accounts.BANK, -credit.amount)],
        now,
        effective=day,
    )
    if coop.credit.mode == "plugin":
        kind = "deposit" if credit.amount > 0 else "manual_transaction"
        wallet_write.plan(
            session, coop.slug, key, member, credit.amount, text, kind, now
        )

    credit.member = member
    credit.matched_by = matched_by
    credit.entry_key = key
    credit.status = BOOKED
    log.info(
        "topup.booked",
        coop=coop.slug,
        key=key,
        member=member,
        amount=str(credit.amount),
        matched_by=matched_by,
    )


def review_subject(credit: BankCredit) -> str:
    """The subject of a credit's `topup.review` problem, shown in `status`."""
    return f"bank credit {credit.id}"


def watch_folder(
    sessions: sessionmaker[Session], coop: CoopConfig, now: datetime
) -> list[Imported]:
    """Import every camt file in the coop's bank folder, then move it away.

    A read file moves to `done/`, one that cannot be read to `failed/` with a
    problem naming it. The move comes after the commit: a file the bridge died
    on is read again, which adds nothing. Files must be dropped in whole (moved
    in, not written in place), or a half-written file ends in `failed/`.
    """
    folder = coop.credit.bank_folder
    if folder is None:
        return []
    if coop.credit.iban is None:
        _problem(
            sessions,
            coop,
            "topup.folder_unused",
            f"folder {folder}",
            f"coop {coop.slug}: bank files in {folder} wait: [coop.credit] has no "
            "iban to check them against",
            now,
        )
        return []
    if not folder.is_dir():
        _problem(
            sessions,
            coop,
            "topup.folder_missing",
            f"folder {folder}",
            f"coop {coop.slug}: the bank folder {folder} does not exist",
            now,
        )
        return []

    results = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".xml":
            continue
        if path.name.startswith("."):
            continue
        imported = _import_path(sessions, coop, path, now)
        if imported is not None:
            results.append(imported)

    return results


def _import_path(
    sessions: sessionmaker[Session], coop: CoopConfig, path: Path, now: datetime
) -> Imported | None:
    subject = f"file {path.name}"[:200]
    try:
        imported = import_file(sessions, coop, path.read_bytes(), path.name, now)
    except (SkipItemError, OSError) as exc:
        reason = exc.message if isinstance(exc, SkipItemError) else exc.strerror
        moved = _move(path, "failed")
        _problem(
            sessions,
            coop,
            "topup.file_failed",
            subject,
            f"coop {coop.slug}: bank file {path.name} was not read ({reason}); "
            f"it is in {moved or path.parent}",
            now,
        )
        log.error("topup.file_failed", coop=coop.slug, file=path.name, error=reason)
        return None

    _move(path, "done")
    with sessions.begin() as session:
        problems.resolve(
            session, coop=coop.slug, kind="topup.file_failed", subject=subject, now=now
        )

    return imported


def _move(path: Path, where: str) -> Path | None:
    """Move a file into a subfolder, never over an earlier file of that name."""
    target = path.parent / where
    try:
        target.mkdir(exist_ok=True)
        dest = target / path.name
        number = 1
        while dest.exists():
            dest = target / f"{path.stem}.{number}{path.suffix}"
            number += 1
        path.replace(dest)
    except OSError as exc:
        log.error("topup.file_not_moved", file=str(path), error=exc.strerror)
        return None

    return dest


def _coop_account(coop: CoopConfig, statement: Statement) -> str:
    own = coop.credit.iban
    if own is None:
        raise ConfigError(
            "no [coop.credit] iban: top-ups cannot be read without the coop's account",
            coop=coop.slug,
        )
    if statement.iban != own:
        raise WrongAccount(
            f"bank file {statement.source} is about account {statement.iban}, not "
            f"the coop's account {own}; nothing was read",
            coop=coop.slug,
        )

    return own


@dataclass(frozen=True)
class _Fields:
    """A credit or reversal as stored, before its member is known."""

    bank_ref: str
    amount: Decimal
    currency: str
    booked_on: date | None
    value_on: date | None
    reference: str | None
    reference_kind: str | None
    message: str
    debtor: str
    source: str
    reversal: bool = False


def _fields_of(credit: Credit, source: str) -> _Fields:
    return _Fields(
        bank_ref=credit.bank_ref,
        amount=credit.amount,
        currency=credit.currency,
        booked_on=credit.booking_date,
        value_on=credit.value_date,
        reference=credit.reference,
        reference_kind=credit.reference_kind,
        message=credit.message or "",
        debtor=credit.debtor or "",
        source=source,
    )


def _fields_of_reversal(reversal: SetAside, source: str) -> _Fields:
    """A reversal of a credit takes money back: it is kept negative."""
    assert reversal.bank_ref is not None
    sign = -1 if reversal.direction == "DBIT" else 1
    return _Fields(
        bank_ref=reversal.bank_ref,
        amount=sign * reversal.amount,
        currency=reversal.currency,
        booked_on=reversal.booking_date,
        value_on=None,
        reference=None,
        reference_kind=None,
        message=reversal.info or "",
        debtor="",
        source=source,
        reversal=True,
    )


def _keep(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    iban: str,
    fields: _Fields,
    now: datetime,
) -> Outcome:
    """Store one credit once, match it and book it, in one transaction."""
    with sessions.begin() as session:
        known = _find(session, coop.slug, iban, fields.bank_ref)
        if known is not None:
            return _outcome(known, "known")

        credit = BankCredit(
            coop=coop.slug,
            iban=iban,
            bank_ref=fields.bank_ref,
            amount=fields.amount,
            currency=fields.currency,
            booked_on=fields.booked_on,
            value_on=fields.value_on,
            reference=(fields.reference or None) and fields.reference[:40],
            message=fields.message,
            debtor=fields.debtor[:200],
            source=fields.source[:400],
            status=REVIEW,
            read_at=now,
        )
        try:
            with session.begin_nested():
                session.add(credit)
        except IntegrityError:  # another import of the same file got there first
            known = _find(session, coop.slug, iban, fields.bank_ref)
            if known is None:
                raise
            return _outcome(known, "known")

        match = _match(session, coop, fields)
        credit.member = match.member
        credit.matched_by = match.matched_by
        if not match.doubt and match.member is not None:
            try:
                with session.begin_nested():
                    book_credit(
                        session, coop, credit, match.member, match.matched_by, now
                    )
            except (SkipItemError, ValueError) as exc:
                said = exc.message if isinstance(exc, SkipItemError) else str(exc)
                match = _Match(match.member, match.matched_by, f"not booked: {said}")
        if credit.status == REVIEW:
            credit.reason = match.doubt or "no member found"
            session.flush()
            _report_review(session, coop, credit, now)

        return _outcome(credit, credit.status)


def _match(session: Session, coop: CoopConfig, fields: _Fields) -> _Match:
    """The member a credit names, and why it must wait for an admin if it must."""
    by_ref, ref_kind, ref_doubt = _by_reference(coop, fields)
    by_message = member_of_message(fields.message) if not fields.reversal else None
    member = by_ref or by_message
    matched_by = ref_kind if by_ref else "message" if by_message else ""

    doubts = []
    if fields.reversal:
        doubts.append(
            "a reversal: the bank took back or returned a payment; if it takes "
            "back a top-up, assign it to that member, else ignore it"
        )
    if fields.currency != HOME_CURRENCY:
        doubts.append(f"currency {fields.currency}, not CHF")
    if fields.amount == 0:
        doubts.append("an amount of 0.00")
    if ref_doubt:
        doubts.append(ref_doubt)
    if by_ref and by_message and by_ref != by_message:
        doubts.append(
            f"the reference names member {by_ref}, the message member {by_message}"
        )
        member, matched_by = None, ""
    elif member is None and ref_doubt:
        doubts.append("the message names no member either")
    elif member is None and not fields.reversal:
        doubts.append(
            "no member found: no reference of this coop and no "
            "'TopUp <name> (<member number>)' in the message"
        )
    elif member is not None and not _is_member(session, coop.slug, member):
        doubts.append(
            f"member {member} is not a customer of the shop (not in the store; "
            "`pot-bridge sync` pulls new members)"
        )

    return _Match(member, matched_by, "; ".join(doubts))


def _by_reference(coop: CoopConfig, fields: _Fields) -> tuple[int | None, str, str]:
    """(member, "qrr"/"scor", doubt) from the structured reference, if any."""
    ref = fields.reference
    if not ref:
        return None, "", ""
    prefix = coop.credit.reference_prefix
    if coop.credit.uses_qrr:
        if fields.reference_kind == "QRR":
            found = member_of_qrr(ref, prefix)
            if found:
                return found, "qrr", ""
            return (
                None,
                "",
                f"QR reference {ref} is not one of this coop's {_of(prefix)}",
            )
        if _QRR_SHAPE.fullmatch(ref):
            return None, "", f"QR reference {ref} has a wrong check digit"
        return (
            None,
            "",
            f"reference {ref} is not a QR reference (the account is a QR-IBAN)",
        )

    if fields.reference_kind == "SCOR":
        found = member_of_scor(ref, prefix)
        if found:
            return found, "scor", ""
        return (
            None,
            "",
            f"creditor reference {ref} is not one of this coop's {_of(prefix)}",
        )
    if _SCOR_SHAPE.fullmatch(ref):
        return None, "", f"creditor reference {ref} has wrong check digits"
    return None, "", f"reference {ref} is not an RF creditor reference"


def _of(prefix: str) -> str:
    return f"(they begin with {prefix})" if prefix else "(no reference_prefix set)"


def _is_member(session: Session, coop: str, member: int) -> bool:
    found = session.scalar(
        select(Member.id).where(Member.coop == coop, Member.customer_id == member)
    )
    return found is not None


def _find(session: Session, coop: str, iban: str, bank_ref: str) -> BankCredit | None:
    return session.scalars(
        select(BankCredit).where(
            BankCredit.coop == coop,
            BankCredit.iban == iban,
            BankCredit.bank_ref == bank_ref,
        )
    ).one_or_none()


def _outcome(credit: BankCredit, status: str) -> Outcome:
    return Outcome(
        credit_id=credit.id,
        bank_ref=credit.bank_ref,
        amount=credit.amount,
        currency=credit.currency,
        status=status,
        member=credit.member,
        reason=credit.reason if status == REVIEW else "",
    )


def _report_review(
    session: Session, coop: CoopConfig, credit: BankCredit, now: datetime
) -> None:
    day = f"{credit.booked_on:%d.%m.%Y}" if credit.booked_on else "?"
    payer = f" from {credit.debtor}" if credit.debtor else ""
    problems.report(
        session,
        coop=coop.slug,
        kind=REVIEW_PROBLEM,
        subject=review_subject(credit),
        message=(
            f"bank credit {credit.id} of {format_chf(credit.amount)} "
            f"{credit.currency} on {day}{payer} waits for review: {credit.reason} "
            f"(`pot-bridge topup review {coop.slug}`)"
        ),
        now=now,
        details={"bank_ref": credit.bank_ref, "amount": str(credit.amount)},
    )
    log.info(
        "topup.review",
        coop=coop.slug,
        credit=credit.id,
        bank_ref=credit.bank_ref,
        reason=credit.reason,
    )


def _report_file_problems(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    imported: Imported,
    now: datetime,
) -> None:
    if not imported.problems:
        return
    shown = "; ".join(imported.problems[:3])
    more = len(imported.problems) - 3
    _problem(
        sessions,
        coop,
        "topup.file_problems",
        f"file {imported.source}"[:200],
        f"coop {coop.slug}: {len(imported.problems)} entries of bank file "
        f"{imported.source} were not read: {shown}"
        + (f" (and {more} more)" if more > 0 else ""),
        now,
    )


def _problem(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    kind: str,
    subject: str,
    message: str,
    now: datetime,
) -> None:
    with sessions.begin() as session:
        problems.report(
            session,
            coop=coop.slug,
            kind=kind,
            subject=subject,
            message=message,
            now=now,
        )
