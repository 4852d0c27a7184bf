"""What a push would change in one coop's shop, worked out before anything is sent.

Each central product the coop carries is matched to a shop product by POT ID
(`_loonity_id`), else by SKU: a shop product with that SKU and no POT ID is
adopted, one with another POT ID is a conflict and is left alone (SKUs are on
printed QR labels; the bridge never renames one). Then, field by field, the
value the shop should show is compared with what the bridge last wrote:

- the shop shows something else than the bridge wrote: the coop edited the
  field, takes it over, and the bridge never writes it again;
- the central value moved: the field is written;
- a price change of a product in an open round is held or applied, as the
  coop chose, and said either way.

Products no longer carried, or unavailable centrally, are out-listed (out of
stock and hidden), never deleted: orders point at them. Images travel apart.

The plan is a value: `catalog diff` prints it, `catalog push` applies it, and
planning alone writes nothing, neither in the shop nor in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pot_bridge.catalog.carry import (
    SPECIAL_SKUS,
    Value,
    availability,
    carried,
    sku_for,
    unknown,
    wanted,
)
from pot_bridge.catalog.item import PENDING, REFUSED, SHOWN, ItemState, fields_of
from pot_bridge.catalog.model import Catalog, CentralProduct
from pot_bridge.catalog.shelf import Shelf, ShelfProduct, shown
from pot_bridge.config import CoopCatalog, CoopConfig

Action = Literal[
    "create", "update", "adopt", "relist", "outlist", "conflict", "skip", "keep"
]
WRITING = frozenset({"create", "update", "adopt", "relist", "outlist"})


@dataclass(frozen=True)
class Change:
    field: str
    old: Value | None
    new: Value


@dataclass
class Step:
    """One product's part of the plan.

    `settled` is what the shop holds of each field in the bridge's form before
    the write; on success the changes land on top of it. `image` is a central
    image to send (`image_reused`: as the shop's media it already is);
    `image_found` an image an unanswered send did store.
    """

    pot_id: str
    name: str
    action: Action
    product_id: int | None = None
    sku: str = ""
    listed: bool = True
    changes: list[Change] = field(default_factory=list)
    settled: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, Value] = field(default_factory=dict)
    owned: list[str] = field(default_factory=list)
    taken_over: list[str] = field(default_factory=list)
    image: str | None = None
    image_reused: int | None = None
    image_found: int | None = None
    held: dict[str, str] | None = None
    in_round: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return self.action in WRITING and bool(self.changes)


@dataclass
class Plan:
    coop: str
    version: int | None
    batch_size: int
    categories: dict[str, int]
    steps: list[Step] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def writing(self) -> list[Step]:
        return [s for s in self.steps if s.writes]

    @property
    def images(self) -> list[Step]:
        return [s for s in self.steps if s.image is not None]

    @property
    def new_categories(self) -> list[str]:
        names = {
            str(c.new) for s in self.writing for c in s.changes if c.field == "category"
        }
        return sorted(names - set(self.categories))


def plan(
    coop: CoopConfig,
    catalog: Catalog,
    shelf: Shelf,
    items: Mapping[str, ItemState],
    in_rounds: Mapping[int, str],
    *,
    product_page: str,
    version: int | None = None,
) -> Plan:
    """The plan for one coop: pure, so it can be shown before it is applied."""
    if coop.catalog is None:
        raise ValueError(f"coop {coop.slug} carries no catalog")
    planner = _Planner(coop.catalog, shelf, in_rounds, product_page)
    chosen = carried(catalog, coop.catalog)
    result = Plan(
        coop=coop.slug,
        version=version,
        batch_size=coop.catalog.batch_size,
        categories=dict(shelf.categories),
        unknown=unknown(catalog, coop.catalog),
        problems=[str(p) for p in shelf.problems],
    )

    for pot_id in sorted(set(chosen) | set(items)):
        central = chosen.get(pot_id)
        item = items.get(pot_id)
        if central is None:
            step = planner.dropped(pot_id, item)
        else:
            step = planner.carried(central, catalog, item)
        if step is not None:
            result.steps.append(step)
    result.steps.sort(key=lambda s: (s.name.casefold(), s.pot_id))

    return result


class _Planner:
    def __init__(
        self,
        carry: CoopCatalog,
        shelf: Shelf,
        in_rounds: Mapping[int, str],
        product_page: str,
    ) -> None:
        self.carry = carry
        self.in_rounds = in_rounds
        self.page = product_page
        self.by_pot: dict[str, list[ShelfProduct]] = {}
        self.by_sku: dict[str, ShelfProduct] = {}
        for product in shelf.products:
            if product.pot_id is not None:
                self.by_pot.setdefault(product.pot_id, []).append(product)
            if product.sku:
                self.by_sku.setdefault(product.sku.casefold(), product)

    def find(self, pot_id: str, item: ItemState | None) -> ShelfProduct | None:
        """The shop product with this POT ID; of several, the one pushed before."""
        found = self.by_pot.get(pot_id, [])
        known = item.product_id if item else None
        return next((p for p in found if p.id == known), found[0] if found else None)

    def dropped(self, pot_id: str, item: ItemState | None) -> Step | None:
        """A product the coop no longer carries (or the catalog no longer has)."""
        if item is None or not item.listed:
            return None
        product = self.find(pot_id, item)
        if product is None:
            return Step(pot_id, pot_id, "keep", listed=False, settled=fields_of(item))

        return self.outlisted(pot_id, item, product, adopt=False)

    def carried(
        self, central: CentralProduct, catalog: Catalog, item: ItemState | None
    ) -> Step | None:
        pot_id, sku = central.pot_id, sku_for(central)
        if sku.casefold() in SPECIAL_SKUS:
            note = f"SKU {sku} is one of the POT plugin's own products"
            return Step(pot_id, central.name, "conflict", sku=sku, notes=[note])
        product = self.find(pot_id, item)
        if product is None:
            product = self.by_sku.get(sku.casefold())
            if product is not None and product.pot_id is not None:
                note = (
                    f"SKU {sku} is taken by product #{product.id} with POT ID "
                    f"{product.pot_id}"
                )
                return Step(
                    pot_id, central.name, "conflict", product.id, sku, notes=[note]
                )
        if product is None:
            return self.created(central, catalog, item) if central.available else None
        if product.type not in ("simple", ""):
            note = f"a {product.type} product: the bridge writes simple ones only"
            return Step(
                pot_id, central.name, "skip", product.id, product.sku, notes=[note]
            )
        adopt = product.pot_id is None
        if not central.available:
            return self.outlisted(pot_id, item, product, adopt=adopt)

        return self.updated(central, catalog, item, product, adopt=adopt)

    def created(
        self, central: CentralProduct, catalog: Catalog, item: ItemState | None
    ) -> Step:
        producer = catalog.producers[central.producer_id]
        values = wanted(central, producer, self.carry, listed=True, manages_stock=False)
        step = Step(central.pot_id, central.name, "create", sku=sku_for(central))
        step.changes = [
            Change(name, None, value)
            for name, value in values.items()
            if name != "image"
        ]
        step.changes += self.identity(central.pot_id, None)
        step.image = central.image_url if "image" in values else None
        if item is not None and step.image == item.image_src and item.image_id:
            step.image_reused = item.image_id  # made again: its picture is stored

        return step

    def identity(self, pot_id: str, product: ShelfProduct | None) -> list[Change]:
        """The POT ID and the link to its page, written whenever they differ."""
        url = self.page.format(pot_id=pot_id)
        changes = []
        if product is None or product.pot_id != pot_id:
            changes.append(
                Change("pot_id", product.pot_id if product else None, pot_id)
            )
        old_url = product.meta("_pot_url") if product else ""
        if old_url != url:
            changes.append(Change("pot_url", old_url or None, url))

        return changes

    def updated(
        self,
        central: CentralProduct,
        catalog: Catalog,
        item: ItemState | None,
        product: ShelfProduct,
        *,
        adopt: bool,
    ) -> Step | None:
        relist = item is not None and not item.listed and item.product_id is not None
        action: Action = "adopt" if adopt else "relist" if relist else "update"
        step = Step(central.pot_id, central.name, action, product.id, product.sku)
        producer = catalog.producers[central.producer_id]
        values = wanted(
            central,
            producer,
            self.carry,
            listed=True,
            manages_stock=product.manages_stock,
        )
        self.compare(step, values, item, product)
        step.changes += self.identity(central.pot_id, product)
        self.image(step, central, item, product)

        return _finished(step, item)

    def outlisted(
        self,
        pot_id: str,
        item: ItemState | None,
        product: ShelfProduct,
        *,
        adopt: bool,
    ) -> Step | None:
        """Out of stock and hidden; no other field is written meanwhile.

        A product that left the catalog is taken off sale even where the coop
        had taken its availability over: that was about a product still sold.
        """
        step = Step(
            pot_id, product.name, "outlist", product.id, product.sku, listed=False
        )
        values: dict[str, Value] = {}
        if "availability" in self.carry.fields:
            values["availability"] = availability(False, product.manages_stock)
        if item is not None and "availability" in item.owned:
            item = replace(
                item, owned=tuple(f for f in item.owned if f != "availability")
            )
        self.compare(step, values, item, product)
        if adopt:
            step.changes += self.identity(pot_id, product)

        return _finished(step, item)

    def compare(
        self,
        step: Step,
        values: Mapping[str, Value],
        item: ItemState | None,
        product: ShelfProduct,
    ) -> None:
        """Fill the step's changes, settled values and fields taken over."""
        pushed = fields_of(item)
        seen = item.pushed.get(SHOWN, {}) if item else {}
        owned = list(item.owned) if item else []
        held_before = dict(item.held) if item else {}
        for name, new in values.items():
            if name == "image" or name in owned:
                continue
            current = shown(product, name)
            if name in pushed:
                expected = current if seen is None else seen.get(name, pushed[name])
                if current != _like(expected, current):
                    owned.append(name)
                    step.taken_over.append(name)
                    continue
                old = _like(pushed[name], current)
            else:
                old = current
            step.settled[name] = old
            if current != old:
                step.shown[name] = current
            if new == old:
                continue
            in_round = self.in_rounds.get(product.id) if name == "price" else None
            if in_round is not None and self.held(step, str(new), in_round):
                continue
            step.changes.append(Change(name, old, new))
        for name, value in pushed.items():  # fields not compared stay as they were
            if name not in step.settled:
                step.settled[name] = value
                if seen and name in seen:
                    step.shown[name] = seen[name]
        step.owned = owned
        if held_before and step.held is None and "price" in values:
            step.held = {}
            step.notes.append(f"held price {held_before.get('price')} released")

    def held(self, step: Step, price: str, round_key: str) -> bool:
        """Hold (True) or apply a price change of a product in an open round."""
        step.in_round = round_key
        if self.carry.open_round_prices == "hold":
            step.held = {"price": price, "round": round_key}
            step.notes.append(f"price {price} held until round {round_key} closes")
            return True
        step.notes.append(f"price {price} applied although round {round_key} is open")

        return False

    def image(
        self,
        step: Step,
        central: CentralProduct,
        item: ItemState | None,
        product: ShelfProduct,
    ) -> None:
        """Send the central image when it changed, unless the coop chose its own."""
        url = central.image_url
        if url is None or "image" not in self.carry.fields or "image" in step.owned:
            return
        pushed = item.pushed if item else {}
        known = item.image_id if item else None
        if url == pushed.get(PENDING) and product.image_id not in (None, known):
            step.image_found = product.image_id
            return
        if known is not None and product.image_id != known:
            step.owned.append("image")
            step.taken_over.append("image")
            return
        if (item is not None and url == item.image_src) or url == pushed.get(REFUSED):
            return
        step.image = url


def _like(value: Any, current: Value) -> Any:
    """`value` cut to the keys the shop shows now: availability loses its stock
    status once the shop counts stock itself, and that is no edit."""
    if isinstance(value, dict) and isinstance(current, dict):
        return {k: v for k, v in value.items() if k in current}
    return value


def _finished(step: Step, item: ItemState | None) -> Step | None:
    """The step, named "keep" when it writes nothing; None when it has nothing
    new to remember either."""
    if not step.changes and step.image is None:
        step.action = "keep"

    return step if _news(step, item) else None


def _news(step: Step, item: ItemState | None) -> bool:
    if item is None or step.changes or step.taken_over or step.image:
        return True
    if step.image_found is not None or step.held is not None:
        return True
    if (step.listed, step.product_id, step.sku) != (
        item.listed,
        item.product_id,
        item.sku,
    ):
        return True

    return step.settled != fields_of(item) or step.shown != item.pushed.get(SHOWN, {})
