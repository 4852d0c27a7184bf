"""The credit commands for members and the bookkeeper: a member's QR-bill, a
member's statement, the journal export and the low-balance reminders.

`pot_bridge.cli` adds them with `add_parser` and hands the commands named in
`COMMANDS` to `run`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopConfig
from pot_bridge.credit import journal, qrbill, reminder, statement
from pot_bridge.errors import SkipItemError
from pot_bridge.money import format_chf, parse_decimal

COMMANDS = frozenset({"qrbill", "statement", "journal", "remind"})


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `qrbill`, `statement`, `journal` and `remind` to the commands."""
    bill = commands.add_parser(
        "qrbill", help="a member's QR-bill to top up their credit by e-banking (PDF)"
    )
    bill.add_argument("coop")
    bill.add_argument("member", type=_member_number, help="the member number")
    bill.add_argument(
        "-o", "--out", help="the PDF to write (default: qr-bill-COOP-MEMBER.pdf here)"
    )
    bill.add_argument(
        "--amount", help="a fixed amount in CHF (default: the member chooses)"
    )

    account = commands.add_parser(
        "statement", help="a member's statement of account for a period (PDF, CSV)"
    )
    account.add_argument("coop")
    account.add_argument("member", type=_member_number, help="the member number")
    _period(account)
    account.add_argument(
        "-o", "--out-dir", default=".", help="the folder to write to (default: here)"
    )

    export = commands.add_parser(
        "journal", help="all postings of a period for the bookkeeper (CSV)"
    )
    export.add_argument("coop")
    _period(export)
    export.add_argument(
        "-o", "--out", help="the CSV to write (default: journal-COOP-FROM-TO.csv here)"
    )

    remind = commands.add_parser(
        "remind", help="mail members below the low balance their QR-bill"
    )
    remind.add_argument("coop")
    remind.add_argument(
        "--no-send", action="store_true", help="queue the mails, send them later"
    )


def run(args: argparse.Namespace, bridge: Bridge) -> int:
    """Run one of `COMMANDS`; the exit status."""
    coop = bridge.settings.coop(args.coop)
    if args.command == "qrbill":
        return _qrbill(args, bridge, coop)
    if args.command == "statement":
        return _statement(args, bridge, coop)
    if args.command == "journal":
        return _journal(args, bridge, coop)
    if args.command == "remind":
        return _remind(args, bridge, coop)
    raise AssertionError(args.command)


def _qrbill(args: argparse.Namespace, bridge: Bridge, coop: CoopConfig) -> int:
    amount = None if args.amount is None else parse_decimal(args.amount)
    with bridge.sessions() as session:
        contact = statement.contacts(session, coop.slug, [args.member])
    if args.member not in contact:
        raise SkipItemError(
            f"no member {args.member} in the store: run `pot-bridge sync "
            f"{coop.slug}` first, or check the number",
            coop=coop.slug,
        )
    name = contact[args.member].name

    pdf = qrbill.qrbill_pdf(coop, args.member, name, amount)
    out = Path(args.out or qrbill.file_name(coop, args.member))
    if not _write(out, pdf):
        return 1

    bill = qrbill.member_bill(coop, args.member, name, amount)
    reference = qrbill.format_reference(bill) or "none, the message names the member"
    chosen = "chosen by the member" if amount is None else f"{format_chf(amount)} CHF"
    print(
        f"wrote the QR-bill of member {args.member} ({name or 'no name'}) to "
        f"{out.resolve()}: reference {reference}, amount {chosen}"
    )

    return 0


def _statement(args: argparse.Namespace, bridge: Bridge, coop: CoopConfig) -> int:
    with bridge.sessions() as session:
        item = statement.statement(session, coop, args.member, args.start, args.end)

    folder = Path(args.out_dir)
    written = []
    for ext, content in (
        ("pdf", statement.statement_pdf(item, coop)),
        ("csv", statement.statement_csv(item, coop.language)),
    ):
        path = folder / statement.file_name(item, ext)
        if not _write(path, content):
            return 1
        written.append(str(path.resolve()))

    print(
        f"member {item.member} ({item.name or 'no name'}), {item.start} to "
        f"{item.end}: opening {format_chf(item.opening)} CHF, "
        f"{len(item.lines)} postings, closing {format_chf(item.closing)} CHF"
    )
    print("wrote " + ", ".join(written))

    return 0


def _journal(args: argparse.Namespace, bridge: Bridge, coop: CoopConfig) -> int:
    with bridge.sessions() as session:
        rows = journal.journal(session, coop, args.start, args.end)

    out = Path(args.out or journal.file_name(coop, args.start, args.end))
    if not _write(out, journal.journal_csv(rows)):
        return 1

    entries = len({row.document for row in rows})
    print(f"wrote {len(rows)} rows of {entries} entries to {out.resolve()}")
    for number, (debit, credit) in journal.totals(rows).items():
        print(f"  {number}: debit {format_chf(debit)}, credit {format_chf(credit)} CHF")

    return 0


def _remind(args: argparse.Namespace, bridge: Bridge, coop: CoopConfig) -> int:
    if coop.credit.low_balance is None:
        print(f"{coop.slug}: no low_balance set in [coop.credit]: no reminders")
        return 0

    queued = reminder.remind(bridge.sessions, coop, bridge.clock())
    print(f"{coop.slug}: {queued} reminders queued")
    if coop.credit.mode == "plugin" and not reminder.proven_recently(
        bridge.sessions, coop, bridge.clock()
    ):
        print(
            f"{coop.slug}: the wallet was not reconciled in the last day, so no "
            f"balance is proven: run `pot-bridge reconcile {coop.slug}` first"
        )
    if args.no_send:
        return 0

    drained = bridge.drain()
    print(
        f"outbox: {drained.sent} sent, {drained.failing} failing, "
        f"{drained.failed} failed"
    )

    return 1 if drained.failed else 0


def _period(command: argparse.ArgumentParser) -> None:
    for flag, dest, text in (
        ("--from", "start", "the first day, e.g. 2026-11-01"),
        ("--to", "end", "the last day, included, e.g. 2026-11-30"),
    ):
        command.add_argument(
            flag, dest=dest, type=date.fromisoformat, required=True, help=text
        )


def _member_number(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a member number: {value!r}")

    return int(value)


def _write(path: Path, content: bytes) -> bool:
    try:
        path.write_bytes(content)
    except OSError as exc:
        print(f"pot-bridge: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return False

    return True
