"""The `pot-bridge` command: the daemon, each of its steps by hand, and the demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import structlog
from sqlalchemy import func, select

from pot_bridge import cli_credit, cli_reconcile, cli_topup, delivery, outbox, problems
from pot_bridge import log as logging_setup
from pot_bridge.bridge import Bridge
from pot_bridge.catalog.labels import labels_pdf, sheets
from pot_bridge.catalog.snapshot import problems_of
from pot_bridge.catalog.table import plan_table, push_report
from pot_bridge.config import Settings, load
from pot_bridge.errors import ConfigError, PotBridgeError
from pot_bridge.store.schema import GroupOrder, Order, Round, ShopRefund, SyncCursor

DEFAULT_CONFIG = Path("/etc/pot-bridge/config.toml")
log = structlog.get_logger(__name__)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from pot_bridge.demo import run_demo

        logging_setup.configure("console" if sys.stderr.isatty() else "json", "info")
        return run_demo(Path(args.state_dir), keep_running=args.keep_running)

    config_path = _config_path(args.config)
    if config_path is None:
        if args.command == "run":
            from pot_bridge.demo import run_demo

            logging_setup.configure("auto", "info")
            print("No configuration found: running on the sandbox shop (see README).")
            return run_demo(Path("var/sandbox"), keep_running=True)
        print(
            "pot-bridge: no configuration file: give --config or set POT_BRIDGE_CONFIG",
            file=sys.stderr,
        )
        return 2

    try:
        settings = load(config_path)
    except ConfigError as exc:
        print(f"pot-bridge: {exc}", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_format, settings.log_level)
    if args.command == "check-config":
        problem = _qr_bill_problem(settings)
        if problem:
            print(f"pot-bridge: {config_path}: {problem}", file=sys.stderr)
            return 2
        print(f"{config_path}: fine, {len(settings.coops)} coop(s)")
        return 0

    bridge = Bridge(settings)
    try:
        if args.command in ("close-round", "send", "status", "remind"):
            # A command killed mid-send leaves its mail "sending"; say so now.
            bridge.recover()
        return _dispatch(args, bridge)
    except (PotBridgeError, LookupError, ValueError) as exc:
        print(f"pot-bridge: {exc}", file=sys.stderr)
        return 1
    finally:
        bridge.dispose()


def _qr_bill_problem(settings: Settings) -> str | None:
    """What keeps a coop with an IBAN from printing QR-bills (its address,
    its name), found now rather than at the first reminder."""
    from pot_bridge.credit.qrbill import member_bill

    for coop in settings.coops:
        if coop.credit.iban is None:
            continue
        try:
            member_bill(coop, 1)
        except ConfigError as exc:
            return str(exc)
    return None


def _dispatch(args: argparse.Namespace, bridge: Bridge) -> int:
    if args.command == "run":
        from pot_bridge.daemon import Daemon

        Daemon(bridge).run_until_signal()
        return 0
    if args.command == "sync":
        failed = 0
        for slug in _slugs(args, bridge.settings):
            result = bridge.poll(slug) if args.close else None
            if result is None:
                synced = bridge.sync(slug)
                print(
                    f"{slug}: {synced.orders_seen} orders seen, "
                    f"{synced.orders_changed} changed, {synced.refunds_seen} "
                    f"refunds, {len(synced.skipped)} skipped"
                )
            elif result.error:
                failed += 1
                print(f"{slug}: failed: {result.error}")
        return 1 if failed else 0
    if args.command == "close-round":
        if not args.no_sync:
            bridge.sync(args.coop)
        for closed in bridge.close(args.coop, args.round):
            print(
                f"{args.coop} {closed.round_key}: {closed.group_orders} group "
                f"orders, {closed.mails_queued} mails queued"
                + (" (closed long ago: no mail)" if closed.historic else "")
                + (" (closed before: nothing new)" if closed.already else "")
            )
        bridge.consolidate()
        pushed = bridge.push_refunds(args.coop)
        if pushed.created or pushed.failed or pushed.pending:
            print(
                f"refunds in the shop: {pushed.created} created, {pushed.failed} "
                f"failed, {pushed.pending} pending"
            )
        drained = bridge.drain()
        print(
            f"outbox: {drained.sent} sent, {drained.failing} failing, "
            f"{drained.failed} failed"
        )
        return 1 if drained.failed else 0
    if args.command == "send":
        drained = bridge.drain()
        print(
            f"outbox: {drained.sent} sent, {drained.failing} failing, "
            f"{drained.failed} failed"
        )
        return 0
    if args.command == "status":
        print(status_text(bridge))
        return 0
    if args.command == "group-order":
        return _group_order(args, bridge)
    if args.command == "delivered":
        return _delivered(args, bridge)
    if args.command in ("resend", "mark-sent"):
        with bridge.sessions.begin() as session:
            action = outbox.resend if args.command == "resend" else outbox.mark_sent
            action(session, args.message, bridge.clock())
        print(f"message {args.message}: {args.command} done")
        return 0
    if args.command == "catalog":
        return _catalog(args, bridge)
    if args.command == "topup":
        return cli_topup.run(args, bridge)
    if args.command == "reconcile":
        return cli_reconcile.run(args, bridge)
    if args.command in cli_credit.COMMANDS:
        return cli_credit.run(args, bridge)
    raise AssertionError(args.command)


def _group_order(args: argparse.Namespace, bridge: Bridge) -> int:
    """An admin's hand on one producer's group order of a closed round."""
    if args.action == "resend":
        number = bridge.resend_order(args.coop, args.round, args.producer)
        print(f"{args.producer}: group order queued again (resend {number})")
    else:
        status = bridge.decide(args.coop, args.round, args.producer, args.action)
        print(f"{args.producer}: group order {status}")
    if not args.no_send:
        drained = bridge.drain()
        print(f"outbox: {drained.sent} sent, {drained.failing} failing")
    bridge.push_refunds(args.coop)
    return 0


def _delivered(args: argparse.Namespace, bridge: Bridge) -> int:
    """What a producer really delivered, so members who get less are refunded."""
    amounts = delivery.parse_pairs(args.quantities)
    if args.csv:
        amounts.update(delivery.read_csv(Path(args.csv)))
    if not amounts:
        print("pot-bridge: give SKU=QUANTITY pairs or --csv FILE", file=sys.stderr)
        return 2
    entered = bridge.enter_delivery(args.coop, args.round, args.producer, amounts)
    for line in entered.matched:
        print(f"  delivered: {line}")
    pushed = bridge.push_refunds(args.coop)
    print(
        f"{args.producer}: {entered.products} product(s) entered, "
        f"{entered.corrected.refunds_planned} refund(s) planned; "
        f"shop: {pushed.created} created, {pushed.failed} failed, "
        f"{pushed.pending} pending"
    )
    return 1 if pushed.failed else 0


def _catalog(args: argparse.Namespace, bridge: Bridge) -> int:
    """The central catalog: read it, or show and push what a coop's shop needs."""
    if args.catalog_command == "fetch":
        refreshed = bridge.catalog_refresh()
        snapshot = refreshed.snapshot
        if snapshot is None:
            print("catalog: nothing stored yet (the source sent no catalog)")
            return 1
        print(
            f"catalog version {snapshot.id} ({refreshed.outcome}): "
            f"{len(snapshot.producers)} producers, {len(snapshot.products)} "
            f"products, {len(snapshot.problems)} problems"
        )
        for problem in problems_of(snapshot):
            print(f"  {problem}")
        return 0
    if args.catalog_command == "diff":
        print(plan_table(bridge.catalog_plan(args.coop)))
        return 0
    if args.catalog_command == "labels":
        return _labels(args, bridge)
    plan, pushed = bridge.catalog_push(args.coop)
    print(plan_table(plan))
    print(push_report(pushed))
    return 1 if pushed.failed or pushed.error else 0


