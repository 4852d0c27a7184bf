"""Members' credit: a double-entry, append-only ledger per coop (see `posting`)."""

from pot_bridge.ledger.balance import Finding, balance, balances, check
from pot_bridge.ledger.posting import (
    EntryKind,
    EntryRefused,
    KeyReused,
    Unbalanced,
    book,
    reverse,
)

__all__ = [
    "EntryKind",
    "EntryRefused",
    "Finding",
    "KeyReused",
    "Unbalanced",
    "balance",
    "balances",
    "book",
    "check",
    "reverse",
]
