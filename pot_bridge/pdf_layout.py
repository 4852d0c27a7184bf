"""The page, fonts and tables that every pot-bridge PDF shares.

ReportLab's built-in Helvetica lacks letters such as Œ and the typographic
quotes, so the documents use the Bitstream Vera fonts that ship with ReportLab.
Every PDF is made invariant (fixed dates and file id): the same group order
gives the same bytes, and a resent document can be compared with the first.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FONT = "PotBridgeVera"
BOLD = "PotBridgeVera-Bold"
GREY = colors.HexColor("#555555")
LIGHT = colors.HexColor("#aaaaaa")
MARGIN = 15 * mm
_FRAME_WIDTH = A4[0] - 2 * MARGIN - 12  # platypus pads its frame by 6 pt a side

Story: TypeAlias = list[Flowable]
Cell: TypeAlias = str | Flowable | list[Flowable]


class CheckBox(Flowable):
    """An empty square, ticked by hand when the goods are handed out."""

    def __init__(self, size: float = 3.2 * mm) -> None:
        super().__init__()
        self.size = size

    def wrap(
        self, available_width: float, available_height: float
    ) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        self.canv.setLineWidth(0.6)
        self.canv.rect(0, 0, self.size, self.size)


def render(
    story_of: Callable[[], Story], *, title: str, author: str, footer: str
) -> bytes:
    """An A4 PDF whose pages say "2/3" at the foot.

    The story is laid out twice: the first pass only counts the pages, which
    the second prints. Footers sit outside the frame, so both passes agree.
    """
    _register_fonts()
    _, pages = _build(story_of(), title, author, footer, total=0)
    data, _ = _build(story_of(), title, author, footer, total=pages)

    return data


def text(
    value: str,
    size: float = 8,
    *,
    bold: bool = False,
    grey: bool = False,
    right: bool = False,
) -> Paragraph:
    """A paragraph that wraps; the value is plain text, never markup."""
    markup = escape(value).replace("\n", "<br/>")

    return Paragraph(markup, _style(size, bold, grey, right))


def with_note(value: str, note: str) -> Cell:
    """A table cell: the value, and a small grey note below it when there is one."""
    if not note:
        return text(value)

    return [text(value), text(note, 6.5, grey=True)]


def heading(value: str, size: float = 11) -> Story:
    """A section title, kept with at least a few lines of what follows."""
    return [CondPageBreak(30 * mm), Spacer(1, 4 * mm), text(value, size, bold=True)]


def facts(pairs: Sequence[tuple[str, str]]) -> Table:
    """Label and value, one pair per line, for the head of a document."""
    rows = [[text(label, bold=True), text(value)] for label, value in pairs if value]
    table = Table(rows, colWidths=[42 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([*_PADDING, ("VALIGN", (0, 0), (-1, -1), "TOP")]))

    return table


def grid(
    head: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    *,
    right: Sequence[int] = (),
    foot: Sequence[Cell] | None = None,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Table:
    """A table with a bold head repeated on each page, and a bold total at the end.

    `widths` are shares of the text width (millimetres of its 180, say);
    `right` are the columns of numbers; `extra` are more TableStyle commands.
    """
    heads = [
        text(label, 7, bold=True, right=i in right) for i, label in enumerate(head)
    ]
    body = [heads, *rows] + ([foot] if foot is not None else [])
    style = [
        *_PADDING,
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, LIGHT),
        *(("ALIGN", (col, 0), (col, -1), "RIGHT") for col in right),
    ]
    if foot is not None:
        style += [
            ("FONT", (0, -1), (-1, -1), BOLD, 8),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ]
    scale = _FRAME_WIDTH / sum(widths)
    table = Table(body, colWidths=[w * scale for w in widths], repeatRows=1)
    table.setStyle(TableStyle([*style, *extra]))

    return table


_PADDING = [
    ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
]


@cache
def _register_fonts() -> None:
    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD
    )


@cache
def _style(size: float, bold: bool, grey: bool, right: bool) -> ParagraphStyle:
    return ParagraphStyle(
        f"pot-{size}-{bold}-{grey}-{right}",
        fontName=BOLD if bold else FONT,
        fontSize=size,
        leading=size * 1.25,
        textColor=GREY if grey else colors.black,
        alignment=TA_RIGHT if right else TA_LEFT,
    )


def _build(
    story: Story, title: str, author: str, footer: str, total: int
) -> tuple[bytes, int]:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=20 * mm,
        title=title,
        author=author,
        creator="pot-bridge",
        invariant=1,
    )

    def foot(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, 10 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"{doc.page}/{total}")
        canvas.restoreState()

    doc.build(story, onFirstPage=foot, onLaterPages=foot)

    return out.getvalue(), doc.page
