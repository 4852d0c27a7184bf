"""What the bridge remembers of each product it pushed, as the plan reads it.

A `CatalogItem` row keeps, in `pushed`, the value of each field as last sent,
plus a little bookkeeping under keys that start with `_`: how the shop shows
a field when that differs from what was sent (`_shown`: a `view` read renders
descriptions; None when the shop could not be read back after a write), and
an image sent without an answer or refused (`_image_pending`,
`_image_refused`), so it is neither lost nor sent twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pot_bridge.store.schema import CatalogItem

SHOWN = "_shown"  # in `pushed`: fields the shop shows otherwise than sent
PENDING = "_image_pending"  # an image sent without an answer
REFUSED = "_image_refused"  # an image the shop refused


@dataclass(frozen=True)
class ItemState:
    """A `CatalogItem` as the plan reads it (a plain value, no session)."""

    pot_id: str
    product_id: int | None = None
    sku: str = ""
    listed: bool = True
    pushed: Mapping[str, Any] = field(default_factory=dict)
    owned: tuple[str, ...] = ()
    image_src: str = ""
    image_id: int | None = None
    held: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: CatalogItem) -> ItemState:
        return cls(
            pot_id=row.pot_id,
            product_id=row.product_id,
            sku=row.sku,
            listed=row.listed,
            pushed=dict(row.pushed or {}),
            owned=tuple(row.owned or ()),
            image_src=row.image_src,
            image_id=row.image_id,
            held=dict(row.held or {}),
        )


def fields_of(item: ItemState | None) -> dict[str, Any]:
    """The values the bridge last wrote, without its own bookkeeping."""
    if item is None:
        return {}
    return {k: v for k, v in item.pushed.items() if not k.startswith("_")}
