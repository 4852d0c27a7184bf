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
A credit the store cannot hold (a fraction of a Rappen, an absurd amount) is
not read but reported with the file's other problems, and the rest goes on.
Matching is in `topup_match`; keeping and booking one credit in `topup_book`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import structlog
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems
from pot_bridge.bank.camt import Statement, read_camt
from pot_bridge.config import CoopConfig
from pot_bridge.credit.topup_book import (
    BOOKED,
    CONFLICT,
    CONFLICT_PROBLEM,
    DEPOSIT_TEXT,
    IGNORED,
    KNOWN,
    RETURN_TEXT,
    REVIEW,
    REVIEW_PROBLEM,
    Outcome,
    book_credit,
    entry_key,
    keep_credit,
    review_subject,
)
from pot_bridge.credit.topup_match import (
    HOME_CURRENCY,
    MEMBER_MAX,
    ReadCredit,
    read_credit,
    read_reversal,
)
from pot_bridge.errors import ConfigError, RetryLaterError, SkipItemError
from pot_bridge.money import CENT

# Public names, including those now kept in `topup_book` and `topup_match`.
__all__ = [
    "AMOUNT_MAX",
    "BANK_REF_MAX",
    "BOOKED",
    "CONFLICT",
    "CONFLICT_PROBLEM",
    "DEPOSIT_TEXT",
    "HOME_CURRENCY",
    "IGNORED",
    "KNOWN",
    "MEMBER_MAX",
    "RETURN_TEXT",
    "REVIEW",
    "REVIEW_PROBLEM",
    "Imported",
    "Outcome",
    "WrongAccount",
    "book_credit",
    "entry_key",
    "import_file",
    "review_subject",
    "watch_folder",
]

log = structlog.get_logger(__name__)

BANK_REF_MAX = 120  # BankCredit.bank_ref
FILE_FAILED = "topup.file_failed"
# No top-up comes near it; it keeps every sum of Rappen far inside 64 bits.
AMOUNT_MAX = Decimal("999999999.99")


class WrongAccount(SkipItemError):
    """The file is about another account than the coop's: nothing is read."""


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
    kept = [read_credit(credit, source) for credit in statement.credits]
    kept += [read_credit(credit, source) for credit in statement.foreign]
    for reversal in statement.reversals:
        if reversal.bank_ref is None:
            imported.problems.append(
                f"{source}, {reversal.position}: a reversal without a bank "
                "reference; not read"
            )
            continue
        kept.append(read_reversal(reversal, source))
    for fields in kept:
        refused = _refusal(fields)
        if refused:
            imported.problems.append(f"{source}, {fields.position}: {refused}")
            continue
        fields = _in_rappen(fields)
        imported.outcomes.append(keep_credit(sessions, coop, iban, fields, now))

    _report_file_problems(sessions, coop, imported, data, now)
    log.info(
        "topup.imported",
        coop=coop.slug,
        source=source,
        kind=statement.kind,
        booked=imported.count(BOOKED),
        review=imported.count(REVIEW),
        known=imported.count(KNOWN),
        conflicts=imported.count(CONFLICT),
        problems=len(imported.problems),
    )
    return imported


def watch_folder(
    sessions: sessionmaker[Session], coop: CoopConfig, now: datetime
) -> list[Imported]:
    """Import every camt file in the coop's bank folder, then move it away.

    A read file moves to `done/`, one that cannot be read (or that the bridge
    fails on) to `failed/` with a problem naming it there, and the next file is
    read. The move comes after the commit: a file the bridge died on is read
    again, which adds nothing. A store that is down leaves the file in place for
    the next run. Files must be dropped in whole (moved in, not written in
    place), or a half-written file ends in `failed/`.
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
    try:
        imported = import_file(sessions, coop, path.read_bytes(), path.name, now)
    except (RetryLaterError, OperationalError) as exc:
        log.error(
            "topup.file_deferred", coop=coop.slug, file=path.name, error=_said(exc)
        )
        return None
    except (SkipItemError, OSError) as exc:
        reason = exc.message if isinstance(exc, SkipItemError) else exc.strerror
        log.error("topup.file_failed", coop=coop.slug, file=path.name, error=reason)
        _failed(sessions, coop, path, f"was not read ({reason})", now)
        return None
    except Exception as exc:  # a bug met on one file must not stop the others
        log.exception("topup.file_crashed", coop=coop.slug, file=path.name)
        _failed(
            sessions,
            coop,
            path,
            f"made the bridge fail ({_said(exc)}; the log has the details) and "
            "may be read in part; once fixed, put it back to read the rest",
            now,
        )
        return None

    _move(path, "done")
    with sessions.begin() as session:  # left in place by an earlier run
        problems.resolve(
            session,
            coop=coop.slug,
            kind=FILE_FAILED,
            subject=f"file {path.name}"[:200],
            now=now,
        )

    return imported


def _failed(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    path: Path,
    what: str,
    now: datetime,
) -> None:
    """Move a file to `failed/` and report it under the name it got there, so a
    later file of the same name does not close the problem."""
    moved = _move(path, "failed")
    subject = f"file {moved.parent.name}/{moved.name}" if moved else f"file {path.name}"
    _problem(
        sessions,
        coop,
        FILE_FAILED,
        subject[:200],
        f"coop {coop.slug}: bank file {path.name} {what}; it is in "
        f"{moved or path.parent}",
        now,
    )


def _said(exc: BaseException) -> str:
    """The first line of an error, short enough for a problem's message."""
    first = (str(exc).splitlines() or [""])[0]

    return f"{type(exc).__name__}: {first[:200]}"


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


def _refusal(fields: ReadCredit) -> str | None:
    """Why a credit cannot be kept at all, or None."""
    if len(fields.bank_ref) > BANK_REF_MAX:
        return (
            f"bank reference {fields.bank_ref[:40]}… is longer than "
            f"{BANK_REF_MAX} characters; not read"
        )
    amount = f"amount {fields.amount} {fields.currency}"
    if fields.amount != fields.amount.quantize(CENT):
        return f"{amount} is not a whole number of Rappen (cents); not read"
    if abs(fields.amount) > AMOUNT_MAX:
        return f"{amount} is more than the bridge books ({AMOUNT_MAX}); not read"

    return None


def _in_rappen(fields: ReadCredit) -> ReadCredit:
    """The amount with two decimals, as the store gives it back (10.500 -> 10.50)."""
    return replace(fields, amount=fields.amount.quantize(CENT))


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


def _report_file_problems(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    imported: Imported,
    data: bytes,
    now: datetime,
) -> None:
    """One problem per file's content: reading it again counts up, another file
    of the same name (banks reuse names) gets its own."""
    if not imported.problems:
        return
    shown = "; ".join(imported.problems[:3])
    more = len(imported.problems) - 3
    digest = hashlib.sha256(data).hexdigest()[:12]
    _problem(
        sessions,
        coop,
        "topup.file_problems",
        f"file {imported.source[:170]} {digest}",
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
