"""What a QR-bill carries (`Bill`), as its QR code says it and as it is printed.

`payload` writes the "Swiss Payments Code" of SIX's Swiss Implementation
Guidelines for the QR-bill 2.x, its lines in the order the guidelines fix; the
`format_*` functions give the same fields in the blocks the guidelines print.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pot_bridge.credit.qrbill_address import Address

ReferenceType = Literal["QRR", "SCOR", "NON"]


@dataclass(frozen=True)
class Bill:
    """What a QR-bill carries, checked; `payload` writes it out."""

    account: str
    creditor: Address
    reference_type: ReferenceType
    reference: str
    message: str
    amount: Decimal | None = None
    debtor: Address | None = None
    currency: str = "CHF"


def payload(bill: Bill) -> str:
    """The Swiss Payments Code text of the QR code, lines joined by CR LF.

    Ultimate creditor stays empty (reserved by the guidelines), and so does
    the debtor when none is given; the trailer is "EPD", with no bill
    information or alternative procedures after it.
    """
    empty_address = [""] * 7
    lines = [
        "SPC",
        "0200",
        "1",
        bill.account,
        *bill.creditor.fields(),
        *empty_address,
        "" if bill.amount is None else f"{bill.amount:f}",
        bill.currency,
        *(bill.debtor.fields() if bill.debtor else empty_address),
        bill.reference_type,
        bill.reference,
        bill.message,
        "EPD",
    ]

    return "\r\n".join(lines)


def format_reference(bill: Bill) -> str:
    """QRR in blocks of five from the right, RF references in blocks of four."""
    ref = bill.reference
    if bill.reference_type == "QRR":
        head = len(ref) % 5
        blocks = [ref[:head]] if head else []
        blocks += [ref[i : i + 5] for i in range(head, len(ref), 5)]
        return " ".join(blocks)

    return _blocks_of_four(ref)


def format_iban(iban: str) -> str:
    return _blocks_of_four(iban)


def format_amount(amount: Decimal) -> str:
    """1 949.75: a space between thousands, as the guidelines print amounts."""
    whole, _, cents = f"{amount:.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]

    return " ".join([whole, *groups]) + "." + cents


def _blocks_of_four(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
