"""The QR-bill as an A4 page: a short text on what it is for, the bill at its foot.

The receipt (62 mm) and the payment part (148 mm), 105 mm tall, are drawn at
the places the guidelines fix, so the page can be printed on plain paper and
cut off; the text above them uses the Vera fonts of every pot-bridge PDF.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.barcode.qrencoder import QR8bitByte
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from pot_bridge.config import CoopConfig
from pot_bridge.credit.qrbill_address import latin
from pot_bridge.credit.qrbill_payload import (
    Bill,
    format_amount,
    format_iban,
    format_reference,
    payload,
)

# Not through `pdf_layout.render`: the bill is drawn at fixed places.
from pot_bridge.pdf_layout import MARGIN, facts, register_fonts, text
from pot_bridge.wording import words

RECEIPT_WIDTH = 62 * mm
PAYMENT_WIDTH = 148 * mm
BILL_HEIGHT = 105 * mm
QR_SIZE = 46 * mm
CROSS_SIZE = 7 * mm
EDGE = 5 * mm  # the margin inside the receipt and the payment part
# The guidelines allow Arial, Frutiger, Helvetica and Liberation Sans only.
BILL_FONT, BILL_BOLD = "Helvetica", "Helvetica-Bold"
# Letters of Latin Extended-A that neither the fonts nor NFKD bring to Latin-1.
_UNFOLDED = str.maketrans("ĐđĦħıĸŁłŊŋŦŧ", "DdHhikLlNnTt")
# Receipt: headings 6 pt, values 8 pt, 9 pt apart; payment part: 8, 10 and 11.
_RECEIPT_TYPE = (6, 8, 9)
_PAYMENT_TYPE = (8, 10, 11)
_TITLE_SIZE = 11


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


def bill_page(coop: CoopConfig, member: int, name: str, bill: Bill) -> bytes:
    """One A4 page: what `bill` is for, and the bill at its foot.

    The same bill gives the same bytes.
    """
    w = words(coop.language)
    register_fonts()

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
