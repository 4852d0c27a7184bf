"""The distribution list: what each member collects, what each producer brings.

It is for the people who hand out a coop's round. Part 1 goes by pickup place
and member, with a box to tick and, where a member gets less than ordered,
what they ordered and why. Part 2 goes by producer, to check the delivery and
put what is beyond the members' orders into stock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from zoneinfo import ZoneInfo

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Spacer

from pot_bridge.group_order import GroupOrderView
from pot_bridge.handout import Handout, handouts, require_one_round
from pot_bridge.money import format_quantity
from pot_bridge.pdf_layout import (
    BOLD,
    Cell,
    CheckBox,
    Story,
    facts,
    grid,
    heading,
    render,
    text,
    with_note,
)
from pot_bridge.wording import (
    Language,
    day_text,
    deadline_text,
    packs_text,
    reason_text,
    words,
)

# Column widths in mm; each set fills the 180 mm between the margins.
_HANDOUT_WIDTHS = (36, 54, 18, 18, 46, 8)
_RECEIVING_WIDTHS = (80, 18, 18, 22, 34, 8)


def distribution_pdf(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo
) -> bytes:
    """The distribution list of one coop's round, one view per producer."""
    first = require_one_round(views)
    w = words(lang)
    handed = handouts(views)

    def story() -> Story:
        parts = _head(views, handed, lang, zone)
        parts += heading(w["handing_out"], 13)
        for index, (place, group) in enumerate(_by_place(handed)):
            if index:
                parts.append(PageBreak())
            parts += heading(w["pickup_place"] + w["colon"] + place)
            parts.append(text(w["members"] + w["colon"] + str(len(group)), grey=True))
            parts += [Spacer(1, 2 * mm), _handout_table(group, lang)]
        parts += [PageBreak(), *heading(w["receiving"], 13)]
        for view in views:
            parts += heading(view.producer)
            parts.append(_receiving_table(view, w))
        return parts

    title = f"{w['distribution_list']} {first.coop_name} – {first.round_name}"

    return render(
        story,
        title=title,
        author=first.coop_name,
        footer=f"{w['distribution_list']} · {first.coop_name} · {first.round_name}",
    )


def _head(
    views: Sequence[GroupOrderView],
    handed: Sequence[Handout],
    lang: Language,
    zone: ZoneInfo,
) -> Story:
    w = words(lang)
    first = views[0]
    day = first.distribution_day
    members = {(h.customer_id, h.member) for h in handed}

    pairs = [
        (w["round"], first.round_name),
        (w["distribution_day"], day_text(day, lang) if day else ""),
        (w["deadline"], deadline_text(first.closes_at, lang, zone)),
        (w["producer"], "\n".join(view.producer for view in views)),
        (w["members"], str(len(members))),
    ]

    return [
        text(f"{w['distribution_list']} – {first.round_name}", 14, bold=True),
        text(first.coop_name, 10),
        Spacer(1, 4 * mm),
        facts(pairs),
    ]


def _by_place(handed: Sequence[Handout]) -> Iterator[tuple[str, list[Handout]]]:
    """Handouts grouped by pickup place; `handouts` sorted them by place already."""
    for place, group in groupby(handed, key=lambda h: h.place):
        yield place, list(group)


def _handout_table(group: Sequence[Handout], lang: Language) -> Flowable:
    """One row per share, the member's name on the first; a line between members."""
    w = words(lang)
    keys = ["member", "product", "unit", "quantity", "note", "check"]
    head = [w[key] for key in keys]

    rows: list[list[Cell]] = []
    firsts = []
    for handout in group:
        firsts.append(len(rows) + 1)
        for index, (producer, share) in enumerate(handout.items):
            note = ""
            if share.allocated < share.ordered:
                note = w["ordered_because"].format(
                    quantity=format_quantity(share.ordered),
                    reason=reason_text(share.reason, lang),
                )
            rows.append(
                [
                    text(handout.member, bold=True) if index == 0 else "",
                    with_note(share.name, producer),
                    share.unit,
                    format_quantity(share.allocated),
                    note,
                    CheckBox(),
                ]
            )
    lines = [("LINEABOVE", (0, row), (-1, row), 0.6, "black") for row in firsts]

    return grid(head, rows, _HANDOUT_WIDTHS, right=[3], extra=lines)


def _receiving_table(view: GroupOrderView, w: Mapping[str, str]) -> Flowable:
    """What the producer brings, in packs where it packs, and what goes to stock."""
    keys = ["product", "unit", "quantity", "in_packs", "stock", "check"]

    rows: list[list[Cell]] = [
        [
            with_note(line.name, line.sku),
            line.unit,
            format_quantity(line.quantity),
            packs_text(line),
            format_quantity(line.surplus) if line.surplus > 0 else "",
            CheckBox(),
        ]
        for line in view.lines
    ]
    bold = [("FONT", (4, 1), (4, -1), BOLD, 8)]

    return grid(
        [w[key] for key in keys], rows, _RECEIVING_WIDTHS, right=[2, 4], extra=bold
    )
