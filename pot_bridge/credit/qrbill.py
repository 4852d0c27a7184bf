"""Swiss QR-bills with which a member tops up their credit by e-banking.

The bill follows SIX's Swiss Implementation Guidelines for the QR-bill 2.x: the
payload (`payload`) is the "Swiss Payments Code" text, its lines in the order
the guidelines fix, and the PDF (`qrbill_pdf`) is an A4 page with a short text
on what it is for, and the receipt (62 mm) and payment part (148 mm), 105 mm
tall, at its foot, so it can be printed on plain paper and cut off.

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
members' names.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.barcode.qrencoder import QR8bitByte
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from pot_bridge.bank.reference import is_qr_iban, make_member_scor, make_qrr
from pot_bridge.config import CoopConfig
from pot_bridge.errors import ConfigError, SkipItemError
from pot_bridge.money import CENT, parse_decimal, round_chf

# The Vera fonts of every pot-bridge PDF, for the text above the bill. The bill
# is drawn at the places the guidelines fix, so not through `pdf_layout.render`.
from pot_bridge.pdf_layout import MARGIN, _register_fonts, facts, text
from pot_bridge.wording import words

ReferenceType = Literal["QRR", "SCOR", "NON"]

RECEIPT_WIDTH = 62 * mm
PAYMENT_WIDTH = 148 * mm
BILL_HEIGHT = 105 * mm
QR_SIZE = 46 * mm
CROSS_SIZE = 7 * mm
EDGE = 5 * mm  # the margin inside the receipt and the payment part
# The guidelines allow Arial, Frutiger, Helvetica and Liberation Sans only.
BILL_FONT, BILL_BOLD = "Helvetica", "Helvetica-Bold"

AMOUNT_MAX = Decimal("999999999.99")
# The name in the message is cut here: the message (at most 140 characters)
# then fits two printed lines.
MESSAGE_NAME_MAX = 50
# Field lengths of a structured address ("S") in the guidelines.
_LIMITS = {"name": 70, "street": 70, "house number": 16, "postcode": 16, "town": 35}

_SPECIAL = {0x0218, 0x0219, 0x021A, 0x021B, 0x20AC}  # Ș ș Ț ț €
_LOOKALIKE = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "…": "...",
    }
)
# Letters of Latin Extended-A that neither the fonts nor NFKD bring to Latin-1.
_UNFOLDED = str.maketrans("ĐđĦħıĸŁłŊŋŦŧ", "DdHhikLlNnTt")
_TOWN_LINE = re.compile(
    r"(?:(?P<country>CH|LI)\s*-\s*)?(?P<postcode>[0-9]{4})\s+(?P<town>\S.*)",
    re.IGNORECASE,
)
_STREET_LINE = re.compile(r"(?P<street>.*\S)\s+(?P<house>[0-9]+\s?[A-Za-z]?)")
_LIECHTENSTEIN = range(9485, 9499)


@dataclass(frozen=True)
class Address:
    """A structured address (type "S"), in the bill's character set."""

    name: str
    street: str
    house: str
    postcode: str
    town: str
    country: str = "CH"

    def fields(self) -> list[str]:
        """The seven payload lines of this address."""
        return [
            "S",
            self.name,
            self.street,
            self.house,
            self.postcode,
            self.town,
            self.country,
        ]

    def lines(self) -> list[str]:
        """The address as printed on the bill."""
        street = " ".join(part for part in (self.street, self.house) if part)
        town = f"{self.postcode} {self.town}"
        if self.country != "CH":
            town = f"{self.country}-{town}"

        return [line for line in (self.name, street, town) if line]


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
        debtor=None if debtor is None else _checked_debtor(coop, debtor),
    )


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


def topup_message(member: int, name: str = "") -> str:
    """``TopUp First Last (42)``: the plugin's own QR-bill message."""
    cleaned = latin(name)[:MESSAGE_NAME_MAX].strip()
    who = f"{cleaned} " if cleaned else ""

    return f"TopUp {who}({member})"


def coop_address(coop: CoopConfig) -> Address:
    """The coop as creditor: its name and the street and town of its address.

    The town line is the last one that starts with a four-digit postal code
    (``8400 Winterthur``, ``CH-8400 …``, ``LI-9490 …``); the line before it,
    when there is one, is the street, with the house number at its end.
    """
    name = _fitted(coop, "name", latin(coop.name))
    lines = [latin(line) for line in coop.address if latin(line)]
    if lines and lines[0] == name:
        lines.pop(0)

    towns = [i for i, line in enumerate(lines) if _TOWN_LINE.fullmatch(line)]
    if not towns:
        raise ConfigError(
            "the address needs a line with postal code and town (e.g. "
            "'8400 Winterthur') for QR-bills",
            coop=coop.slug,
        )
    found = _TOWN_LINE.fullmatch(lines[towns[-1]])
    assert found is not None
    postcode = found["postcode"]
    country = (found["country"] or "").upper()
    if not country:
        country = "LI" if int(postcode) in _LIECHTENSTEIN else "CH"

    street = house = ""
    if towns[-1] > 0:
        street_line = lines[towns[-1] - 1]
        street, house = street_line, ""
        numbered = _STREET_LINE.fullmatch(street_line)
        if numbered:
            street, house = numbered["street"], numbered["house"]

    return Address(
        name=name,
        street=_fitted(coop, "street", street),
        house=_fitted(coop, "house number", house),
        postcode=postcode,
        town=_fitted(coop, "town", found["town"]),
        country=country,
    )


