"""`pot-bridge reconcile`: the credit reconciliation by hand (the service runs it
nightly, see `Bridge.nightly`).

Without `--apply` it runs a reconciliation and prints the findings and the
corrections proposed. With `--apply` it runs nothing new: it shows the
proposals of the coop's newest run, asks for a yes (unless `--yes`), books
them and writes their wallet rows to the shop. Nothing is corrected without
that yes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from pot_bridge.config import CoopConfig
from pot_bridge.credit import correct, wallet_write
from pot_bridge.credit.reconcile import newest_run
from pot_bridge.errors import PotBridgeError
from pot_bridge.money import format_chf
from pot_bridge.shop.plugin import PluginClient
from pot_bridge.store.schema import Reconciliation, ReconciliationFinding

if TYPE_CHECKING:
    from pot_bridge.bridge import Bridge

log = structlog.get_logger(__name__)

Ask = Callable[[str], str]
YES = frozenset({"y", "yes", "j", "ja", "o", "oui"})


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The `reconcile` subcommand on the main parser's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "reconcile",
        help="compare members' credit in the ledger with the shop; --apply "
        "books the corrections proposed",
    )
    parser.add_argument("coop", nargs="?", help="one coop (default: every coop)")
    parser.add_argument(
        "--apply",
        action="store_true",
        help="book the proposals of the coop's newest run (asks first)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="with --apply: do not ask for a yes"
    )
    parser.add_argument(
        "--skip",
        type=int,
        action="append",
        default=[],
        metavar="FINDING",
        help="with --apply: leave this finding's proposal out (repeatable)",
    )
    return parser


def run(args: argparse.Namespace, bridge: Bridge, ask: Ask = input) -> int:
    """Run the command; 0 when done, 1 when a coop failed or nothing was booked."""
    if args.apply:
        if not args.coop:
            print("pot-bridge: --apply needs the coop", file=sys.stderr)
            return 2
        return apply_newest(bridge, bridge.settings.coop(args.coop), args, ask)

    slugs = [args.coop] if args.coop else [c.slug for c in bridge.settings.coops]
    failed = 0
    for slug in slugs:
        coop = bridge.settings.coop(slug)
        try:
            done = bridge.reconcile(slug)
        except PotBridgeError as exc:
            print(f"{slug}: failed: {exc}")
            failed += 1
            continue
        print("\n".join(describe(coop, done)))

    return 1 if failed else 0


def apply_newest(
    bridge: Bridge, coop: CoopConfig, args: argparse.Namespace, ask: Ask
) -> int:
    """Show the newest run's proposals, ask, book them, write the wallet rows."""
    with bridge.sessions() as session:
        done = newest_run(session, coop.slug)
    if done is None:
        print(
            f"{coop.slug}: no reconciliation yet: run `pot-bridge reconcile "
            f"{coop.slug}` first"
        )
        return 1
    proposed = correct.proposals(done)
    if not proposed:
        print(f"{coop.slug}: run {done.id} proposes nothing to book")
        return 0

    print(f"{coop.slug}: run {done.id} of {_when(coop, done)} proposes:")
    print("\n".join(_lines(proposed, skip=set(args.skip))))
    if not args.yes and not _confirmed(ask):
        print("nothing booked")
        return 1

    applied = correct.apply(
        bridge.sessions, coop, done.id, bridge.clock(), skip=args.skip
    )
    print(
        f"{coop.slug}: {applied.booked} correction(s) booked "
        f"({_signed(applied.total)} CHF), {applied.declined} left out"
    )
    if coop.credit.mode != "plugin" or not applied.booked:
        return 0

    flushed = wallet_write.flush(
        bridge.sessions, coop, PluginClient(bridge.client(coop)), bridge.clock()
    )
    for line in flushed.report():
        print(line)

    return 1 if flushed.failed else 0


def describe(coop: CoopConfig, done: Reconciliation) -> list[str]:
    """The run as an admin reads it at the terminal."""
    head = (
        f"{coop.slug}: run {done.id} of {_when(coop, done)}: {done.members} members, "
        f"{done.wallet_rows} wallet rows, {len(done.findings)} finding(s)"
    )
    lines = [head]
    for finding in done.findings:
        who = "" if finding.member is None else f"member {finding.member}: "
        amount = "" if finding.amount is None else f" [{_signed(finding.amount)}]"
        lines.append(
            _printable(f"  #{finding.id} {finding.kind}{amount} {who}{finding.detail}")
        )

    proposed = correct.proposals(done)
    if proposed:
        lines.append("proposed corrections (+ credits the member):")
        lines.extend(_lines(proposed))
        lines.append(
            f"to book them: pot-bridge reconcile {coop.slug} --apply "
            "(asks first; --skip FINDING leaves one out)"
        )

    return lines


def _confirmed(ask: Ask) -> bool:
    """A yes typed at the prompt; no answer (stdin closed) is a no."""
    try:
        answer = ask("Book these corrections? [y/N] ")
    except EOFError:
        return False

    return answer.strip().lower() in YES


def _lines(
    proposed: Iterable[ReconciliationFinding], skip: set[int] | None = None
) -> list[str]:
    lines = []
    for f in proposed:
        left_out = " (left out: --skip)" if skip and f.id in skip else ""
        where = f"row {f.row_id}" if f.row_id is not None else f"order {f.order_id}"
        lines.append(
            f"  #{f.id} member {f.member} {_signed(f.correction)} CHF "
            f"({f.kind}, {where}){left_out}"
        )

    return lines


def _when(coop: CoopConfig, done: Reconciliation) -> str:
    return f"{done.ran_at.astimezone(coop.zone):%Y-%m-%d %H:%M}"


def _signed(amount: Decimal | None) -> str:
    if amount is None:
        return ""

    return ("+" if amount > 0 else "") + format_chf(amount)


def _printable(text: str) -> str:
    """Shop text (row details) must not forge terminal lines of its own."""
    return "".join(c if c.isprintable() else " " for c in text)
