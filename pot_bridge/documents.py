"""What a producer receives for a round: an e-mail to read and a CSV to import.

The e-mail is written for a person (local dates, amounts as 1'234.50, a table
that lines up in a fixed-width font); the CSV is for a spreadsheet or the
producer's own software (plain 1234.50, one row per product). Both come from
the same `GroupOrderView`, so they cannot disagree.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pot_bridge.group_order import GroupOrderView
from pot_bridge.money import format_chf, format_quantity, round_chf

Language = Literal["de", "fr", "en"]

TEMPLATES = Path(__file__).parent / "templates"
SWISS = ZoneInfo("Europe/Zurich")
_NAME_WIDTH = 36
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Labels:
    sku: str
    product: str
    unit: str
    quantity: str
    unit_price: str
    amount: str
    total: str


LABELS: dict[str, Labels] = {
    "de": Labels(
        "Artikelnr.",
        "Produkt",
        "Einheit",
        "Menge",
        "Preis/Einheit CHF",
        "Betrag CHF",
        "Total",
    ),
    "fr": Labels(
        "Réf.",
        "Produit",
        "Unité",
        "Quantité",
        "Prix unitaire CHF",
        "Montant CHF",
        "Total",
    ),
    "en": Labels(
        "SKU", "Product", "Unit", "Quantity", "Unit price CHF", "Amount CHF", "Total"
    ),
}

_WEEKDAYS = {
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}
_MONTHS_EN = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]


def group_order_csv(view: GroupOrderView, language: Language = "de") -> bytes:
    """The group order as CSV: UTF-8 with BOM and `;`, as Swiss Excel expects.

    Text cells that a spreadsheet would run as a formula get a leading `'`.
    """
    _require_lines(view)
    labels = _labels(language)

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            labels.sku,
            labels.product,
            labels.unit,
            labels.quantity,
            labels.unit_price,
            labels.amount,
        ]
    )
    for line in view.lines:
        writer.writerow(
            [
                _cell(line.sku),
                _cell(line.name),
                _cell(line.unit),
                format_quantity(line.quantity),
                _plain(line.unit_price),
                _plain(line.amount),
            ]
        )
    writer.writerow(["", labels.total, "", "", "", _plain(view.total)])

    return out.getvalue().encode("utf-8-sig")


def producer_email(
    view: GroupOrderView, language: Language, *, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """Subject and plain-text body of the e-mail to the producer.

    `zone` is the coop's: the deadline is stored in UTC but read in local time.
    """
    _require_lines(view)
    labels = _labels(language)

    template = _environment().get_template(f"producer_email.{language}.txt.j2")
    text = template.render(
        coop_name=view.coop_name,
        coop_email=view.coop_email,
        producer=view.producer,
        round_name=view.round_name,
        deadline=_deadline(view.closes_at, language, zone),
        distribution=(
            _day(view.distribution_day, language) if view.distribution_day else None
        ),
        table=_table(view, labels),
        total=format_chf(view.total),
        attachment=attachment_name(view),
    )
    subject, _, body = text.partition("\n")

    return subject.strip(), body.lstrip("\n")


def attachment_name(view: GroupOrderView) -> str:
    """A file name every mail client keeps as is: ASCII letters, digits, dashes."""
    round_part = _slug(view.round_name) or _slug(view.round_key)
    parts = [_slug(view.coop_slug), round_part, _slug(view.producer) or "producer"]

    return "group-order-" + "-".join(p for p in parts if p) + ".csv"


def _require_lines(view: GroupOrderView) -> None:
    if not view.lines:
        raise ValueError(
            f"group order of {view.producer!r} in {view.round_key} has no lines"
        )


def _labels(language: str) -> Labels:
    if language not in LABELS:
        raise ValueError(f"no producer documents in language {language!r}")

    return LABELS[language]


def _plain(amount: Decimal) -> str:
    return f"{round_chf(amount):f}"


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,  # plain text, nothing is HTML here
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _day(day: date, language: str) -> str:
    """Thursday 10 Dec 2026, jeudi 10.12.2026, Donnerstag, 10.12.2026."""
    weekday = _WEEKDAYS[language].split()[day.weekday()]
    if language == "en":
        return f"{weekday} {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    if language == "fr":
        return f"{weekday} {day:%d.%m.%Y}"

    return f"{weekday}, {day:%d.%m.%Y}"


def _deadline(moment: datetime, language: str, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone) if moment.tzinfo else moment
    day = _day(local.date(), language)
    if language == "de":
        return f"{day}, {local:%H:%M} Uhr"
    if language == "fr":
        return f"{day} à {local:%H:%M}"

    return f"{day}, {local:%H:%M}"


def _table(view: GroupOrderView, labels: Labels) -> list[str]:
    """Product, SKU, quantity and amount, aligned for a fixed-width font.

    Long product names wrap inside their column rather than push the others.
    """
    rows = [
        (
            line.name,
            line.sku,
            f"{format_quantity(line.quantity)} {line.unit}".strip(),
            format_chf(line.amount),
        )
        for line in view.lines
    ]
    head = (labels.product, labels.sku, labels.quantity, labels.amount)
    total = format_chf(view.total)
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(4)]
    widths[0] = min(widths[0], _NAME_WIDTH)
    widths[3] = max(widths[3], len(total))

    def format_row(name: str, sku: str, quantity: str, amount: str) -> str:
        return (
            f"{name:<{widths[0]}}  {sku:<{widths[1]}}  "
            f"{quantity:<{widths[2]}}  {amount:>{widths[3]}}"
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [format_row(*head), rule]
    for name, sku, quantity, amount in rows:
        wrapped = textwrap.wrap(name, widths[0]) or [""]
        lines.append(format_row(wrapped[0], sku, quantity, amount))
        lines.extend(format_row(more, "", "", "") for more in wrapped[1:])
    lines.append(rule)
    lines.append(format_row(labels.total, "", "", total))

    return lines


def _slug(text: str) -> str:
    """Hof Müller & Söhne → hof-mueller-soehne."""
    text = text.lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")

    return slug[:40].rstrip("-")
