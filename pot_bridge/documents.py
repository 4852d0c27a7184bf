"""What producers, coop admins and the people at distribution read, as text.

E-mails are written for a person (local dates, amounts as 1'234.50, tables that
line up in a fixed-width font); CSV files are for a spreadsheet or a producer's
own software (plain 1234.50, one row per line). The PDFs (`pot_bridge.pdf`)
share the words and helpers here, so documents made from the same
`GroupOrderView` cannot disagree.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import shlex
import textwrap
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pot_bridge.group_order import GroupOrderView, ProductTotal, Share
from pot_bridge.money import ZERO, format_chf, format_quantity, round_chf

Language = Literal["de", "fr", "en"]

TEMPLATES = Path(__file__).parent / "templates"
SWISS = ZoneInfo("Europe/Zurich")
NO_PLACE = "—"
_NAME_WIDTH = 36
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_WEEKDAYS = {
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}
_MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"


@dataclass(frozen=True)
class Combined:
    """One product of one producer, summed over the coops that order it.

    `line` is the sum; its unit price is the first coop's, so documents show
    prices per coop only.
    """

    line: ProductTotal
    parts: tuple[tuple[GroupOrderView, ProductTotal], ...]


@dataclass(frozen=True)
class Handout:
    """What one member collects at one pickup place, from each producer."""

    place: str
    member: str
    customer_id: int
    items: tuple[tuple[str, Share], ...]


def group_order_csv(view: GroupOrderView, lang: Language = "de") -> bytes:
    """The group order by product: UTF-8 with BOM and `;`, as Swiss Excel expects.

    Text cells that a spreadsheet would run as a formula get a leading `'`.
    """
    require_lines(view)
    w = words(lang)

    rows = [_product_head(w)]
    rows.extend(_product_cells(line) for line in view.lines)
    rows.append(["", "", w["total"], "", "", "", "", "", _plain(view.total)])

    return _csv(rows)


def member_csv(view: GroupOrderView, lang: Language = "de") -> bytes:
    """Each member's share, for a producer who packs per member.

    Members' names go to a producer only when it packs per member, so any other
    group order is refused.
    """
    require_lines(view)
    if not view.per_member:
        raise ValueError(f"{view.producer!r} does not pack per member")
    w = words(lang)
    pot_ids = {line.product_id: line.pot_id for line in view.lines}

    head = ["member", "pickup_place", "sku", "pot_id", "product", "unit", "quantity"]
    rows = [[w[key] for key in head]]
    for share in member_shares(view):
        texts = [share.member_name, place_of(share, view), share.sku]
        texts += [pot_ids.get(share.product_id, ""), share.name, share.unit]
        rows.append([*map(_cell, texts), format_quantity(share.allocated)])

    return _csv(rows)


def consolidated_csv(views: Sequence[GroupOrderView], lang: Language = "de") -> bytes:
    """One producer's orders from several coops: per product each coop, then all."""
    require_consolidated(views)
    w = words(lang)

    rows = [[w["coop"], w["delivery_point"], *_product_head(w)]]
    for product in combine(views):
        for view, line in product.parts:
            place = delivery_point(view)
            rows.append([_cell(view.coop_name), _cell(place), *_product_cells(line)])
        total = _product_cells(product.line)
        total[7] = ""  # prices can differ between coops
        rows.append([w["all_coops"], "", *total])
    grand = sum((view.total for view in views), ZERO)
    rows.append([w["total"], "", *[""] * 8, _plain(grand)])

    return _csv(rows)


