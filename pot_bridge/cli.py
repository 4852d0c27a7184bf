"""The `pot-bridge` command: the daemon, each of its steps by hand, and the demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import structlog
from sqlalchemy import func, select

from pot_bridge import log as logging_setup
from pot_bridge import outbox, problems
from pot_bridge.bridge import Bridge
from pot_bridge.config import Settings, load
from pot_bridge.errors import ConfigError, PotBridgeError
from pot_bridge.store.schema import Order, Round, SyncCursor

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
        print(f"{config_path}: fine, {len(settings.coops)} coop(s)")
        return 0

    bridge = Bridge(settings)
    try:
        if args.command in ("close-round", "send", "status"):
            # A command killed mid-send leaves its mail "sending"; say so now.
            bridge.recover()
        return _dispatch(args, bridge)
    except (PotBridgeError, LookupError, ValueError) as exc:
        print(f"pot-bridge: {exc}", file=sys.stderr)
        return 1
    finally:
        bridge.dispose()


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
    if args.command in ("resend", "mark-sent"):
        with bridge.sessions.begin() as session:
            action = outbox.resend if args.command == "resend" else outbox.mark_sent
            action(session, args.message, bridge.clock())
        print(f"message {args.message}: {args.command} done")
        return 0
    raise AssertionError(args.command)


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
    return "\n".join(lines)


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
    demo = commands.add_parser("demo", help="one run on the sandbox shop, mail to disk")
    demo.add_argument("--state-dir", default="var/demo")
    demo.add_argument("--keep-running", action="store_true")
    return parser


if __name__ == "__main__":
    sys.exit(main())
