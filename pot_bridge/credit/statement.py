"""A member's statement of account for a period, as PDF and as CSV.

The statement is read from the ledger: the opening balance is the sum of the
member's postings before the first day, then every posting of the period with
its running balance. Days are the entries' effective days, which the ledger
keeps in the coop's wall-clock time, so a period means what the coop's
calendar says. The closing balance is opening plus the period's postings; for
a period that reaches today it is the member's balance in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer
from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig

# The CSV layout every pot-bridge file shares (UTF-8 with BOM, ";", and the
# guard against cells a spreadsheet would run as formulas).
from pot_bridge.documents import spreadsheet_cell, spreadsheet_csv
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger.accounts import member as member_account
from pot_bridge.money import format_chf, from_rappen, round_chf
from pot_bridge.pdf_layout import Cell, Story, facts, grid, render, text
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Member, Posting
from pot_bridge.wording import words

_WIDTHS = (20, 72, 44, 22, 22)


@dataclass(frozen=True)
class Contact:
    """What the store knows of a member: name and e-mail, from the shop."""

    member: int
    first_name: str
    last_name: str
    email: str

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip()


@dataclass(frozen=True)
class StatementLine:
    day: date
    text: str
    key: str
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Statement:
    """One member's postings in a period; + credits the member, − debits."""

    coop: str
    member: int
    name: str
    start: date
    end: date
    opening: Decimal
    lines: tuple[StatementLine, ...]

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening


def contacts(session: Session, coop: str, members: Iterable[int]) -> dict[int, Contact]:
    """The members' names and e-mails as last pulled from the shop, by number."""
    wanted = sorted(set(members))
    found: dict[int, Contact] = {}
    for start in range(0, len(wanted), 500):
        rows = session.scalars(
            select(Member).where(
                Member.coop == coop, Member.customer_id.in_(wanted[start : start + 500])
            )
        )
        for row in rows:
            found[row.customer_id] = Contact(
                member=row.customer_id,
                first_name=row.first_name.strip(),
                last_name=row.last_name.strip(),
                email=row.email.strip(),
            )

    return found


def statement(
    session: Session, coop: CoopConfig, member: int, start: date, end: date
) -> Statement:
    """The member's statement from `start` to `end`, both days included.

    Raises SkipItemError for a period that ends before it starts, or for a
    member the store knows neither from the shop nor from the ledger.
    """
    if end < start:
        raise SkipItemError(
            f"statement of member {member}: the period ends ({end}) before it "
            f"starts ({start})",
            coop=coop.slug,
        )
    code = member_account(member)
    account = session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.coop == coop.slug, LedgerAccount.code == code
        )
    )
    contact = contacts(session, coop.slug, [member]).get(member)
    if account is None and contact is None:
        raise SkipItemError(
            f"no member {member}: not in the store's members nor in the ledger",
            coop=coop.slug,
        )

    opening = _sum_before(session, account, start) if account else from_rappen(0)
    lines = []
    balance = opening
    for day, entry_text, key, amount in _postings(session, account, start, end):
        balance += amount
        lines.append(StatementLine(day, entry_text, key, amount, balance))

    return Statement(
        coop=coop.slug,
        member=member,
        name=contact.name if contact else "",
        start=start,
        end=end,
        opening=opening,
        lines=tuple(lines),
    )


def statement_csv(item: Statement, lang: str) -> bytes:
    """Opening balance, one row per posting, closing balance; plain numbers.

    Dates are ISO (2026-11-30), amounts 1234.50 with a point, as the other
    pot-bridge CSV files write them.
    """
    w = words(lang)
    keys = ["statement_date", "statement_text", "statement_reference"]
    head = [w[key] for key in keys] + [w["amount"], w["statement_balance"]]

    rows: list[Sequence[str]] = [head]
    opening = w["statement_opening"]
    rows.append([item.start.isoformat(), opening, "", "", _plain(item.opening)])
    for line in item.lines:
        rows.append(
            [
                line.day.isoformat(),
                spreadsheet_cell(line.text),
                spreadsheet_cell(line.key),
                _plain(line.amount),
                _plain(line.balance),
            ]
        )
    closing = w["statement_closing"]
    rows.append([item.end.isoformat(), closing, "", "", _plain(item.closing)])

    return spreadsheet_csv(rows)


