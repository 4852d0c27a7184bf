"""Tables in plain-text e-mails, lined up for a fixed-width font.

A group order's lines, and what a correction changed since the producer's last
mail. Names wrap in the first column rather than push the others aside.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pot_bridge.group_order import ProductTotal
from pot_bridge.money import ZERO, format_chf
from pot_bridge.wording import NO_PLACE, collate, packs_text, quantity_text

_NAME_WIDTH = 36


def order_table(
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


def change_table(
    previous: Sequence[ProductTotal],
    current: Sequence[ProductTotal],
    w: Mapping[str, str],
) -> list[str]:
    """Product, before, now and the difference; no lines when nothing changed."""
    head = [w["product"], w["before"], w["now"], w["difference"]]
    rows = [_change_row(*pair) for pair in _changes(previous, current)]

    return _text_table(head, rows) if rows else []


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
