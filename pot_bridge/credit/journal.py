"""The journal for the bookkeeper: every posting of a period as double-entry rows.

Swiss bookkeeping tools (Banana, Bexio, Abacus) import a journal as one row per
booking with a debit and a credit account. The ledger keeps entries of two or
more postings, so each entry is turned into rows here: its postings are added
up per account number of the bookkeeper's chart (all members' credit accounts
share one liability account), then debits and credits, each in account-number
order, are paired off until nothing is left. An entry of n accounts gives at
most n − 1 rows, and every row's debit equals its credit, so the export
balances by construction.

The cost of one liability account for all members: credit moved from one
member to another nets to nothing there and gives no row. The members' own
detail is in their statements (`pot_bridge.credit.statement`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig, JournalAccounts

# The CSV layout every pot-bridge file shares (UTF-8 with BOM, ";", and the
# guard against cells a spreadsheet would run as formulas).
from pot_bridge.documents import spreadsheet_cell, spreadsheet_csv
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger import accounts
from pot_bridge.money import ZERO, round_chf
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Posting

# Banana's names for these columns; other tools map them by position.
HEAD = ["Date", "Doc", "Description", "AccountDebit", "AccountCredit", "Amount", "Key"]


@dataclass(frozen=True)
class JournalRow:
    """One booking: `amount` moves from `credit` to `debit` (account numbers)."""

    day: date
    document: int
    text: str
    debit: str
    credit: str
    amount: Decimal
    key: str


def account_number(code: str, chart: JournalAccounts) -> str:
    """The bookkeeper's account number of a ledger account."""
    if accounts.member_id(code) is not None:
        return chart.members
    numbers = {
        accounts.BANK: chart.bank,
        accounts.SALES: chart.sales,
        accounts.REFUNDS: chart.refunds,
        accounts.FEES: chart.fees,
        accounts.CORRECTIONS: chart.corrections,
    }
    if code not in numbers:
        raise ValueError(f"no journal account number for ledger account {code!r}")

    return numbers[code]


def pairs(postings: Iterable[tuple[str, Decimal]]) -> list[tuple[str, str, Decimal]]:
    """(debit, credit, amount) rows for one entry's (account number, amount)
    postings, amounts signed as in the ledger (+ credit, − debit)."""
    net: dict[str, Decimal] = {}
    for number, amount in postings:
        net[number] = net.get(number, ZERO) + amount
    if sum(net.values(), ZERO) != 0:
        raise ValueError(f"postings do not balance: {sorted(net.items())}")

    numbers = sorted(net)
    debits = [number for number in numbers if net[number] < 0]
    credits = [number for number in numbers if net[number] > 0]
    owed = [-net[number] for number in debits]
    given = [net[number] for number in credits]

    rows = []
    d = c = 0
    while d < len(debits) and c < len(credits):
        amount = min(owed[d], given[c])
        rows.append((debits[d], credits[c], amount))
        owed[d] -= amount
        given[c] -= amount
        if owed[d] == 0:
            d += 1
        if given[c] == 0:
            c += 1

    return rows


def journal(
    session: Session, coop: CoopConfig, start: date, end: date
) -> list[JournalRow]:
    """Every entry whose effective day is in `start` … `end` (both included),
    in the order the entries took effect."""
    if end < start:
        raise SkipItemError(
            f"journal: the period ends ({end}) before it starts ({start})",
            coop=coop.slug,
        )
    chart = coop.credit.accounts

    rows = []
    for (entry_id, day, text, key), postings in _entries(session, coop, start, end):
        try:
            booked = pairs((account_number(code, chart), amt) for code, amt in postings)
        except ValueError as exc:
            raise SkipItemError(f"entry {key!r}: {exc}", coop=coop.slug) from exc
        rows += [
            JournalRow(day, entry_id, text, debit, credit, amount, key)
            for debit, credit, amount in booked
        ]

    return rows


def journal_csv(rows: Sequence[JournalRow]) -> bytes:
    """The rows in the layout the README documents: ISO dates, amounts 12.50."""
    lines = [HEAD]
    lines += [
        [
            row.day.isoformat(),
            str(row.document),
            spreadsheet_cell(row.text),
            spreadsheet_cell(row.debit),
            spreadsheet_cell(row.credit),
            f"{round_chf(row.amount):f}",
            spreadsheet_cell(row.key),
        ]
        for row in rows
    ]

    return spreadsheet_csv(lines)


def file_name(coop: CoopConfig, start: date, end: date) -> str:
    return f"journal-{coop.slug}-{start.isoformat()}-{end.isoformat()}.csv"


_Entry = tuple[int, date, str, str]


def _entries(
    session: Session, coop: CoopConfig, start: date, end: date
) -> Iterator[tuple[_Entry, list[tuple[str, Decimal]]]]:
    """Each entry of the period with its (account code, amount) postings,
    read in batches so that a year of a big coop does not sit in memory twice."""
    result = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.effective,
            JournalEntry.text,
            JournalEntry.key,
            LedgerAccount.code,
            Posting.amount,
        )
        .join(Posting, Posting.entry_pk == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_pk)
        .where(
            JournalEntry.coop == coop.slug,
            JournalEntry.effective >= start,
            JournalEntry.effective <= end,
        )
        .order_by(JournalEntry.effective, JournalEntry.id, Posting.id)
        .execution_options(yield_per=2000)
    ).tuples()

    for entry, lines in groupby(result, key=lambda row: row[:4]):
        yield entry, [(code, amount) for *_, code, amount in lines]


def totals(rows: Iterable[JournalRow]) -> Mapping[str, tuple[Decimal, Decimal]]:
    """(debits, credits) per account number, as the bookkeeper's trial balance
    of the exported period shows them."""
    found: dict[str, tuple[Decimal, Decimal]] = {}
    for row in rows:
        debit, credit = found.get(row.debit, (ZERO, ZERO))
        found[row.debit] = (debit + row.amount, credit)
        debit, credit = found.get(row.credit, (ZERO, ZERO))
        found[row.credit] = (debit, credit + row.amount)

    return dict(sorted(found.items()))
