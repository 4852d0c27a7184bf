"""Which member a bank credit is for, and why it must wait for review if it must.

A credit names its member by its QR reference (QRR on a QR-IBAN, an RF
creditor reference on a normal IBAN), else by the member number in the
plugin's QR-bill message `TopUp <name> (<id>)`. A credit is booked at once only
when nothing about it is in doubt; anything else (a reversal, a foreign
currency, a reference of another coop, two members named, a member the store
does not know, a member number no WordPress user can have) waits for an admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.bank.camt import Credit, SetAside
from pot_bridge.bank.reference import (
    is_qrr,
    is_scor,
    member_of_message,
    member_of_qrr,
    member_of_scor,
)
from pot_bridge.config import CoopConfig
from pot_bridge.store.schema import Member

HOME_CURRENCY = "CHF"  # the ledger keeps no other
# A WordPress user id, as PHP and JavaScript handle it exactly; far below the
# store's 64-bit columns, so a number from a reference never overflows a query.
MEMBER_MAX = 2**53
_QRR_SHAPE = re.compile(r"[0-9]{27}")
_SCOR_SHAPE = re.compile(r"RF[0-9]{2}[A-Z0-9]{1,21}")


@dataclass(frozen=True)
class ReadCredit:
    """A credit or reversal as read from a bank file, before its member is known."""

    bank_ref: str
    amount: Decimal
    currency: str
    booked_on: date | None
    value_on: date | None
    reference: str | None
    reference_kind: str | None
    message: str
    debtor: str
    source: str
    reversal: bool = False
    position: str = ""  # where in the file, for messages


@dataclass(frozen=True)
class Match:
    """The member found (if any), by what, and the doubt that keeps it in review."""

    member: int | None
    matched_by: str
    doubt: str = ""


def read_credit(credit: Credit, source: str) -> ReadCredit:
    return ReadCredit(
        bank_ref=credit.bank_ref,
        amount=credit.amount,
        currency=credit.currency,
        booked_on=credit.booking_date,
        value_on=credit.value_date,
        reference=credit.reference,
        reference_kind=credit.reference_kind,
        message=credit.message or "",
        debtor=credit.debtor or "",
        source=source,
        position=credit.position,
    )


def read_reversal(reversal: SetAside, source: str) -> ReadCredit:
    """A reversal of a credit takes money back: it is kept negative."""
    assert reversal.bank_ref is not None
    sign = -1 if reversal.direction == "DBIT" else 1
    return ReadCredit(
        bank_ref=reversal.bank_ref,
        amount=sign * reversal.amount,
        currency=reversal.currency,
        booked_on=reversal.booking_date,
        value_on=None,
        reference=None,
        reference_kind=None,
        message=reversal.info or "",
        debtor="",
        source=source,
        reversal=True,
        position=reversal.position,
    )


def match_credit(session: Session, coop: CoopConfig, fields: ReadCredit) -> Match:
    """The member a credit names, and why it must wait for an admin if it must."""
    by_ref, ref_kind, ref_doubt = _by_reference(
        coop, fields.reference, fields.reference_kind
    )
    by_message = member_of_message(fields.message) if not fields.reversal else None
    member = by_ref or by_message
    matched_by = ref_kind if by_ref else "message" if by_message else ""

    doubts = []
    if fields.reversal:
        doubts.append(
            "a reversal: the bank took back or returned a payment; if it takes "
            "back a top-up, assign it to that member, else ignore it"
        )
    if fields.currency != HOME_CURRENCY:
        doubts.append(f"currency {fields.currency}, not CHF")
    if fields.amount == 0:
        doubts.append("an amount of 0.00")
    if ref_doubt:
        doubts.append(ref_doubt)
    if by_ref and by_message and by_ref != by_message:
        doubts.append(
            f"the reference names member {by_ref}, the message member {by_message}"
        )
        member, matched_by = None, ""
    elif member is None and ref_doubt:
        doubts.append("the message names no member either")
    elif member is None and not fields.reversal:
        doubts.append(
            "no member found: no reference of this coop and no "
            "'TopUp <name> (<member number>)' in the message"
        )
    elif member is not None and not _is_member(session, coop.slug, member):
        doubts.append(
            f"member {member} is not a customer of the shop (not in the store; "
            "`pot-bridge sync` pulls new members)"
        )

    return Match(member, matched_by, "; ".join(doubts))


def named_member(
    coop: CoopConfig, reference: str | None, message: str | None
) -> int | None:
    """The member a credit's reference or message names, without asking the store.

    Used to tell a credit read again from a different one under the same bank
    reference; a stored credit keeps its reference and message as read.
    """
    kind = "QRR" if reference and is_qrr(reference) else None
    kind = "SCOR" if reference and not kind and is_scor(reference) else kind
    by_ref, _, _ = _by_reference(coop, reference, kind)

    return by_ref or member_of_message(message)


def _by_reference(
    coop: CoopConfig, ref: str | None, ref_kind: str | None
) -> tuple[int | None, str, str]:
    """(member, "qrr"/"scor", doubt) from the structured reference, if any."""
    if not ref:
        return None, "", ""
    prefix = coop.credit.reference_prefix
    if coop.credit.uses_qrr:
        if ref_kind == "QRR":
            found = member_of_qrr(ref, prefix)
            if found and found > MEMBER_MAX:
                return None, "", _too_large(ref, found)
            if found:
                return found, "qrr", ""
            return (
                None,
                "",
                f"QR reference {ref} is not one of this coop's {_of(prefix)}",
            )
        if _QRR_SHAPE.fullmatch(ref):
            return None, "", f"QR reference {ref} has a wrong check digit"
        return (
            None,
            "",
            f"reference {ref} is not a QR reference (the account is a QR-IBAN)",
        )

    if ref_kind == "SCOR":
        found = member_of_scor(ref, prefix)
        if found and found > MEMBER_MAX:
            return None, "", _too_large(ref, found)
        if found:
            return found, "scor", ""
        return (
            None,
            "",
            f"creditor reference {ref} is not one of this coop's {_of(prefix)}",
        )
    if _SCOR_SHAPE.fullmatch(ref):
        return None, "", f"creditor reference {ref} has wrong check digits"
    return None, "", f"reference {ref} is not an RF creditor reference"


def _too_large(ref: str, found: int) -> str:
    return (
        f"reference {ref} names member {found}, more than any member number "
        f"(at most {MEMBER_MAX})"
    )


def _of(prefix: str) -> str:
    return f"(they begin with {prefix})" if prefix else "(no reference_prefix set)"


def _is_member(session: Session, coop: str, member: int) -> bool:
    found = session.scalar(
        select(Member.id).where(Member.coop == coop, Member.customer_id == member)
    )
    return found is not None