def producer_email(
    view: GroupOrderView, lang: Language, *, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """Subject and plain-text body of the group order to the producer.

    `zone` is the coop's: the deadline is stored in UTC but read in local time.
    """
    require_lines(view)
    w = words(lang)

    return _render(
        "producer_email",
        lang,
        **_round_facts(view, lang, zone),
        table=_order_table(view.lines, view.total, w),
        rounded=any(line.quantity != line.ordered for line in view.lines),
        **_attachments(view),
    )


def correction_email(
    previous: Sequence[ProductTotal],
    view: GroupOrderView,
    version: int,
    lang: Language,
    zone: ZoneInfo = SWISS,
) -> tuple[str, str]:
    """Correction `version` (1, 2, …) of a group order the producer already has.

    Lists what changed since `previous` (the lines last sent), then the new
    totals, which the attachments carry; a view left without lines cancels the
    order, and then nothing is attached.
    """
    if view.lines:
        require_lines(view)
    if version < 1:
        raise ValueError(f"a correction is numbered from 1, not {version}")
    w = words(lang)

    changed = _changes(previous, view.lines)
    head = [w["product"], w["before"], w["now"], w["difference"]]
    rows = [_change_row(*pair) for pair in changed]

    return _render(
        "correction_email",
        lang,
        **_round_facts(view, lang, zone),
        version=version,
        changes=_text_table(head, rows) if rows else [],
        total_before=format_chf(sum((line.amount for line in previous), ZERO)),
        total=format_chf(view.total),
        cancelled=not view.lines,
        table=_order_table(view.lines, view.total, w),
        **_attachments(view),
    )


def minimum_email(
    view: GroupOrderView,
    minimum_value: Decimal | None,
    minimum_quantity: Decimal | None,
    policy: str,
    lang: Language,
    zone: ZoneInfo = SWISS,
) -> tuple[str, str]:
    """Tell the coop's admin that a group order is below the producer's minimum.

    Under "hold" the order waits for the admin, so the mail gives the two
    commands that decide it; under "cancel" it says the members are refunded.
    The quantity compared is the sum over all lines, whatever their units.
    """
    require_lines(view)
    if policy not in ("hold", "cancel"):
        raise ValueError(f"unknown below-minimum policy {policy!r}")
    if minimum_value is None and minimum_quantity is None:
        raise ValueError(f"{view.producer!r} has no minimum to report")
    w = words(lang)
    quantity = sum((line.quantity for line in view.lines), ZERO)

    return _render(
        "minimum_email",
        lang,
        **_round_facts(view, lang, zone),
        policy=policy,
        value=format_chf(view.total),
        minimum_value=None if minimum_value is None else format_chf(minimum_value),
        quantity=format_quantity(quantity),
        minimum_quantity=(
            None if minimum_quantity is None else format_quantity(minimum_quantity)
        ),
        release=_command("release", view),
        cancel=_command("cancel", view),
        table=_order_table(view.lines, view.total, w),
    )


def distribution_email(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """Tell the coop's admin the distribution list is ready, and what stands out."""
    first = require_one_round(views)
    handed = handouts(views)

    short = [
        {
            "member": handout.member,
            "product": share.name,
            "gets": quantity_text(share.allocated, share.unit),
            "ordered": quantity_text(share.ordered, share.unit),
            "reason": reason_text(share.reason, lang),
        }
        for handout in handed
        for _, share in handout.items
        if share.allocated < share.ordered
    ]
    surplus = [
        (line.name, view.producer, quantity_text(line.surplus, line.unit))
        for view in views
        for line in view.lines
        if line.surplus > 0
    ]
    members = {(h.customer_id, h.member) for h in handed}

    return _render(
        "distribution_email",
        lang,
        **_round_facts(first, lang, zone),
        members=len(members),
        producers=len(views),
        attachment=distribution_name(first),
        surplus=surplus,
        short=short,
    )


def consolidated_email(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """One producer's orders from several coops delivered the same day, in one mail."""
    require_consolidated(views)
    w = words(lang)
    combined = combine(views)
    grand = sum((view.total for view in views), ZERO)

    coops = [
        dict(
            _round_facts(view, lang, zone),
            address=postal_address(view),
            table=_order_table(view.lines, view.total, w),
        )
        for view in views
    ]
    day = views[0].distribution_day

    return _render(
        "consolidated_email",
        lang,
        producer=views[0].producer,
        day=day_text(day, lang) if day else None,
        round_name=views[0].round_name,
        coops=coops,
        table=_order_table([p.line for p in combined], grand, w),
        attachments=[consolidated_name(views, "pdf"), consolidated_name(views, "csv")],
        senders=", ".join(dict.fromkeys(view.coop_name for view in views)),
    )


def attachment_name(view: GroupOrderView, ext: str = "csv", *, part: str = "") -> str:
    """A file name every mail client keeps as is: ASCII letters, digits, dashes.

    `part` names a document beside the group order itself, e.g. "members".
    """
    round_part = _slug(view.round_name) or _slug(view.round_key)
    parts = [_slug(view.coop_slug), round_part, _slug(view.producer) or "producer"]

    return _file_name("group-order", [*parts, _slug(part)], ext)


def distribution_name(view: GroupOrderView, ext: str = "pdf") -> str:
    """The distribution list's file name: coop and round of any of its views."""
    round_part = _slug(view.round_name) or _slug(view.round_key)

    return _file_name("distribution", [_slug(view.coop_slug), round_part], ext)


def consolidated_name(views: Sequence[GroupOrderView], ext: str = "pdf") -> str:
    """The combined order's file name: producer and delivery day."""
    require_consolidated(views)
    day = views[0].distribution_day
    when = day.isoformat() if day else _slug(views[0].round_name)
    producer = _slug(views[0].producer) or "producer"

    return _file_name("group-order", [producer, when], ext)


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


def member_shares(view: GroupOrderView) -> list[Share]:
    """Shares that put something in a bag, by pickup place, member and product."""
    shares = [share for share in view.shares if share.allocated > 0]

    return sorted(
        shares,
        key=lambda s: (
            collate(place_of(s, view)),
            collate(s.member_name),
            collate(s.name),
        ),
    )


def handouts(views: Sequence[GroupOrderView]) -> list[Handout]:
    """Every member's shares of a round, by pickup place and name.

    Shares a member gets nothing of stay in, so the list can say why.
    """
    groups: dict[tuple[str, str, int], list[tuple[str, Share]]] = {}
    for view in views:
        for share in view.shares:
            key = (place_of(share, view), share.member_name, share.customer_id)
            groups.setdefault(key, []).append((view.producer, share))

    keys = sorted(groups, key=lambda k: (collate(k[0]), collate(k[1]), k[2]))

    return [Handout(*key, items=tuple(_by_product(groups[key]))) for key in keys]


def combine(views: Sequence[GroupOrderView]) -> list[Combined]:
    """Sum one producer's products over several coops, sorted by name.

    Coops have shops of their own, so a product is known by its POT ID and
    unit, or by SKU, name and unit where it has no POT ID.
    """
    parts: dict[tuple[str, ...], list[tuple[GroupOrderView, ProductTotal]]] = {}
    for view in views:
        for line in view.lines:
            key = (line.pot_id,) if line.pot_id else (line.sku, line.name)
            parts.setdefault((*key, line.unit), []).append((view, line))

    combined = [Combined(_sum(group), tuple(group)) for group in parts.values()]

    return sorted(combined, key=lambda c: (collate(c.line.name), c.line.sku))


def require_lines(view: GroupOrderView) -> None:
    """Refuse a group order that cannot be right: no lines, or a wrong total."""
    if not view.lines:
        raise ValueError(
            f"group order of {view.producer!r} in {view.round_key} has no lines"
        )
    lines_total = sum((line.amount for line in view.lines), ZERO)
    if lines_total != view.total:
        raise ValueError(
            f"group order of {view.producer!r} in {view.round_key}: total "
            f"{view.total} is not the sum of its lines, {lines_total}"
        )


def require_one_round(views: Sequence[GroupOrderView]) -> GroupOrderView:
    """The first of views that must all be of one coop's round."""
    if not views:
        raise ValueError("no group orders given")
    rounds = {(view.coop_slug, view.round_key) for view in views}
    if len(rounds) > 1:
        raise ValueError(f"group orders of more than one round: {sorted(rounds)}")

    return views[0]


def require_consolidated(views: Sequence[GroupOrderView]) -> None:
    """Views to combine need lines; they are one producer's by configuration.

    Each coop may call that producer by a name of its own, so names are not
    compared: documents use the first view's.
    """
    if not views:
        raise ValueError("no group orders given")
    for view in views:
        require_lines(view)


def _sum(group: Sequence[tuple[GroupOrderView, ProductTotal]]) -> ProductTotal:
    lines = [line for _, line in group]
    sizes = {line.pack_size for line in lines}
    pack_size = sizes.pop() if len(sizes) == 1 else None
    packs = None
    if pack_size is not None and all(line.packs is not None for line in lines):
        packs = sum((line.packs or ZERO for line in lines), ZERO)

    return dataclasses.replace(
        lines[0],
        pack_size=pack_size,
        packs=packs,
        ordered=sum((line.ordered for line in lines), ZERO),
        quantity=sum((line.quantity for line in lines), ZERO),
        amount=sum((line.amount for line in lines), ZERO),
    )


def _by_product(items: list[tuple[str, Share]]) -> list[tuple[str, Share]]:
    return sorted(items, key=lambda item: (collate(item[1].name), item[0]))


def _product_head(w: Mapping[str, str]) -> list[str]:
    keys = ["sku", "pot_id", "product", "unit", "pack_size", "packs", "quantity"]

    return [w[key] for key in keys] + [w["unit_price"], w["amount"]]


def _product_cells(line: ProductTotal) -> list[str]:
    texts = [line.sku, line.pot_id, line.name, line.unit]

    return [
        *map(_cell, texts),
        "" if line.pack_size is None else format_quantity(line.pack_size),
        "" if line.packs is None else format_quantity(line.packs),
        format_quantity(line.quantity),
        _plain(line.unit_price),
        _plain(line.amount),
    ]


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)

    return out.getvalue().encode("utf-8-sig")


def _plain(amount: Decimal) -> str:
    return f"{round_chf(amount):f}"


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _round_facts(view: GroupOrderView, lang: str, zone: ZoneInfo) -> dict[str, object]:
    """What every e-mail about one group order may say about its round."""
    day = view.distribution_day

    return {
        "coop_name": view.coop_name,
        "coop_email": view.coop_email,
        "producer": view.producer,
        "round_name": view.round_name,
        "deadline": deadline_text(view.closes_at, lang, zone),
        "distribution": day_text(day, lang) if day else None,
        "pickup_place": view.pickup_place,
        "note": view.note,
    }


def _attachments(view: GroupOrderView) -> dict[str, str | None]:
    members = attachment_name(view, "csv", part="members") if view.per_member else None

    return {
        "pdf": attachment_name(view, "pdf"),
        "csv": attachment_name(view, "csv"),
        "members_csv": members,
    }


def _command(action: str, view: GroupOrderView) -> str:
    words_ = ["pot-bridge", "group-order", action, view.coop_slug, view.round_key]

    return shlex.join([*words_, view.producer])


def _changes(
    previous: Sequence[ProductTotal], current: Sequence[ProductTotal]
) -> list[tuple[ProductTotal, ProductTotal | None, ProductTotal | None]]:
    """The lines that changed: either line, then before and now (None if absent)."""

    def key(line: ProductTotal) -> tuple[int, str, str]:
        return (line.product_id, line.sku, line.name if line.product_id == 0 else "")

    before = {key(line): line for line in previous}
    now = {key(line): line for line in current}

    def facts(line: ProductTotal | None) -> tuple[object, ...]:
        return () if line is None else (line.quantity, line.packs, line.amount)

    keys = before.keys() | now.keys()
    changed = [k for k in keys if facts(before.get(k)) != facts(now.get(k))]
    changed.sort(key=lambda k: (collate((before.get(k) or now[k]).name), k))

    return [(now.get(k) or before[k], before.get(k), now.get(k)) for k in changed]


def _change_row(
    line: ProductTotal, before: ProductTotal | None, now: ProductTotal | None
) -> list[str]:
    old = before.quantity if before else ZERO
    new = now.quantity if now else ZERO
    sign = "+" if new > old else ""

    return [
        line.name,
        _with_packs(before) if before else NO_PLACE,
        _with_packs(now) if now else NO_PLACE,
        sign + quantity_text(new - old, line.unit),
    ]


def _with_packs(line: ProductTotal) -> str:
    packs = packs_text(line)
    quantity = quantity_text(line.quantity, line.unit)

    return f"{quantity} ({packs})" if packs else quantity


def _order_table(
    lines: Sequence[ProductTotal], total: Decimal, w: Mapping[str, str]
) -> list[str]:
    """Product, SKU, quantity, packs where any, amount; members' order below."""
    packed = any(line.packs is not None for line in lines)
    head = [w["product"], w["sku"], w["quantity"]]
    head += [w["in_packs"]] if packed else []
    head += [w["amount"]]

    rows = []
    for line in lines:
        name = line.name
        if line.quantity != line.ordered:
            ordered = quantity_text(line.ordered, line.unit)
            name += "\n  " + w["ordered"].format(quantity=ordered)
        cells = [name, line.sku, quantity_text(line.quantity, line.unit)]
        cells += [packs_text(line)] if packed else []
        rows.append([*cells, format_chf(line.amount)])
    foot = [w["total"], *[""] * (len(head) - 2), format_chf(total)]

    return _text_table(head, rows, foot)


def _text_table(
    head: Sequence[str], rows: Sequence[Sequence[str]], foot: Sequence[str] = ()
) -> list[str]:
    """Columns aligned for a fixed-width font, the last one to the right.

    The first column wraps, and a line break in it starts a line of its own, so
    long names and notes go down rather than push the other columns.
    """
    widths = [len(text) for text in head]
    for row in (*rows, foot):
        for i, text in enumerate(row):
            widths[i] = max(widths[i], *(len(part) for part in text.split("\n")))
    widths[0] = min(widths[0], _NAME_WIDTH)

    def format_row(cells: Sequence[str]) -> str:
        left = [
            f"{text:<{width}}"
            for text, width in zip(cells[:-1], widths[:-1], strict=True)
        ]
        return "  ".join([*left, f"{cells[-1]:>{widths[-1]}}"]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [format_row(head), rule]
    for row in rows:
        first = [
            part
            for paragraph in row[0].split("\n")
            for part in textwrap.wrap(paragraph, widths[0]) or [""]
        ]
        lines.append(format_row([first[0], *row[1:]]))
        lines.extend(format_row([more, *[""] * (len(row) - 1)]) for more in first[1:])
    if foot:
        lines += [rule, format_row(foot)]

    return lines


def _render(name: str, lang: str, **context: object) -> tuple[str, str]:
    """Render a template whose first line is the subject."""
    words(lang)  # refuses an unknown language before looking for its template
    text = _environment().get_template(f"{name}.{lang}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")

    return subject.strip(), body.lstrip("\n")


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


def _file_name(kind: str, parts: Sequence[str], ext: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"not a file extension: {ext!r}")

    return kind + "-" + "-".join(part for part in parts if part) + "." + ext


def _slug(text: str) -> str:
    """Hof Müller & Söhne → hof-mueller-soehne."""
    text = text.lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")

    return slug[:40].rstrip("-")