def latin(value: str) -> str:
    """`value` on one line, in the QR-bill's character set.

    Letters outside it lose their accents where that brings them in (ǅ → Dz),
    typographic quotes and dashes become plain ones, line breaks and other
    controls become spaces, and whatever is left becomes "?".
    """
    plain = unicodedata.normalize("NFC", value).translate(_LOOKALIKE)
    kept = []
    for char in plain:
        if _allowed(char):
            kept.append(char)
        elif not char.isprintable() or char.isspace():
            kept.append(" ")
        else:
            folded = unicodedata.normalize("NFKD", char)
            bases = [c for c in folded if not unicodedata.combining(c)]
            fits = bases and all(_allowed(c) for c in bases)
            kept.append("".join(bases) if fits else "?")

    return " ".join("".join(kept).split())


def qr_code(bill: Bill) -> Drawing:
    """The Swiss QR Code: 46 × 46 mm, error correction M, the cross in its middle.

    The payload goes in as one byte segment of UTF-8, as the guidelines ask;
    the quiet zone is the bill's own margin around it.
    """
    data = payload(bill).encode("utf-8")
    widget = QrCodeWidget(
        [QR8bitByte(data)],
        barLevel="M",
        barWidth=QR_SIZE,
        barHeight=QR_SIZE,
        barBorder=0,
    )
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(widget)
    for shape in _swiss_cross(QR_SIZE / 2, QR_SIZE / 2):
        drawing.add(shape)

    return drawing


def qrbill_pdf(
    coop: CoopConfig, member: int, name: str = "", amount: Decimal | None = None
) -> bytes:
    """One A4 page: what the bill is for, and the QR-bill at its foot.

    The same member and amount give the same bytes.
    """
    bill = member_bill(coop, member, name, amount)
    w = words(coop.language)
    _register_fonts()

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle(f"{w['qr_title']} – {coop.name}")
    canvas.setAuthor(coop.name)
    canvas.setCreator("pot-bridge")
    _intro(canvas, coop, member, name, bill, w)
    _separations(canvas, w)
    _receipt(canvas, bill, w)
    _payment_part(canvas, bill, w)
    canvas.showPage()
    canvas.save()

    return out.getvalue()


def file_name(coop: CoopConfig, member: int) -> str:
    return f"qr-bill-{coop.slug}-{member}.pdf"


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


# -- checks ---------------------------------------------------------------------


def _printed(value: str) -> str:
    """`value` in the glyphs of the PDF's fonts (Windows Latin-1): ő → o, ł → l.

    The QR code keeps the letters; only what is printed loses accents.
    """
    shown = []
    for char in value.translate(_UNFOLDED):
        if _in_fonts(char):
            shown.append(char)
            continue
        folded = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in folded if not unicodedata.combining(c))
        shown.append(base if base and _in_fonts(base) else "?")

    return "".join(shown)


def _in_fonts(value: str) -> bool:
    try:
        value.encode("cp1252")
    except UnicodeEncodeError:
        return False

    return True


def _allowed(char: str) -> bool:
    code = ord(char)

    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0x17F or code in _SPECIAL


def _fitted(coop: CoopConfig, what: str, value: str) -> str:
    """The coop's own address field, refused when longer than a bill takes."""
    limit = _LIMITS[what]
    if len(value) > limit:
        raise ConfigError(
            f"the {what} {value!r} is longer than the {limit} characters a "
            "QR-bill takes",
            coop=coop.slug,
        )

    return value


def _checked_debtor(coop: CoopConfig, debtor: Address) -> Address:
    """The payer's address in the character set; it needs postcode and town."""
    fields = {
        "name": latin(debtor.name),
        "street": latin(debtor.street),
        "house number": latin(debtor.house),
        "postcode": latin(debtor.postcode),
        "town": latin(debtor.town),
    }
    for what, value in fields.items():
        if len(value) > _LIMITS[what]:
            raise SkipItemError(
                f"payer's {what} {value!r} is longer than {_LIMITS[what]} characters",
                coop=coop.slug,
            )
    country = latin(debtor.country).upper()
    if not (fields["name"] and fields["postcode"] and fields["town"]):
        raise SkipItemError(
            "a payer on a QR-bill needs name, postcode and town", coop=coop.slug
        )
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise SkipItemError(
            f"payer's country {country!r} is not a two-letter code", coop=coop.slug
        )

    return Address(
        name=fields["name"],
        street=fields["street"],
        house=fields["house number"],
        postcode=fields["postcode"],
        town=fields["town"],
        country=country,
    )


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


