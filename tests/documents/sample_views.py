"""Group orders written by hand, as the documents receive them.

Foodcoop Nord's round "Bestellrunde KW 50" ends on Thursday 10 December 2026
(it closes at Friday 00:00 in Zurich) and is handed out on Saturday. Hof
Sonnenberg packs per member and sells apples and eggs in packs of six:

    product                   ordered  to the producer  packs  price    amount
    Äpfel Gala        kg           10               12  2 × 6   4.20     50.40
    Bergkäse; mild…   Stück         3                3         409.05  1'227.15
    Dinkelmehl hell   500 g         2                1           3.10      3.10
    Eier              Stück         8                6  1 × 6    0.80      4.80
                                                                       1'285.45

Mühle Thal delivers polenta to the same round.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pot_bridge.group_order import GroupOrderView, ProductTotal, Share

CUSTOMERS = {"Anna Muster": 1, "Beat Keller": 2, "Chloé Œuvray": 3, "Dana Roth": 4}


def product(
    product_id: int,
    sku: str,
    pot_id: str,
    name: str,
    unit: str,
    quantity: str,
    price: str,
    *,
    ordered: str | None = None,
    pack: str | None = None,
    packs: str | None = None,
) -> ProductTotal:
    """One product line; the amount is the quantity at the price."""
    return ProductTotal(
        product_id=product_id,
        sku=sku,
        pot_id=pot_id,
        name=name,
        unit=unit,
        pack_size=None if pack is None else Decimal(pack),
        packs=None if packs is None else Decimal(packs),
        ordered=Decimal(ordered or quantity),
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        amount=Decimal(quantity) * Decimal(price),
    )


def share(
    member: str,
    place: str,
    line: ProductTotal,
    ordered: str,
    allocated: str | None = None,
    reason: str = "full",
) -> Share:
    """One member's order line of `line`'s product."""
    customer_id = CUSTOMERS[member]

    return Share(
        order_id=100 + customer_id,
        item_id=1000 * customer_id + line.product_id,
        product_id=line.product_id,
        customer_id=customer_id,
        member_name=member,
        email=f"member{customer_id}@nord.invalid",
        pickup_place=place,
        name=line.name,
        sku=line.sku,
        unit=line.unit,
        ordered=Decimal(ordered),
        allocated=Decimal(allocated or ordered),
        reason=reason,
    )


def view(
    producer: str, lines: tuple[ProductTotal, ...], **changes: Any
) -> GroupOrderView:
    """A group order of Foodcoop Nord's round KW 50; `changes` override fields."""
    base = GroupOrderView(
        coop_slug="nord",
        coop_name="Foodcoop Nord",
        coop_email="bestellen@nord.invalid",
        producer=producer,
        round_key="plugin:130",
        round_name="Bestellrunde KW 50",
        closes_at=datetime(2026, 12, 10, 23, 0, tzinfo=UTC),  # Fri 00:00 in Zurich
        distribution_day=date(2026, 12, 12),
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        coop_address=("Foodcoop Nord", "Hauptstrasse 1", "8006 Zürich"),
        pickup_place="Quartierhaus",
        note="Bitte bis 10 Uhr ans Hintertor liefern",
    )

    return dataclasses.replace(base, **changes)


APPLES = product(
    11, "APF-1", "31337", "Äpfel Gala", "kg", "12", "4.20",
    ordered="10", pack="6", packs="2",
)  # fmt: skip
CHEESE = product(12, "KAE-22", "4711", "Bergkäse; mild gereift", "Stück", "3", "409.05")
FLOUR = product(13, "MEHL-5", "", "Dinkelmehl hell", "500 g", "1", "3.10", ordered="2")
EGGS = product(
    14, "EI-6", "2001", "Eier", "Stück", "6", "0.80",
    ordered="8", pack="6", packs="1",
)  # fmt: skip
POLENTA = product(21, "POL-1", "5150", "Polenta grob", "kg", "2", "5.50")

SONNENBERG = view(
    "Hof Sonnenberg",
    (APPLES, CHEESE, FLOUR, EGGS),
    per_member=True,
    shares=(
        share("Anna Muster", "Bahnhof", APPLES, "4"),
        share("Anna Muster", "Bahnhof", CHEESE, "1"),
        share("Anna Muster", "Bahnhof", EGGS, "4"),
        share("Beat Keller", "", APPLES, "6"),
        share("Beat Keller", "", CHEESE, "2"),
        share("Beat Keller", "", EGGS, "4", "2", "packs"),
        share("Chloé Œuvray", "Markt", FLOUR, "1"),
        share("Dana Roth", "Markt", FLOUR, "1", "0", "short-delivery"),
    ),
)
THAL = view(
    "Mühle Thal",
    (POLENTA,),
    note="",
    shares=(
        share("Anna Muster", "Bahnhof", POLENTA, "1"),
        share("Dana Roth", "Markt", POLENTA, "1"),
        share("Chloé Œuvray", "Markt", POLENTA, "1", "0", "below-minimum"),
    ),
)
SUED = view(
    "Hof Sonnenberg",
    (
        dataclasses.replace(APPLES, product_id=7, sku="A-77"),
        product(8, "K-88", "4711", "Bergkäse; mild gereift", "Stück", "1", "409.05"),
    ),
    coop_slug="sued",
    coop_name="Foodcoop Süd",
    coop_email="sued@coop.invalid",
    round_key="plugin:12",
    round_name="Runde 50",
    coop_address=("Bahnweg 3", "3011 Bern"),
    pickup_place="Lager Wankdorf",
    note="",
)