def _labels(args: argparse.Namespace, bridge: Bridge) -> int:
    """Shelf labels of what the coop carries, as a PDF to print."""
    coop = bridge.settings.coop(args.coop)
    labels = bridge.catalog_labels(coop.slug)
    if not labels:
        print(
            f"pot-bridge: coop {coop.slug!r} carries no available product: "
            "no labels written",
            file=sys.stderr,
        )
        return 1

    out = Path(args.out or f"labels-{coop.slug}.pdf")
    try:
        out.write_bytes(labels_pdf(labels, coop, coop.language))
    except OSError as exc:
        print(f"pot-bridge: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    pages = sheets(len(labels))
    print(
        f"wrote {len(labels)} labels to {out.resolve()} "
        f"({pages} A4 {'sheet' if pages == 1 else 'sheets'} of 24)"
    )

    return 0


def status_text(bridge: Bridge) -> str:
    """What an admin wants to see at a glance, per coop."""
    now = bridge.clock()
    lines = []
    with bridge.sessions() as session:
        for coop in bridge.settings.coops:
            lines.append(f"{coop.slug} ({coop.name})")
            for cursor in session.scalars(
                select(SyncCursor).where(SyncCursor.coop == coop.slug)
            ):
                lines.append(
                    f"  pulled {cursor.stream} up to "
                    f"{cursor.cursor_gmt:%Y-%m-%d %H:%M} UTC"
                )
            orders = session.scalar(
                select(func.count()).select_from(Order).where(Order.coop == coop.slug)
            )
            lines.append(f"  orders in store: {orders}")
            for round_ in session.scalars(
                select(Round)
                .where(Round.coop == coop.slug)
                .order_by(Round.closes_at.desc())
                .limit(5)
            ):
                state = (
                    "closed"
                    if round_.closed_at
                    else "due"
                    if round_.closes_at <= now
                    else "open"
                )
                closes = round_.closes_at.astimezone(coop.zone)
                lines.append(
                    f"  round {round_.key} {round_.name!r}: {state}, "
                    f"deadline {closes:%Y-%m-%d %H:%M}"
                )
            for row, round_key in session.execute(
                select(GroupOrder, Round.key)
                .join(Round)
                .where(Round.coop == coop.slug, GroupOrder.status == "held")
            ):
                lines.append(
                    f"  held below minimum: {row.producer} in {round_key} "
                    f"({row.total} CHF): `pot-bridge group-order release|cancel "
                    f"{coop.slug} {round_key} '{row.producer}'`"
                )
            # a Result has .keys(), so dict() would take it for a mapping
            refunds = dict(
                list(
                    session.execute(
                        select(ShopRefund.status, func.count())
                        .where(ShopRefund.coop == coop.slug)
                        .group_by(ShopRefund.status)
                    ).tuples()
                )
            )
            if refunds:
                lines.append(
                    "  refunds for what members did not get: "
                    + ", ".join(f"{n} {state}" for state, n in sorted(refunds.items()))
                )
            for problem in problems.open_problems(session, coop.slug):
                lines.append(f"  problem [{problem.kind}] {problem.message}")
        lines.append(
            "outbox: "
            + ", ".join(
                f"{count} {state}"
                for state, count in sorted(outbox.summary(session).items())
            )
        )
        for message in outbox.list_messages(session):
            if message.status != "sent":
                lines.append(
                    f"  #{message.id} {message.status} to {message.recipient}: "
                    f"{message.subject}"
                )
                if message.last_error:
                    lines.append(f"      last error: {message.last_error}")
    # text from shops (round names, products) must not forge lines of its own
    return "\n".join(_printable(line) for line in lines)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def _slugs(args: argparse.Namespace, settings: Settings) -> list[str]:
    if args.coop:
        settings.coop(args.coop)
        return [args.coop]
    return [c.slug for c in settings.coops]


def _config_path(given: str | None) -> Path | None:
    if given:
        return Path(given)
    if os.environ.get("POT_BRIDGE_CONFIG"):
        return Path(os.environ["POT_BRIDGE_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pot-bridge",
        description="Runs food coops on their WooCommerce shops.",
    )
    parser.add_argument(
        "--config",
        help=f"the TOML file (default: $POT_BRIDGE_CONFIG or {DEFAULT_CONFIG})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run as a service (the sandbox without a config)")
    sync = commands.add_parser("sync", help="pull one coop's shop, or all")
    sync.add_argument("coop", nargs="?")
    sync.add_argument("--close", action="store_true", help="also close due rounds")
    close = commands.add_parser("close-round", help="close due rounds, or one round")
    close.add_argument("coop")
    close.add_argument("round", nargs="?", help="a round key, e.g. plugin:130")
    close.add_argument("--no-sync", action="store_true")
    commands.add_parser("send", help="send what the outbox holds")
    commands.add_parser("status", help="cursors, rounds, problems and the outbox")
    commands.add_parser("check-config", help="read the configuration and say if fine")
    for name, text in (
        ("resend", "send an uncertain or failed mail again"),
        ("mark-sent", "mark an uncertain mail as delivered"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("message", type=int, help="the outbox number (#N)")
    group_order = commands.add_parser(
        "group-order", help="release, cancel or resend a producer's group order"
    )
    group_order.add_argument("action", choices=["release", "cancel", "resend"])
    group_order.add_argument("coop")
    group_order.add_argument("round", help="a round key, e.g. plugin:130")
    group_order.add_argument("producer", help="the producer's name (_lieferant)")
    group_order.add_argument("--no-send", action="store_true")
    delivered = commands.add_parser(
        "delivered", help="enter what a producer really delivered (short delivery)"
    )
    delivered.add_argument("coop")
    delivered.add_argument("round", help="a round key, e.g. plugin:130")
    delivered.add_argument("producer", help="the producer's name (_lieferant)")
    delivered.add_argument(
        "quantities", nargs="*", help="SKU=QUANTITY (or POT ID / product id)"
    )
    delivered.add_argument("--csv", help="a CSV with columns sku and delivered")
    catalog = commands.add_parser(
        "catalog", help="the central catalog and what each coop's shop carries"
    )
    steps = catalog.add_subparsers(dest="catalog_command", required=True)
    steps.add_parser("fetch", help="read the central catalog now (feed or sheet)")
    for name, text in (
        ("diff", "show what a push would change in the coop's shop"),
        ("push", "write the changes to the coop's shop"),
    ):
        steps.add_parser(name, help=text).add_argument("coop")
    labels = steps.add_parser(
        "labels", help="a PDF of shelf labels with QR codes, 24 to an A4 sheet"
    )
    labels.add_argument("coop")
    labels.add_argument(
        "--out", help="the PDF to write (default: labels-COOP.pdf in this folder)"
    )
    cli_topup.add_parser(commands)
    cli_reconcile.add_parser(commands)
    cli_credit.add_parser(commands)
    demo = commands.add_parser("demo", help="one run on the sandbox shop, mail to disk")
    demo.add_argument("--state-dir", default="var/demo")
    demo.add_argument("--keep-running", action="store_true")
    return parser


if __name__ == "__main__":
    sys.exit(main())
