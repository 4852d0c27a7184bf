"""Ledger entries written as the bookkeeper reads them, for the tests.

    2026-12-01 top_up bank:2026-12-01:1 "Einzahlung Bank"
      bank      -100.00
      member:5   100.00

A header line (effective day, kind, key, text) and its postings (account, CHF,
+ credit, − debit) indented below it.
"""

from __future__ import annotations

import shlex
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from pot_bridge.ledger import EntryKind, book
from pot_bridge.store.schema import JournalEntry

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def parse(
    text: str,
) -> list[tuple[date, EntryKind, str, str, list[tuple[str, Decimal]]]]:
    entries: list[tuple[date, EntryKind, str, str, list[tuple[str, Decimal]]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            account, amount = line.split()
            entries[-1][4].append((account, Decimal(amount)))
            continue
        day, kind, key, words = shlex.split(line)
        entries.append((date.fromisoformat(day), EntryKind(kind), key, words, []))

    return entries


def book_all(
    session: Session, coop: str, text: str, when: datetime = NOW
) -> list[JournalEntry]:
    """Book every entry of `text` in order."""
    return [
        book(session, coop, key, kind, words, postings, when, effective=day)
        for day, kind, key, words, postings in parse(text)
    ]
