"""The mark the bridge leaves in the text of every wallet row it writes.

The plugin's wallet keeps no id of ours, only `details`. Ending that text with
`[pot-bridge <key>]`, where `key` is the ledger entry's idempotency key, lets a
later read tell the bridge's own rows from everyone else's, match each to its
entry, and find after a crash whether a write reached the shop.
"""

from __future__ import annotations

import re

_MARK = re.compile(r"\[pot-bridge (?P<key>[^\]\s]{1,200})\]\s*$")


def mark(details: str, key: str) -> str:
    """`details` with the mark of `key` at its end."""
    if not key or any(c.isspace() or c == "]" for c in key):
        raise ValueError(f"a marked key has no spaces or ']': {key!r}")

    return f"{details} [pot-bridge {key}]" if details else f"[pot-bridge {key}]"


def key_in(details: str) -> str | None:
    """The key marked at the end of a wallet row's text; None for rows of others."""
    found = _MARK.search(details)

    return found["key"] if found else None
