"""The PDFs: a producer's group order, one producer's order from several coops,
and the distribution list of a coop's round.

They say what the e-mails and CSV files say, with the same words and checks
(`pot_bridge.wording`, `pot_bridge.handout`), laid out to print on A4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from pot_bridge import pdf_distribution
from pot_bridge.group_order import GroupOrderView, ProductTotal
from pot_bridge.handout import (
    combine,
    member_shares,
    require_consolidated,
    require_lines,
)
from pot_bridge.money import ZERO, format_chf, format_quantity
from pot_bridge.pdf_layout import (
    Cell,
    Story,
    facts,
    grid,
    heading,
    render,
    text,
    with_note,
)
from pot_bridge.wording import (
    SWISS,
    Language,
    day_text,
    deadline_text,
    place_of,
    postal_address,
    words,
)

# Column widths in mm; each set fills the 180 mm between the margins.
_PRODUCT_WIDTHS = (23, 15, 40, 16, 21, 17, 15, 15, 18)
_COMBINED_WIDTHS = (23, 15, 55, 16, 21, 17, 15, 18)
_MEMBER_WIDTHS = (38, 42, 64, 20, 16)


def group_order_pdf(
    view: GroupOrderView, lang: Language, zone: ZoneInfo = SWISS
) -> bytes:
    """The group order to print: who orders, for which round, and what.

    Members' names appear only for a producer who packs per member.
    """
    require_lines(view)
    w = words(lang)

    def story() -> Story:
        parts = _letterhead(view, f"{w['order']} – {view.producer}")
        parts.append(facts(_round_facts(view, lang, zone)))
        parts += [Spacer(1, 5 * mm), product_table(view.lines, view.total, w)]
        if view.per_member:
            parts += heading(w["by_member"])
            parts.append(_member_table(view, w))
        return parts

    return render(
        story,
        title=f"{w['order']} {view.coop_name} – {view.round_name}",
        author=view.coop_name,
        footer=f"{view.coop_name} · {view.round_name} · {view.producer}",
    )


def consolidated_pdf(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo = SWISS
) -> bytes:
    """One producer's orders from several coops: the total, then each coop's part."""
    require_consolidated(views)
    w = words(lang)
    producer, day = views[0].producer, views[0].distribution_day
    when = day_text(day, lang) if day else views[0].round_name
    grand = sum((view.total for view in views), ZERO)

    def story() -> Story:
        parts: Story = [text(f"{w['combined_order']} – {producer}", 14, bold=True)]
        parts.append(Spacer(1, 4 * mm))
        coops = "\n".join(view.coop_name for view in views)
        parts.append(facts([(w["delivery_day"], when), (w["coop"], coops)]))
        parts += heading(w["all_coops"])
        lines = [product.line for product in combine(views)]
        parts.append(product_table(lines, grand, w, prices=False))
        for view in views:
            parts += heading(view.coop_name)
            parts.append(facts(_coop_facts(view, lang, zone)))
            parts += [Spacer(1, 2 * mm), product_table(view.lines, view.total, w)]
        return parts

    return render(
        story,
        title=f"{w['combined_order']} {producer} – {when}",
        author=", ".join(view.coop_name for view in views),
        footer=f"{w['combined_order']} · {producer} · {when}",
    )


def distribution_pdf(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo = SWISS
) -> bytes:
    """The list for those who hand out a coop's round; see `pdf_distribution`."""
    return pdf_distribution.distribution_pdf(views, lang, zone)


def product_table(
    lines: Sequence[ProductTotal],
    total: Decimal,
    w: Mapping[str, str],
    *,
    prices: bool = True,
) -> Flowable:
    """The products with their packs, members' order noted where packs changed it."""
    keys = ["sku", "pot_id", "product", "unit", "pack_size", "packs", "quantity"]
    head = [w[key] for key in keys] + ([w["price"]] if prices else []) + [w["amount"]]

    rows = []
    for line in lines:
        note = ""
        if line.quantity != line.ordered:
            note = w["ordered"].format(quantity=format_quantity(line.ordered))
        row: list[Cell] = [line.sku, line.pot_id]
        row += [with_note(line.name, note), line.unit]
        row += [_number(line.pack_size), _number(line.packs)]
        row += [format_quantity(line.quantity)]
        row += [format_chf(line.unit_price)] if prices else []
        rows.append([*row, format_chf(line.amount)])
    foot: list[Cell] = ["", "", w["total"], *[""] * (len(head) - 4), format_chf(total)]

    widths = _PRODUCT_WIDTHS if prices else _COMBINED_WIDTHS
    right = range(4, len(head))

    return grid(head, rows, widths, right=right, foot=foot)


def _member_table(view: GroupOrderView, w: Mapping[str, str]) -> Flowable:
    """Who gets what, the place and the name shown where they change."""
    keys = ["pickup_place", "member", "product", "unit", "quantity"]

    rows = []
    last_place = last_member = None
    for share in member_shares(view):
        place = place_of(share, view)
        new_place = place != last_place
        new_member = new_place or share.member_name != last_member
        rows.append(
            [
                place if new_place else "",
                share.member_name if new_member else "",
                share.name,
                share.unit,
                format_quantity(share.allocated),
            ]
        )
        last_place, last_member = place, share.member_name

    return grid([w[key] for key in keys], rows, _MEMBER_WIDTHS, right=[4])


def _letterhead(view: GroupOrderView, title: str) -> Story:
    address = "\n".join(postal_address(view))

    return [
        text(view.coop_name, 12, bold=True),
        text(address, 9),
        Spacer(1, 8 * mm),
        text(title, 14, bold=True),
        Spacer(1, 4 * mm),
    ]


def _round_facts(
    view: GroupOrderView, lang: Language, zone: ZoneInfo
) -> list[tuple[str, str]]:
    w = words(lang)
    day = view.distribution_day

    return [
        (w["producer"], view.producer),
        (w["round"], view.round_name),
        (w["deadline"], deadline_text(view.closes_at, lang, zone)),
        (w["distribution_day"], day_text(day, lang) if day else ""),
        (w["pickup_place"], view.pickup_place),
        (w["contact"], view.coop_email or ""),
        (w["note"], view.note),
    ]


def _coop_facts(
    view: GroupOrderView, lang: Language, zone: ZoneInfo
) -> list[tuple[str, str]]:
    w = words(lang)
    point = [view.pickup_place, view.coop_name, *postal_address(view)]

    return [
        (w["delivery_point"], "\n".join(part for part in point if part)),
        (w["round"], view.round_name),
        (w["deadline"], deadline_text(view.closes_at, lang, zone)),
        (w["contact"], view.coop_email or ""),
        (w["note"], view.note),
    ]


def _number(value: Decimal | None) -> str:
    return "" if value is None else format_quantity(value)
