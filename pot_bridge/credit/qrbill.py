"""Swiss QR-bills with which a member tops up their credit by e-banking.

The bill follows SIX's Swiss Implementation Guidelines for the QR-bill 2.x: the
payload is the "Swiss Payments Code" text, its lines in the order the
guidelines fix (`qrbill_payload`), and the PDF is an A4 page with a short text
on what it is for, and the receipt (62 mm) and payment part (148 mm), 105 mm
tall, at its foot, so it can be printed on plain paper and cut off
(`qrbill_pdf`).

The member is named three ways, so a bank credit finds its member whichever
part of the bill the payer's bank passes on: the structured reference (QRR on
a QR-IBAN, else an RF creditor reference, see `pot_bridge.bank.reference`), and
the plugin's own unstructured message ``TopUp <First Last> (<member>)``. A
coop with a normal IBAN and no reference prefix gets bills without reference
(type NON); the message alone then names the member.

The amount is left empty unless given: the member chooses how much to load.
The payer ("Payable by") is left for the member to fill in: the guidelines
want a postal code and town with a name there, and the store knows members'
names only. Text outside the QR-bill's character set (Latin, Latin-1, Latin
Extended-A, Ș ș Ț ț €) is replaced, not refused, since it mostly comes from
members' names (`qrbill_address`).
"""

from __future__ import annotations

from decimal import Decimal

from pot_bridge.bank.reference import is_qr_iban, make_member_scor, make_qrr
from pot_bridge.config import CoopConfig
from pot_bridge.credit.qrbill_address import (
    Address,
    checked_debtor,
    coop_address,
    latin,
)
from pot_bridge.credit.qrbill_payload import (
    Bill,
    ReferenceType,
    format_amount,
    format_iban,
    format_reference,
    payload,
)
from pot_bridge.credit.qrbill_pdf import (
    BILL_BOLD,
    BILL_FONT,
    BILL_HEIGHT,
    CROSS_SIZE,
    EDGE,
    PAYMENT_WIDTH,
    QR_SIZE,
    RECEIPT_WIDTH,
    bill_page,
    qr_code,
)
from pot_bridge.errors import ConfigError, SkipItemError
from pot_bridge.money import CENT, parse_decimal, round_chf

# Public names, including those now kept in `qrbill_address`, `qrbill_payload`
# and `qrbill_pdf`.
__all__ = [
    "AMOUNT_MAX",
    "BILL_BOLD",
    "BILL_FONT",
    "BILL_HEIGHT",
    "CROSS_SIZE",
    "EDGE",
    "MESSAGE_NAME_MAX",
    "PAYMENT_WIDTH",
    "QR_SIZE",
    "RECEIPT_WIDTH",
    "Address",
    "Bill",
    "ReferenceType",
    "coop_address",
    "file_name",
    "format_amount",
    "format_iban",
    "format_reference",
    "latin",
    "member_bill",
    "payload",
    "qr_code",
    "qrbill_pdf",
    "topup_message",
]

AMOUNT_MAX = Decimal("999999999.99")
# The name in the message is cut here: the message (at most 140 characters)
# then fits two printed lines.
MESSAGE_NAME_MAX = 50


def member_bill(
    coop: CoopConfig,
    member: int,
    name: str = "",
    amount: Decimal | None = None,
    *,
    debtor: Address | None = None,
) -> Bill:
    """The QR-bill with which `member` tops up their credit at `coop`.

    Raises ConfigError when the coop has no IBAN, no postal address the bill can
    carry, or a QR-IBAN without a reference prefix; SkipItemError when the
    member number or the amount cannot go on a bill.
    """
    credit = coop.credit
    if credit.iban is None:
        raise ConfigError(
            "no IBAN for top-ups: set [coop.credit] iban to print QR-bills",
            coop=coop.slug,
        )

    reference_type, reference = _reference(coop, member)

    return Bill(
        account=credit.iban,
        creditor=coop_address(coop),
        reference_type=reference_type,
        reference=reference,
        message=topup_message(member, name),
        amount=_checked_amount(coop, amount),
        debtor=None if debtor is None else checked_debtor(coop, debtor),
    )


def topup_message(member: int, name: str = "") -> str:
    """``TopUp First Last (42)``: the plugin's own QR-bill message."""
    cleaned = latin(name)[:MESSAGE_NAME_MAX].strip()
    who = f"{cleaned} " if cleaned else ""

    return f"TopUp {who}({member})"


def qrbill_pdf(
    coop: CoopConfig, member: int, name: str = "", amount: Decimal | None = None
) -> bytes:
    """One A4 page: what the bill is for, and the QR-bill at its foot.

    The same member and amount give the same bytes.
    """
    return bill_page(coop, member, name, member_bill(coop, member, name, amount))


def file_name(coop: CoopConfig, member: int) -> str:
    return f"qr-bill-{coop.slug}-{member}.pdf"


def _checked_amount(coop: CoopConfig, amount: Decimal | None) -> Decimal | None:
    if amount is None:
        return None
    value = parse_decimal(amount)
    if value != round_chf(value) or not CENT <= value <= AMOUNT_MAX:
        raise SkipItemError(
            f"a QR-bill amount is 0.01 to {AMOUNT_MAX} CHF in whole Rappen, "
            f"not {value}",
            coop=coop.slug,
        )

    return round_chf(value)


def _reference(coop: CoopConfig, member: int) -> tuple[ReferenceType, str]:
    """Reference type and reference: QRR on a QR-IBAN, else SCOR, else none."""
    credit = coop.credit
    prefix = credit.reference_prefix
    qr_iban = credit.iban is not None and is_qr_iban(credit.iban)
    if qr_iban and not prefix:
        raise ConfigError(
            "a QR-IBAN needs QR references: set [coop.credit] reference_prefix "
            "to 1 to 16 digits",
            coop=coop.slug,
        )
    if not qr_iban and not prefix:
        return "NON", ""

    try:
        if qr_iban:
            return "QRR", make_qrr(prefix, member)
        return "SCOR", make_member_scor(prefix, member)
    except ValueError as exc:
        raise SkipItemError(f"member {member}: {exc}", coop=coop.slug) from exc
