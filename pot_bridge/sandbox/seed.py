"""A realistic Zurich coop to run the sandbox shop with, and a bulk variant.

`seed_coop` stages every situation the bridge must get right in one small
shop (ids are stable, see `SEED`); `seed_bulk` builds thousands of orders
for benchmarks. All personal data is fake (example.org, +41 79 000 00 NN).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal

from pot_bridge.sandbox.model import WALLET
from pot_bridge.sandbox.state import BRIDGE_USER_ID, ShopState
from pot_bridge.sandbox.wallet import wall_time
from pot_bridge.sandbox.wire import SITE_TZ

SUPPLIERS = (
    "Hof Sonnenberg",
    "Käserei Talgrund",
    "Bäckerei Kornblume",
    "Mühle Lindenau",
    "Gemüsekooperative Lieferdienst",
)
CATEGORIES = {
    "veg": (16, "Gemüse &amp; Früchte", "gemuese-fruechte"),
    "dairy": (17, "Milchprodukte", "milchprodukte"),
    "bread": (18, "Brot", "brot"),
    "dry": (19, "Trockenprodukte", "trockenprodukte"),
    "drinks": (20, "Getränke", "getraenke"),
    "home": (21, "Haushalt", "haushalt"),
    "none": (15, "Uncategorized", "uncategorized"),
}
# name, sku suffix, price, unit, lot, supplier index (None: no meta), producer,
# origin, category, tax class, stock
_V, _D, _B, _T = "veg", "dairy", "bread", "dry"
PRODUCTS: list[
    tuple[str, int, str, str, str, int | None, str, str, str, str, int | None]
] = [
    (
        "Karotten",
        101,
        "3.20",
        "kg",
        "10",
        4,
        "Hof Sonnenberg",
        "Schweiz, ZH",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Kartoffeln festkochend",
        102,
        "2.90",
        "kg",
        "25",
        4,
        "Hof Sonnenberg",
        "Schweiz, ZH",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Randen gekocht",
        103,
        "4.50",
        "500 g",
        "6",
        4,
        "Hof Sonnenberg",
        "Schweiz, ZH",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Lauch",
        104,
        "4.80",
        "kg",
        "5",
        4,
        "Hof Sonnenberg",
        "Schweiz, TG",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Zwiebeln gelb",
        105,
        "3.10",
        "kg",
        "10",
        4,
        "Hof Sonnenberg",
        "Schweiz, TG",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Äpfel Gala",
        106,
        "4.20",
        "kg",
        "12",
        0,
        "Hof Sonnenberg",
        "Schweiz, TG",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Nüsslisalat",
        107,
        "3.45",
        "100 g",
        "10",
        4,
        "Hof Sonnenberg",
        "Schweiz, ZH",
        _V,
        "reduced-rate",
        None,
    ),
    (
        "Eier Freiland",
        108,
        "5.40",
        "6 Stk",
        "10",
        0,
        "Hof Sonnenberg",
        "Schweiz, ZH",
        _D,
        "reduced-rate",
        None,
    ),
    (
        "Vollmilch",
        111,
        "1.90",
        "Liter",
        "12",
        1,
        "Käserei Talgrund",
        "Schweiz, SG",
        _D,
        "reduced-rate",
        60,
    ),
    (
        "Joghurt nature",
        112,
        "1.60",
        "180 g",
        "12",
        1,
        "Käserei Talgrund",
        "Schweiz, SG",
        _D,
        "reduced-rate",
        48,
    ),
    (
        "Bergkäse",
        113,
        "38.50",
        "kg",
        "1",
        1,
        "Käserei Talgrund",
        "Schweiz, SG",
        _D,
        "reduced-rate",
        None,
    ),
    (
        "Butter",
        114,
        "4.60",
        "250 g",
        "20",
        1,
        "Käserei Talgrund",
        "Schweiz, SG",
        _D,
        "reduced-rate",
        40,
    ),
    (
        "Quark mager",
        115,
        "2.40",
        "250 g",
        "12",
        1,
        "Käserei Talgrund",
        "Schweiz, SG",
        _D,
        "reduced-rate",
        24,
    ),
    (
        "Ruchbrot",
        121,
        "4.20",
        "500 g",
        "1",
        2,
        "Bäckerei Kornblume",
        "Schweiz, ZH",
        _B,
        "reduced-rate",
        None,
    ),
    (
        "Dinkelbrot",
        122,
        "4.90",
        "500 g",
        "1",
        2,
        "Bäckerei Kornblume",
        "Schweiz, ZH",
        _B,
        "reduced-rate",
        None,
    ),
    (
        "Butterzopf",
        123,
        "6.80",
        "500 g",
        "1",
        2,
        "Bäckerei Kornblume",
        "Schweiz, ZH",
        _B,
        "reduced-rate",
        None,
    ),
    (
        "Weggli",
        124,
        "0.90",
        "Stk",
        "10",
        2,
        "Bäckerei Kornblume",
        "Schweiz, ZH",
        _B,
        "reduced-rate",
        None,
    ),
    (
        "Dinkelmehl",
        131,
        "3.80",
        "kg",
        "10",
        3,
        "Mühle Lindenau",
        "Schweiz, SH",
        _T,
        "reduced-rate",
        30,
    ),
    (
        "Polenta",
        132,
        "3.15",
        "500 g",
        "12",
        3,
        "Mühle Lindenau",
        "Schweiz, TI",
        _T,
        "reduced-rate",
        12,
    ),
    (
        "Haferflocken",
        133,
        "2.70",
        "500 g",
        "12",
        3,
        "Mühle Lindenau",
        "Schweiz, SH",
        _T,
        "reduced-rate",
        36,
    ),
    (
        "Rapsöl kaltgepresst",
        134,
        "9.50",
        "5 dl",
        "6",
        3,
        "Mühle Lindenau",
        "Schweiz, SH",
        _T,
        "reduced-rate",
        0,
    ),
    (
        "Apfelsaft naturtrüb",
        141,
        "3.80",
        "Liter",
        "6",
        0,
        "Hof Sonnenberg",
        "Schweiz, TG",
        "drinks",
        "reduced-rate",
        None,
    ),
    (
        "Bienenwachstuch",
        151,
        "12.00",
        "Stk",
        "1",
        0,
        "Hof Sonnenberg",
        "Schweiz, ZH",
        "home",
        "",
        None,
    ),
    (
        "Kürbiskernöl",
        135,
        "14.90",
        "2.5 dl",
        "6",
        3,
        "Mühle Lindenau",
        "Österreich",
        _T,
        "reduced-rate",
        None,
    ),
    (
        "Blütenhonig",
        142,
        "14.50",
        "500 g",
        "12",
        None,
        "Imkerei Waldrand",
        "Schweiz, ZH",
        _T,
        "reduced-rate",
        None,
    ),
]
MEMBERS = [
    ("Lea", "Müller", "Langstrasse 12", "8004"),
    ("Jonas", "Keller", "Röntgenstrasse 5", "8005"),
    ("Mia", "Schneider", "Badenerstrasse 101", "8004"),
    ("Noah", "Weber", "Seebahnstrasse 20", "8003"),
    ("Elena", "Rossi", "Zweierstrasse 44", "8004"),
    ("Luca", "Meier", "Josefstrasse 9", "8005"),
    ("Sofia", "Frei", "Weinbergstrasse 33", "8006"),
    ("Nina", "Baumann", "Hohlstrasse 70", "8004"),
    ("Leon", "Fischer", "Kalkbreitestrasse 2", "8003"),
    ("Anna", "Huber", "Limmatstrasse 150", "8005"),
]

# bank deposits booked before the rounds (member id, CHF); member 11 has no
# wallet rows, so the plugin shows no balance for her
DEPOSITS = {2: 150, 3: 120, 4: 100, 5: 80, 6: 60, 7: 200, 8: 90, 9: 50, 10: 60}
YEARLY_FEE_PAID = (2, 3, 7)

# ids tests can rely on (seed_coop)
SEED = {
    "round_a": 129,
    "round_b": 130,
    "a_orders": (131, 132, 133, 134),
    "block_checkout": 135,
    "block_checkout_second": 144,
    "reorder_old": 136,
    "reorder_new": 139,
    "refunded_order": 137,
    "refund": 141,
    "cancelled": 138,
    "guest_cod": 140,
    "decimal_qty": 142,
    "classic": 143,
    "members": tuple(range(2, 12)),
    "bridge_user": 14,
    "product_no_supplier": 35,
    "product_draft": 34,
    "weighed_product": 21,
    "topup_product": 36,
    "pos_product": 37,
}


@contextmanager
def _clock(state: ShopState, moment: datetime) -> Iterator[None]:
    saved = state.clock
    state.clock = lambda: moment
    try:
        yield
    finally:
        state.clock = saved


def _catalog(state: ShopState, since: datetime) -> None:
    for term in sorted(CATEGORIES.values()):
        state.add_category(*term)
    for index, row in enumerate(PRODUCTS):
        (name, sku, price, unit, lot, supplier, producer, origin, cat, tax, stock) = row
        meta = {"_einheit": unit, "_gebinde": lot}
        if supplier is not None:
            meta["_lieferant"] = SUPPLIERS[supplier]
        meta.update(
            {
                "_produzent": producer,
                "_herkunft": origin,
                "_loonity_id": str(40100 + sku),
            }
        )
        state.add_product(
            name,
            f"POT-000{sku}",
            Decimal(price),
            tax_class=tax,
            category=CATEGORIES[cat],
            meta=meta,
            stock=stock,
            status="draft" if name == "Kürbiskernöl" else "publish",
            created=since + timedelta(hours=7 * index),
        )
    state.add_product(
        "Foodcoop Guthaben",
        "fcplugin_instant_topup_product",
        Decimal("1.00"),
        tax_class="",
        category=CATEGORIES["none"],
        created=since,
    )
    state.add_product(
        "Foodcoop POS Product",
        "fcplugin_pos_product",
        Decimal("0.00"),
        tax_class="",
        category=CATEGORIES["none"],
        created=since,
    )


def _members(state: ShopState, since: datetime) -> None:
    state.add_customer(
        "",
        "",
        role="administrator",
        username="admin",
        email="admin@example.org",
        user_id=1,
        created=since,
    )
    for index, (first, last, street, postcode) in enumerate(MEMBERS):
        uid = index + 2
        state.add_customer(
            first,
            last,
            address=(street, postcode, "Zürich"),
            phone=f"+41 79 000 00 {uid - 1:02d}",
            user_id=uid,
            created=since + timedelta(days=3 * index, hours=index),
        )
    state.add_customer(
        "Petra", "Koch", role="foodcoop_manager", user_id=12, created=since
    )
    state.add_customer(
        "",
        "",
        role="foodcoop_manager",
        username="bridge",
        email="bridge@example.org",
        user_id=14,
        created=since,
    )


def _wallet(state: ShopState, since: datetime) -> None:
    """Deposits and yearly fees as an admin books them with postAddTransaction."""
    wallet = state.wallet
    for offset, (member, amount) in enumerate(DEPOSITS.items()):
        when = since + timedelta(minutes=offset)
        wallet.insert(
            member,
            Decimal(amount),
            f"Einzahlung Bank {when.astimezone(SITE_TZ):%d.%m.%Y}",
            BRIDGE_USER_ID,
            wall_time(when),
            "deposit",
        )
    for offset, member in enumerate(YEARLY_FEE_PAID):
        when = since + timedelta(days=1, minutes=offset)
        wallet.insert(
            member,
            Decimal(-wallet.fc_fee),
            f"Jahresbeitrag  {when.astimezone(SITE_TZ).year}",
            BRIDGE_USER_ID,
            wall_time(when),
            "yearly_fee",
        )


def seed_coop(now: datetime) -> ShopState:
    """The "Foodcoop Sandbox": 27 products, 10 members, round A closed, B open."""
    state = ShopState()
    today = now.astimezone(SITE_TZ).date()

    def at(days: int = 0, hours: float = 0) -> datetime:
        return now - timedelta(days=days, hours=hours)

    with _clock(state, at(days=200)):
        _catalog(state, at(days=200))
        _members(state, at(days=400))
    _wallet(state, at(days=12))
    state.skip_post_ids(129)
    with _clock(state, at(days=9)):
        start_a, end_a = today - timedelta(days=8), today - timedelta(days=1)
        dist_a = today + timedelta(days=1)
        state.add_round(
            f"Bestellrunde KW {dist_a.isocalendar().week}",
            start_a,
            end_a,
            dist_a,
            products=list(range(11, 34)),
        )
    with _clock(state, at(days=3)):
        dist_b = today + timedelta(days=7)
        state.add_round(
            f"Bestellrunde KW {dist_b.isocalendar().week}",
            today - timedelta(days=2),
            today + timedelta(days=5),
            dist_b,
            products=[*range(11, 34), 35],
        )

    a, b = 129, 130
    a_orders: list[tuple[int, list[tuple[int, int | Decimal]], int]] = [
        (7, [(11, 2), (24, 1), (22, 1), (14, 1)], 7),
        (8, [(19, 4), (20, 6), (18, 1), (13, 1)], 6),
        (9, [(28, 2), (29, 1), (32, 3), (35, 1)], 5),
        (10, [(12, 3), (15, 2), (21, Decimal("0.5")), (25, 1)], 3),
    ]
    for member, items, days in a_orders:
        state.add_order(member, items, round_id=a, created=at(days=days, hours=2))
        with _clock(state, at(days=days, hours=1.5)):
            state.touch(state._next_post - 1)  # the gateway's status save

    def order(
        hours: float,
        member: int,
        items: list[tuple[int, int | Decimal]],
        via: str = "checkout",
        payment_method: str = WALLET,
    ) -> int:
        created = at(hours=hours)
        return int(
            state.add_order(
                member,
                items,
                round_id=b,
                via=via,
                payment_method=payment_method,
                created=created,
            )["id"]
        )

    order(46, 2, [(11, 2), (26, 1), (19, 2)], via="store-api")
    order(44, 3, [(12, 2), (22, 1), (24, 1), (16, 2)])
    noah = order(40, 5, [(15, 1), (17, 2), (23, 2), (26, 1), (32, 3)])
    elena = order(36, 6, [(18, 1), (20, 4)])
    with _clock(state, at(hours=33)):
        state.set_status(elena, "cancelled")
    with _clock(state, at(hours=30)):
        state.reorder(136, [(12, 1), (22, 1)])
    order(26, 0, [(27, 6), (35, 1)], payment_method="cod")
    with _clock(state, at(hours=20)):
        butterzopf = state.orders[noah].lines[3].id
        state.refund(
            noah,
            {butterzopf: 1},
            reason="Mutation: Produkt nicht geliefert (Butterzopf)",
        )
    order(8, 4, [(21, Decimal("0.352")), (28, 1), (33, 1)])
    order(3, 8, [(19, 2), (30, 1), (29, 2)])
    order(1.5, 2, [(18, 1), (17, 1)], via="store-api")
    return state


def seed_bulk(
    now: datetime, orders: int = 10_000, members: int = 2_000, seed: int = 7
) -> ShopState:
    """Many members and orders over weekly rounds, for benchmarks."""
    rng = random.Random(seed)
    state = ShopState()
    today = now.astimezone(SITE_TZ).date()
    with _clock(state, now - timedelta(days=400)):
        _catalog(state, now - timedelta(days=400))
        state.add_customer(
            "",
            "",
            role="foodcoop_manager",
            username="bridge",
            email="bridge@example.org",
            user_id=1,
        )
        for uid in range(2, members + 2):
            first, last, street, postcode = MEMBERS[uid % len(MEMBERS)]
            state.add_customer(
                first,
                f"{last}{uid}",
                user_id=uid,
                address=(street, postcode, "Zürich"),
                phone=f"+41 79 000 {uid // 100 % 100:02d} {uid % 100:02d}",
            )

    weeks = max(1, min(52, orders // 400 or 1))
    rounds = []
    for week in range(weeks, -1, -1):
        end = today - timedelta(days=7 * week - 3)
        start = end - timedelta(days=6)
        with _clock(state, datetime.combine(start, time(6), SITE_TZ)):
            rnd = state.add_round(
                f"Bestellrunde {week}",
                start,
                end,
                end + timedelta(days=2),
                complete=week > 1,
            )
        rounds.append((rnd["id"], start, min(end, today), week))

    sellable = [
        pid
        for pid, p in state.products.items()
        if p.status == "publish" and p.sku.startswith("POT-")
    ]
    span = datetime.combine(rounds[0][1], time(8), SITE_TZ)
    step = (now - span) / max(orders, 1)
    for index in range(orders):
        created = span + step * index
        local_day = created.astimezone(SITE_TZ).date()
        rid, _start, _end, week = next(
            (r for r in rounds if r[1] <= local_day <= r[2]), rounds[-1]
        )
        items = [
            (pid, rng.choice((1, 1, 2, 3)))
            for pid in rng.sample(sellable, rng.randint(1, 5))
        ]
        status = (
            "completed"
            if week > 1
            else rng.choice(
                ("processing", "processing", "processing", "on-hold", "cancelled")
            )
        )
        state._add_order(
            rng.randint(2, members + 1),
            items,
            round_id=rid,
            payment_method=WALLET,
            via="checkout",
            status=status,
            created=created,
        )
    # Completion times are drawn after creation; none may lie in the future.
    latest = now - timedelta(minutes=5)
    for order in state.orders.values():
        order.modified = min(order.modified, latest)
    return state
