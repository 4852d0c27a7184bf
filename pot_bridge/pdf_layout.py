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
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    LongTable,
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

    The story is laid out once; each page's footer is drawn when the document
    is saved, once the number of pages is known.
    """
    register_fonts()

    return _build(story_of(), title, author, footer)


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
    scale = _FRAME_WIDTH / sum(widths)
    columns = [w * scale for w in widths]
    body: list[Sequence[Cell]] = [heads]
    body += [_fitted(row, columns, right) for row in rows]
    body += [foot] if foot is not None else []
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
    # LongTable lays out thousands of rows (a big round's lists) in linear time
    table = LongTable(body, colWidths=columns, repeatRows=1)
    table.setStyle(TableStyle([*style, *extra]))

    return table


def _fitted(
    row: Sequence[Cell], columns: Sequence[float], right: Sequence[int]
) -> list[Cell]:
    """Plain text where it fits its column, a wrapping paragraph where it does not.

    A plain string costs the table almost nothing; a paragraph must be laid out,
    which in a list of thousands of lines is most of the time spent.
    """
    cells: list[Cell] = []
    for index, cell in enumerate(row):
        if isinstance(cell, str) and (
            "\n" in cell or pdfmetrics.stringWidth(cell, FONT, 8) > columns[index] - 6
        ):
            cell = text(cell, right=index in right)
        cells.append(cell)
    return cells


_PADDING = [
    ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
]


@cache
def register_fonts() -> None:
    """Load the Vera fonts once, for pages drawn outside `render` too."""
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


class _FootedCanvas(Canvas):
    """A canvas that holds its pages back until it knows how many there are."""

    footer = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, page in enumerate(self._pages, start=1):
            self.__dict__.update(page)
            self.saveState()
            self.setFont(FONT, 7)
            self.setFillColor(GREY)
            self.drawString(MARGIN, 10 * mm, self.footer)
            self.drawRightString(A4[0] - MARGIN, 10 * mm, f"{number}/{total}")
            self.restoreState()
            super().showPage()
        super().save()


def _build(story: Story, title: str, author: str, footer: str) -> bytes:
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
    canvas = type("Footed", (_FootedCanvas,), {"footer": footer})
    doc.build(story, canvasmaker=canvas)

    return out.getvalue()
