"""The words every document shares, in German, French and English.

Labels, reasons, dates, deadlines, quantities and addresses are written here
once: the e-mails and CSV files (`pot_bridge.documents`) and the PDFs
(`pot_bridge.pdf`) all use them, so documents made from the same
`GroupOrderView` cannot disagree.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from pot_bridge.group_order import GroupOrderView, ProductTotal, Share
from pot_bridge.money import format_quantity

Language = Literal["de", "fr", "en"]
TEMPLATES = Path(__file__).parent / "templates"
SWISS = ZoneInfo("Europe/Zurich")
NO_PLACE = "—"
_WEEKDAYS = {
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}
_MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"


@cache
def words(lang: str) -> Mapping[str, str]:
    """The labels of tables and lists in one language (templates/words.toml)."""
    vocabulary = tomllib.loads((TEMPLATES / "words.toml").read_text("utf-8"))
    if lang not in vocabulary:
        raise ValueError(f"no producer documents in language {lang!r}")

    return MappingProxyType(vocabulary[lang])


def reason_text(reason: str, lang: str) -> str:
    """Why a member gets less, in words; an unknown code is shown as it is."""
    return words(lang).get("reason_" + reason.replace("-", "_"), reason)


def day_text(day: date, lang: str) -> str:
    """Thursday 10 Dec 2026, jeudi 10.12.2026, Donnerstag, 10.12.2026."""
    weekday = _WEEKDAYS[lang].split()[day.weekday()]
    if lang == "en":
        return f"{weekday} {day.day} {_MONTHS_EN.split()[day.month - 1]} {day.year}"
    if lang == "fr":
        return f"{weekday} {day:%d.%m.%Y}"

    return f"{weekday}, {day:%d.%m.%Y}"


def deadline_text(moment: datetime, lang: str, zone: ZoneInfo) -> str:
    """The deadline in local time; midnight is the end of the day before.

    A round whose last day is Thursday closes at Friday 00:00, which people
    read as a day too late: it is written "Thursday …, 24:00" instead.
    """
    local = moment.astimezone(zone) if moment.tzinfo else moment
    hour, minute = local.hour, local.minute
    if local.time() == time(0):
        local, hour = local - timedelta(days=1), 24
    day = day_text(local.date(), lang)

    if lang == "de":
        return f"{day}, {hour:02}:{minute:02} Uhr"
    if lang == "fr":
        return f"{day} à {hour:02}h{minute:02}"

    return f"{day}, {hour:02}:{minute:02}"


def quantity_text(quantity: Decimal, unit: str) -> str:
    """3 Stück, 1.75 kg, and 1 × 500 g where the unit starts with a number."""
    number = format_quantity(quantity)
    if not unit:
        return number
    if unit[0].isdigit():
        return f"{number} × {unit}"

    return f"{number} {unit}"


def packs_text(line: ProductTotal) -> str:
    """2 × 6: two packs of six units; empty without packs."""
    if line.packs is None or line.pack_size is None:
        return ""

    return f"{format_quantity(line.packs)} × {format_quantity(line.pack_size)}"


def collate(text: str) -> str:
    """A sort key that puts Äpfel beside Apfel and Œufs beside Oeufs."""
    plain = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe"))

    return "".join(c for c in plain if not unicodedata.combining(c))


def postal_address(view: GroupOrderView) -> list[str]:
    """The coop's address lines, without the name again when it opens them."""
    lines = list(view.coop_address)
    if lines and lines[0].strip() == view.coop_name:
        lines.pop(0)

    return lines


def place_of(share: Share, view: GroupOrderView) -> str:
    """The member's pickup place, else the coop's, else a neutral dash."""
    return share.pickup_place or view.pickup_place or NO_PLACE


def delivery_point(view: GroupOrderView) -> str:
    """Where a coop's goods go, on one line: pickup place and postal address."""
    parts = (view.pickup_place, *postal_address(view))

    return ", ".join(part for part in parts if part)
