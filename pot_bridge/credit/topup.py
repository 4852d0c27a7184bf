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
Matching is in `topup_match`; keeping and booking one credit in `topup_book`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems
from pot_bridge.bank.camt import Statement, read_camt
from pot_bridge.config import CoopConfig
from pot_bridge.credit.topup_book import (
    BOOKED,
    DEPOSIT_TEXT,
    IGNORED,
    RETURN_TEXT,
    REVIEW,
    REVIEW_PROBLEM,
    Outcome,
    book_credit,
    entry_key,
    keep_credit,
    review_subject,
)
from pot_bridge.credit.topup_match import HOME_CURRENCY, read_credit, read_reversal
from pot_bridge.errors import ConfigError, SkipItemError

# Public names, including those now kept in `topup_book` and `topup_match`.
__all__ = [
    "BANK_REF_MAX",
    "BOOKED",
    "DEPOSIT_TEXT",
    "HOME_CURRENCY",
    "IGNORED",
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
        if len(fields.bank_ref) > BANK_REF_MAX:
            imported.problems.append(
                f"{source}: bank reference {fields.bank_ref[:40]}… is longer than "
                f"{BANK_REF_MAX} characters; not read"
            )
            continue
        imported.outcomes.append(keep_credit(sessions, coop, iban, fields, now))

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
