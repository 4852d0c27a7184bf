"""`pot-bridge topup …`: bank files in by hand, and the review queue.

`import` reads camt files and books what matches; `review` lists what waits
for an admin, who then `assign`s it to a member or `ignore`s it. After a
booking the coop's wallet rows are written to the shop at once (plugin mode);
whatever the shop does not take waits for the next run or `topup retry`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import structlog
from sqlalchemy.exc import OperationalError

from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopConfig
from pot_bridge.credit import review, topup, wallet_write
from pot_bridge.errors import PotBridgeError, SkipItemError
from pot_bridge.money import format_chf
from pot_bridge.shop.plugin import PluginClient
from pot_bridge.store.schema import BankCredit

log = structlog.get_logger(__name__)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `topup` and its steps to the `pot-bridge` subcommands."""
    parser = commands.add_parser(
        "topup", help="bank top-ups: import camt files, review what did not match"
    )
    steps = parser.add_subparsers(dest="topup_command", required=True)

    read = steps.add_parser("import", help="read camt.053/054 files and book top-ups")
    read.add_argument("coop")
    read.add_argument("files", nargs="+", metavar="FILE")

    steps.add_parser(
        "review", help="list the credits waiting for a decision"
    ).add_argument("coop")

    assign = steps.add_parser("assign", help="book a waiting credit to a member")
    assign.add_argument("coop")
    assign.add_argument("credit", type=int, metavar="ID", help="the credit's number")
    assign.add_argument("member", type=int, help="the member number (user id)")
    assign.add_argument("--note", default="", help="why, for the record")

    ignore = steps.add_parser("ignore", help="set a waiting credit aside (no top-up)")
    ignore.add_argument("coop")
    ignore.add_argument("credit", type=int, metavar="ID", help="the credit's number")
    ignore.add_argument("--note", required=True, help="why it is no top-up")

    steps.add_parser(
        "retry", help="write the wallet rows that failed (e.g. after wp-admin opened)"
    ).add_argument("coop")


def run(args: argparse.Namespace, bridge: Bridge) -> int:
    """Run one `topup` step; 0 when everything went through."""
    coop = bridge.settings.coop(args.coop)
    step = args.topup_command
    if step == "import":
        return _import(coop, args.files, bridge)
    if step == "review":
        return _review(coop, bridge)
    if step == "assign":
        with bridge.sessions.begin() as session:
            credit = review.assign(
                session, coop, args.credit, args.member, args.note, bridge.clock()
            )
            print(
                f"bank credit {credit.id}: {format_chf(credit.amount)} CHF booked to "
                f"member {credit.member} ({credit.entry_key})"
            )
        return _flush(coop, bridge)
    if step == "ignore":
        with bridge.sessions.begin() as session:
            credit = review.ignore(
                session, coop, args.credit, args.note, bridge.clock()
            )
            print(
                f"bank credit {credit.id}: ignored ({_printable(credit.resolved_note)})"
            )
        return 0
    if step == "retry":
        with bridge.sessions.begin() as session:
            queued = wallet_write.retry_failed(session, coop.slug, bridge.clock())
        print(f"{queued} failed wallet row(s) queued again")
        return _flush(coop, bridge)
    raise AssertionError(step)


def _import(coop: CoopConfig, files: list[str], bridge: Bridge) -> int:
    failed = 0
    for name in files:
        path = Path(name)
        try:
            data = path.read_bytes()
            imported = topup.import_file(
                bridge.sessions, coop, data, str(path), bridge.clock()
            )
        except OSError as exc:
            print(f"{name}: cannot be read: {exc.strerror}")
            failed += 1
            continue
        except SkipItemError as exc:
            print(f"{name}: not read: {exc.message}")
            failed += 1
            continue
        except OperationalError:
            raise  # the store is down: nothing else can be read either
        except Exception as exc:  # a bug met on one file must not stop the others
            log.exception("topup.file_crashed", coop=coop.slug, file=name)
            print(
                f"{name}: the bridge failed on it ({type(exc).__name__}); it may be "
                "read in part, the log has the details"
            )
            failed += 1
            continue
        _print_imported(name, imported)
        failed += bool(imported.problems) or bool(imported.count(topup.CONFLICT))

    flushed = _flush(coop, bridge)
    return 1 if failed or flushed else 0


def _print_imported(name: str, imported: topup.Imported) -> None:
    print(
        f"{name}: {imported.kind} of {imported.iban}, "
        f"{len(imported.outcomes)} credit(s): {imported.count(topup.BOOKED)} "
        f"booked, {imported.count(topup.REVIEW)} for review, "
        f"{imported.count(topup.KNOWN)} read before, "
        f"{imported.count(topup.CONFLICT)} in conflict with a credit read before"
    )
    for outcome in imported.outcomes:
        amount = f"{format_chf(outcome.amount)} {outcome.currency}"
        if outcome.status == topup.BOOKED:
            print(f"  booked  #{outcome.credit_id} {amount} to member {outcome.member}")
        elif outcome.status == topup.REVIEW:
            print(
                f"  review  #{outcome.credit_id} {amount}: {_printable(outcome.reason)}"
            )
        elif outcome.status == topup.CONFLICT:
            print(f"  conflict  {_printable(outcome.reason)}")
    for problem in imported.problems:
        print(f"  not read: {_printable(problem)}")


def _review(coop: CoopConfig, bridge: Bridge) -> int:
    with bridge.sessions() as session:
        waiting = review.pending(session, coop)
        if not waiting:
            print(f"{coop.slug}: no bank credit waits for review")
            return 0
        print(f"{coop.slug}: {len(waiting)} bank credit(s) wait for review")
        for credit in waiting:
            print("\n".join(_credit_lines(credit)))
    print(
        f"assign: pot-bridge topup assign {coop.slug} ID MEMBER --note '…'\n"
        f"ignore: pot-bridge topup ignore {coop.slug} ID --note '…'"
    )
    return 0


def _credit_lines(credit: BankCredit) -> list[str]:
    day = f"{credit.booked_on:%d.%m.%Y}" if credit.booked_on else "no date"
    amount = f"{format_chf(credit.amount)} {credit.currency}"
    lines = [
        f"#{credit.id}  {day}  {amount}  {credit.debtor or '(no debtor)'}",
        f"    reference: {credit.reference or '-'}",
        f"    message:   {credit.message or '-'}",
        f"    reason:    {credit.reason}",
    ]
    if credit.member is not None:
        lines.append(f"    member named: {credit.member}")
    lines.append(f"    bank ref:  {credit.bank_ref} ({credit.source})")

    return [_printable(line) for line in lines]


def _flush(coop: CoopConfig, bridge: Bridge) -> int:
    """Write the coop's queued wallet rows now; 1 if any failed."""
    if coop.credit.mode != "plugin":
        return 0
    try:
        flushed = wallet_write.flush(
            bridge.sessions, coop, PluginClient(bridge.client(coop)), bridge.clock()
        )
    except PotBridgeError as exc:
        print(
            f"wallet rows: not written now ({exc.message}); they wait for the next run"
        )
        return 1

    for line in flushed.report():
        print(line)

    return 1 if flushed.failed else 0


def _printable(text: str) -> str:
    """Text from bank files must not forge lines of its own on the terminal."""
    return "".join(c if c.isprintable() else " " for c in text)
