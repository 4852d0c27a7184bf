"""The accounts of a coop's credit ledger, named by stable codes.

Each member has one credit account, `member:<id>` with the WordPress user id
(the member number the POT plugin's wallet uses). The coop's own accounts are a
fixed set; their codes are stored in entries and must never be renamed.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pot_bridge.money import ZERO
from pot_bridge.store.schema import LedgerAccount

BANK = "bank"
SALES = "sales"
FEES = "fees"
CORRECTIONS = "corrections"
REFUNDS = "refunds"
COOP_ACCOUNTS = frozenset({BANK, SALES, FEES, CORRECTIONS, REFUNDS})

MEMBER_PREFIX = "member:"
MEMBER_CODE = re.compile(r"member:[1-9][0-9]*", re.ASCII)


def member(number: int) -> str:
    """The code of a member's credit account."""
    if number <= 0:
        raise ValueError(f"not a member number: {number}")

    return f"{MEMBER_PREFIX}{number}"


def member_id(code: str) -> int | None:
    """The member number in a member account's code; None for a coop account."""
    if not code.startswith(MEMBER_PREFIX):
        return None

    return int(code.removeprefix(MEMBER_PREFIX))


def check_code(code: str) -> str:
    """Return `code` if it names an account, else raise: a wrong code is a bug."""
    if code in COOP_ACCOUNTS or MEMBER_CODE.fullmatch(code):
        return code
    raise ValueError(f"unknown ledger account {code!r}")


def find(session: Session, coop: str, code: str) -> LedgerAccount | None:
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.coop == coop, LedgerAccount.code == code
        )
    ).one_or_none()


def open_account(
    session: Session, coop: str, code: str, now: datetime
) -> LedgerAccount:
    """The account, opened with a zero balance on its first use.

    Two sessions may open the same account at once; the loser of the unique
    constraint takes the winner's row instead of failing.
    """
    account = find(session, coop, check_code(code))
    if account is not None:
        return account

    try:
        with session.begin_nested():
            account = LedgerAccount(coop=coop, code=code, balance=ZERO, opened_at=now)
            session.add(account)
    except IntegrityError:
        account = find(session, coop, code)
        if account is None:
            raise

    return account
