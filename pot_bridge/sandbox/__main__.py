"""Serve the seeded sandbox coop in the foreground: `python -m pot_bridge.sandbox`."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime

from pot_bridge.sandbox import SandboxShop, seed_coop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pot_bridge.sandbox", description=__doc__
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    shop = SandboxShop(seed_coop(datetime.now(UTC)), host=args.host, port=args.port)
    shop.start()
    print(f"Sandbox shop: {shop.url}")
    print(f"  wc/v3 consumer key:     {shop.consumer_key}")
    print(f"  wc/v3 consumer secret:  {shop.consumer_secret}")
    print(f"  foodcoop/v1 user:       {shop.app_user}")
    print(f"  application password:   {shop.app_password}")
    print("Ctrl-C stops it.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        shop.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
