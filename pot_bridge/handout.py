"""Who collects what, and what one producer gets from several coops.

The distribution list and a producer's documents read the same shares in the
same order, and every document checks its group orders here before it is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from pot_bridge.group_order import GroupOrderView, ProductTotal, Share
from pot_bridge.money import ZERO
from pot_bridge.wording import collate, place_of


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