def statement_pdf(item: Statement, coop: CoopConfig) -> bytes:
    """The statement to print or mail, in the coop's language."""
    w = words(coop.language)
    number = w["qr_member_no"].format(number=item.member)
    who = f"{item.name} ({number})" if item.name else number
    period = f"{_day(item.start)} – {_day(item.end)}"

    def story() -> Story:
        parts: Story = [text(coop.name, 12, bold=True)]
        parts.append(text("\n".join(_postal(coop)), 9))
        parts += [Spacer(1, 8 * mm), text(w["statement"], 14, bold=True)]
        parts.append(Spacer(1, 4 * mm))
        parts.append(
            facts(
                [
                    (w["member"], who),
                    (w["statement_period"], period),
                    (w["statement_opening"], f"{format_chf(item.opening)} CHF"),
                    (w["statement_closing"], f"{format_chf(item.closing)} CHF"),
                ]
            )
        )
        parts.append(Spacer(1, 5 * mm))
        parts.append(_table(item, w))
        if not item.lines:
            parts += [Spacer(1, 3 * mm), text(w["statement_empty"], 9)]
        return parts

    return render(
        story,
        title=f"{w['statement']} {coop.name} – {item.member}",
        author=coop.name,
        footer=f"{coop.name} · {w['statement']} · {number} · {period}",
    )


def file_name(item: Statement, ext: str) -> str:
    """statement-nord-42-2026-11-01-2026-11-30.pdf"""
    when = f"{item.start.isoformat()}-{item.end.isoformat()}"

    return f"statement-{item.coop}-{item.member}-{when}.{ext}"


def _table(item: Statement, w: Mapping[str, str]) -> Flowable:
    """Date, text, reference, amount and running balance, opening row first."""
    keys = ["statement_date", "statement_text", "statement_reference"]
    head = [w[key] for key in keys] + [w["amount"], w["statement_balance"]]

    rows: list[list[Cell]] = [
        [_day(item.start), w["statement_opening"], "", "", format_chf(item.opening)]
    ]
    for line in item.lines:
        rows.append(
            [
                _day(line.day),
                line.text,
                line.key,
                format_chf(line.amount),
                format_chf(line.balance),
            ]
        )
    foot: list[Cell] = [
        _day(item.end),
        w["statement_closing"],
        "",
        "",
        format_chf(item.closing),
    ]

    return grid(head, rows, _WIDTHS, right=[3, 4], foot=foot)


def _sum_before(session: Session, account: int, start: date) -> Decimal:
    rappen = type_coerce(Posting.amount, BigInteger)
    total = session.scalar(
        select(func.coalesce(func.sum(rappen), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_pk)
        .where(Posting.account_pk == account, JournalEntry.effective < start)
    )

    return from_rappen(int(total or 0))


def _postings(
    session: Session, account: int | None, start: date, end: date
) -> list[tuple[date, str, str, Decimal]]:
    """The account's postings in the period, in the order they took effect."""
    if account is None:
        return []

    rows = session.execute(
        select(
            JournalEntry.effective, JournalEntry.text, JournalEntry.key, Posting.amount
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_pk)
        .where(
            Posting.account_pk == account,
            JournalEntry.effective >= start,
            JournalEntry.effective <= end,
        )
        .order_by(JournalEntry.effective, JournalEntry.id)
    ).tuples()

    return list(rows)


def _postal(coop: CoopConfig) -> list[str]:
    lines = list(coop.address)
    if lines and lines[0].strip() == coop.name:
        lines.pop(0)

    return lines


def _day(day: date) -> str:
    return f"{day:%d.%m.%Y}"


def _plain(amount: Decimal) -> str:
    return f"{round_chf(amount):f}"
