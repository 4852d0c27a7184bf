"""Shelf labels: a QR code to the product's page, its name, unit and price.

Each label shows what the coop's shop shows: the coop's price (central price
plus margin, to 0.05 CHF) and the central name and unit. The QR code holds the
link the push writes as `_pot_url`, so a member who scans it lands on the
product's page in the POT database.

The sheet is A4 with 3 × 8 labels of 70 × 37 mm, edge to edge across and
0.5 mm from the top and bottom edges: the layout of the common 24-up label
sheets. Nothing is drawn on a label's border, so a printer that feeds a
little off shifts the labels without cutting into their text; the text keeps
5 mm from the label's edge, inside what office printers can print.

Labels go in the order of the catalog diff (name, then POT ID), row by row.
The PDF is invariant: the same labels give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from pot_bridge.catalog.carry import carried
from pot_bridge.catalog.model import Catalog
from pot_bridge.catalog.price import coop_price
from pot_bridge.config import CoopCatalog, CoopConfig, Language
from pot_bridge.money import format_chf

# The shared Vera fonts: the sheet is drawn at fixed places, not flowed, so it
# does not go through `pdf_layout.render`.
from pot_bridge.pdf_layout import BOLD, FONT, GREY, register_fonts

COLUMNS, ROWS = 3, 8
PER_SHEET = COLUMNS * ROWS
WIDTH, HEIGHT = 70 * mm, 37 * mm
TOP = A4[1] - (A4[1] - ROWS * HEIGHT) / 2  # the top edge of the first row
INSET = 5 * mm  # text from the label's left, top and bottom edges
QR_SIZE = 26 * mm  # with its own white border of four modules
QR_RIGHT = 2 * mm  # from the label's right edge to the QR code's border
TEXT_WIDTH = WIDTH - INSET - QR_RIGHT - QR_SIZE
NAME_SIZE, NAME_LEADING, NAME_LINES = 9.0, 10.5, 3
PRICE_SIZE, UNIT_SIZE, ID_SIZE = 14.0, 8.0, 6.0
ELLIPSIS = "…"

_WORDS = {
    "de": {"title": "Regaletiketten", "per": "pro", "pot_id": "POT-ID"},
    "fr": {"title": "Étiquettes de rayon", "per": "par", "pot_id": "ID POT"},
    "en": {"title": "Shelf labels", "per": "per", "pot_id": "POT ID"},
}


@dataclass(frozen=True)
class Label:
    """What one shelf label shows; `url` is what its QR code holds."""

    pot_id: str
    name: str
    unit: str
    price: Decimal
    url: str


def shelf_labels(
    catalog: Catalog, carry: CoopCatalog, product_page: str
) -> list[Label]:
    """A label for each product the coop carries that is available centrally."""
    labels = [
        Label(
            pot_id=product.pot_id,
            name=product.name,
            unit=product.unit,
            price=coop_price(product.price, carry),
            url=product_page.format(pot_id=product.pot_id),
        )
        for product in carried(catalog, carry).values()
        if product.available
    ]
    labels.sort(key=lambda label: (label.name.casefold(), label.pot_id))

    return labels


def sheets(count: int) -> int:
    """How many A4 sheets `count` labels take."""
    return max(1, -(-count // PER_SHEET))


def qr_code(label: Label) -> Drawing:
    """The label's QR code, as drawn on the sheet (error correction M)."""
    widget = QrCodeWidget(label.url, barLevel="M", barWidth=QR_SIZE, barHeight=QR_SIZE)
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(widget)

    return drawing


def labels_pdf(items: Sequence[Label], coop: CoopConfig, lang: Language) -> bytes:
    """The labels on A4 sheets of 24, in the given order."""
    register_fonts()
    words = _WORDS[lang]
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle(f"{words['title']} {coop.name}")
    canvas.setAuthor(coop.name)
    canvas.setCreator("pot-bridge")

    for index, label in enumerate(items):
        if index and index % PER_SHEET == 0:
            canvas.showPage()
        place = index % PER_SHEET
        row, column = divmod(place, COLUMNS)
        _draw(canvas, label, column * WIDTH, TOP - (row + 1) * HEIGHT, words)
    canvas.showPage()
    canvas.save()

    return out.getvalue()


def _draw(
    canvas: Canvas, label: Label, x: float, y: float, words: dict[str, str]
) -> None:
    """One label whose bottom left corner is at (x, y)."""
    left, top = x + INSET, y + HEIGHT - INSET

    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(BOLD, NAME_SIZE)
    for number, line in enumerate(_lines(label.name, BOLD, NAME_SIZE)):
        canvas.drawString(left, top - NAME_SIZE - number * NAME_LEADING, line)

    id_line = y + INSET
    unit_line = id_line + ID_SIZE + 4
    price_line = unit_line + UNIT_SIZE + 4
    price = f"CHF {format_chf(label.price)}"
    canvas.setFont(BOLD, _price_size(price))
    canvas.drawString(left, price_line, price)
    if label.unit:
        unit = _fitted(f"{words['per']} {_plain(label.unit)}", FONT, UNIT_SIZE)
        canvas.setFont(FONT, UNIT_SIZE)
        canvas.drawString(left, unit_line, unit)

    canvas.setFont(FONT, ID_SIZE)
    canvas.setFillColor(GREY)
    pot_id = _fitted(f"{words['pot_id']} {_plain(label.pot_id)}", FONT, ID_SIZE)
    canvas.drawString(left, id_line, pot_id)

    qr_left = x + WIDTH - QR_RIGHT - QR_SIZE
    renderPDF.draw(qr_code(label), canvas, qr_left, y + (HEIGHT - QR_SIZE) / 2)


def _plain(text: str) -> str:
    """One line of printable text: breaks and control characters become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _lines(name: str, font: str, size: float) -> list[str]:
    """The name wrapped to the text width, at most NAME_LINES lines; a longer
    name is cut at the end of the last line, and a word too long for a line is
    broken where it reaches the edge."""
    lines: list[str] = []
    current = ""
    for word in _plain(name).split(" "):
        joined = f"{current} {word}" if current else word
        if stringWidth(joined, font, size) <= TEXT_WIDTH:
            current = joined
            continue
        if current:
            lines.append(current)
        while stringWidth(word, font, size) > TEXT_WIDTH:
            head = _head(word, font, size, TEXT_WIDTH) or word[0]
            lines.append(head)
            word = word[len(head) :]
        current = word
    if current:
        lines.append(current)

    if len(lines) <= NAME_LINES:
        return lines
    rest = " ".join(lines[NAME_LINES - 1 :])

    return [*lines[: NAME_LINES - 1], _fitted(rest, font, size)]


def _fitted(text: str, font: str, size: float) -> str:
    """`text` cut, with an ellipsis, to the text width."""
    if stringWidth(text, font, size) <= TEXT_WIDTH:
        return text
    room = TEXT_WIDTH - stringWidth(ELLIPSIS, font, size)

    return _head(text, font, size, room).rstrip() + ELLIPSIS


def _head(text: str, font: str, size: float, width: float) -> str:
    """The longest start of `text` no wider than `width`."""
    used = 0.0
    for end, char in enumerate(text):
        used += stringWidth(char, font, size)
        if used > width:
            return text[:end]

    return text


def _price_size(text: str) -> float:
    """The price's font size: smaller for a price too wide for the label."""
    size = PRICE_SIZE
    while size > 8 and stringWidth(text, BOLD, size) > TEXT_WIDTH:
        size -= 0.5

    return size