def _blocks_of_four(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


# -- drawing --------------------------------------------------------------------

# Receipt: headings 6 pt, values 8 pt, 9 pt apart; payment part: 8, 10 and 11.
_RECEIPT_TYPE = (6, 8, 9)
_PAYMENT_TYPE = (8, 10, 11)
_TITLE_SIZE = 11


class _Column:
    """Headings and values written down from a top edge, at fixed sizes."""

    def __init__(
        self,
        canvas: Canvas,
        x: float,
        top: float,
        width: float,
        sizes: tuple[int, int, int],
    ) -> None:
        self.canvas, self.x, self.y, self.width = canvas, x, top, width
        self.heading_size, self.value_size, self.leading = sizes

    def group(self, heading: str, values: Sequence[str]) -> None:
        self.line(heading, bold=True)
        for value in values:
            shown = _printed(value)
            for part in simpleSplit(shown, BILL_FONT, self.value_size, self.width):
                self.line(part)
        self.y -= self.leading

    def line(self, value: str, *, bold: bool = False) -> None:
        self.y -= self.leading
        size = self.heading_size if bold else self.value_size
        self.canvas.setFont(BILL_BOLD if bold else BILL_FONT, size)
        self.canvas.drawString(self.x, self.y, _printed(value))


def _intro(
    canvas: Canvas,
    coop: CoopConfig,
    member: int,
    name: str,
    bill: Bill,
    w: Mapping[str, str],
) -> None:
    """The top of the page: the coop, what the bill is for, the member's facts."""
    width = A4[0] - 2 * MARGIN
    y = A4[1] - MARGIN
    address = _printed("\n".join(bill.creditor.lines()[1:]))
    number = w["qr_member_no"].format(number=member)
    who = f"{_printed(latin(name))} ({number})" if latin(name) else number
    amount = w["qr_amount_free"]
    if bill.amount is not None:
        amount = f"{bill.currency} {format_amount(bill.amount)}"
    rows = [
        (w["member"], who),
        (w["qr_account"], format_iban(bill.account)),
        (w["qr_reference"], format_reference(bill)),
        (w["qr_information"], _printed(bill.message)),
        (w["qr_amount"], amount),
    ]
    parts = [
        text(_printed(bill.creditor.name), 12, bold=True),
        text(address, 9),
        text(w["qr_title"], 14, bold=True),
        text(w["qr_purpose"].format(coop=coop.name), 10),
        facts(rows),
    ]
    gaps = [1 * mm, 12 * mm, 5 * mm, 5 * mm, 0]
    for part, gap in zip(parts, gaps, strict=True):
        _, height = part.wrapOn(canvas, width, A4[1])
        y -= height
        part.drawOn(canvas, MARGIN, y)
        y -= gap


def _separations(canvas: Canvas, w: Mapping[str, str]) -> None:
    """Dashed lines to cut along, and the note that says so."""
    canvas.saveState()
    canvas.setLineWidth(0.5)
    canvas.setDash(3, 2)
    canvas.line(0, BILL_HEIGHT, A4[0], BILL_HEIGHT)
    canvas.line(RECEIPT_WIDTH, 0, RECEIPT_WIDTH, BILL_HEIGHT)
    canvas.restoreState()
    canvas.setFont(BILL_FONT, 7)
    canvas.drawCentredString(A4[0] / 2, BILL_HEIGHT + 1.5 * mm, w["qr_separate"])


def _receipt(canvas: Canvas, bill: Bill, w: Mapping[str, str]) -> None:
    """62 × 105 mm: title, account, reference, payer, amount, acceptance point."""
    left, width = EDGE, RECEIPT_WIDTH - 2 * EDGE
    _title(canvas, left, w["qr_receipt"])

    info = _Column(canvas, left, BILL_HEIGHT - 12 * mm, width, _RECEIPT_TYPE)
    _account_and_reference(info, bill, w)
    _payer(info, bill, w, box=(52 * mm, 20 * mm))

    amount_top = BILL_HEIGHT - 68 * mm
    _amount(canvas, bill, w, left, amount_top, 12 * mm, _RECEIPT_TYPE)
    if bill.amount is None:
        box_top = amount_top - _RECEIPT_TYPE[2] - 1 * mm
        _corners(canvas, left + width - 30 * mm, box_top, 30 * mm, 10 * mm)

    canvas.setFont(BILL_BOLD, _RECEIPT_TYPE[0])
    acceptance_top = BILL_HEIGHT - 82 * mm
    canvas.drawRightString(left + width, acceptance_top - 9, w["qr_acceptance"])


def _payment_part(canvas: Canvas, bill: Bill, w: Mapping[str, str]) -> None:
    """148 × 105 mm: title, QR code and amount on the left, the rest on the right."""
    left = RECEIPT_WIDTH + EDGE
    _title(canvas, left, w["qr_payment_part"])
    renderPDF.draw(qr_code(bill), canvas, left, BILL_HEIGHT - 17 * mm - QR_SIZE)

    amount_top = BILL_HEIGHT - 68 * mm
    _amount(canvas, bill, w, left, amount_top, 14 * mm, _PAYMENT_TYPE)
    if bill.amount is None:
        box_top = amount_top - _PAYMENT_TYPE[2] - 1 * mm
        _corners(canvas, left + 11 * mm, box_top, 40 * mm, 15 * mm)

    info_left = RECEIPT_WIDTH + 56 * mm
    width = RECEIPT_WIDTH + PAYMENT_WIDTH - EDGE - info_left
    info = _Column(canvas, info_left, BILL_HEIGHT - EDGE, width, _PAYMENT_TYPE)
    _account_and_reference(info, bill, w)
    info.group(w["qr_information"], [bill.message])
    _payer(info, bill, w, box=(65 * mm, 25 * mm))


def _title(canvas: Canvas, left: float, title: str) -> None:
    canvas.setFont(BILL_BOLD, _TITLE_SIZE)
    canvas.drawString(left, BILL_HEIGHT - EDGE - _TITLE_SIZE, title)


def _account_and_reference(column: _Column, bill: Bill, w: Mapping[str, str]) -> None:
    account = [format_iban(bill.account), *bill.creditor.lines()]
    column.group(w["qr_account"], account)
    if bill.reference_type != "NON":
        column.group(w["qr_reference"], [format_reference(bill)])


def _payer(
    column: _Column, bill: Bill, w: Mapping[str, str], box: tuple[float, float]
) -> None:
    """The debtor, or an empty field with corner marks to write them in."""
    if bill.debtor is not None:
        column.group(w["qr_payable_by"], bill.debtor.lines())
        return

    column.line(w["qr_payable_by_blank"], bold=True)
    _corners(column.canvas, column.x, column.y - 1 * mm, *box)


def _amount(
    canvas: Canvas,
    bill: Bill,
    w: Mapping[str, str],
    left: float,
    top: float,
    amount_offset: float,
    sizes: tuple[int, int, int],
) -> None:
    heading, value, leading = sizes
    canvas.setFont(BILL_BOLD, heading)
    canvas.drawString(left, top - leading, w["qr_currency"])
    canvas.drawString(left + amount_offset, top - leading, w["qr_amount"])

    canvas.setFont(BILL_FONT, value)
    canvas.drawString(left, top - 2 * leading, bill.currency)
    if bill.amount is not None:
        shown = format_amount(bill.amount)
        canvas.drawString(left + amount_offset, top - 2 * leading, shown)


def _corners(canvas: Canvas, x: float, top: float, width: float, height: float) -> None:
    """An empty field marked by its four corners only."""
    w, h = width, height
    across, down = 3 * mm, 2 * mm
    canvas.saveState()
    canvas.setLineWidth(0.75)
    for corner_x, corner_y, dx, dy in (
        (x, top, across, -down),
        (x + w, top, -across, -down),
        (x, top - h, across, down),
        (x + w, top - h, -across, down),
    ):
        canvas.line(corner_x, corner_y, corner_x + dx, corner_y)
        canvas.line(corner_x, corner_y, corner_x, corner_y + dy)
    canvas.restoreState()


def _swiss_cross(cx: float, cy: float) -> list[Rect]:
    """The 7 × 7 mm Swiss cross: a white frame, a black square, a white cross
    in the flag's proportions (arms 6/32 wide, 20/32 across)."""
    black = CROSS_SIZE - 1.1 * mm
    arm_length, arm_width = black * 20 / 32, black * 6 / 32

    def square(side: float, color: colors.Color) -> Rect:
        return _rect(cx - side / 2, cy - side / 2, side, side, color)

    return [
        square(CROSS_SIZE, colors.white),
        square(black, colors.black),
        _rect(cx - arm_width / 2, cy - arm_length / 2, arm_width, arm_length),
        _rect(cx - arm_length / 2, cy - arm_width / 2, arm_length, arm_width),
    ]


def _rect(
    x: float, y: float, width: float, height: float, color: colors.Color = colors.white
) -> Rect:
    return Rect(x, y, width, height, fillColor=color, strokeColor=None, strokeWidth=0)
