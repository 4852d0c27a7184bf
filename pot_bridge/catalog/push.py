"""Applying a plan to a coop's shop: batches, their answers, then the images.

Creates and updates go through `products/batch`, at most `batch_size` items a
request (creates and updates counted together); a 413 halves the size for the
rest of the push. HTTP 200 says only that the batch ran: every item's answer
is checked, and a failed item is reported and tried again at the next push.

A batch is a POST, so the client never repeats it. The push repeats one
itself, once, when the answer was lost: a create carries its SKU, so the shop
refuses a second copy with `product_invalid_sku` and names the product that
has it (`resource_id`); that product is read, and if it carries our POT ID the
first attempt did create it. Updates hold absolute values, so a repeat is
harmless. Images follow in requests of their own (T-16).

Writes are counted in `Pushed.writes`; a push of an unchanged catalog makes
none, only the reads of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.catalog.images import send_images
from pot_bridge.catalog.plan import Plan, Step
from pot_bridge.catalog.record import Result, record, unsent
from pot_bridge.catalog.shelf import (
    ShelfProduct,
    parse_product,
    read_categories,
    read_products,
    shown,
    write,
)
from pot_bridge.errors import (
    PotBridgeError,
    RetryLaterError,
    ShopError,
    ShopNotFound,
    ShopRejected,
)
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import ShopItemInvalid

log = structlog.get_logger(__name__)

BATCH = "products/batch"
CREATE_ONLY = ("sku", "status", "type")


@dataclass
class Outcome:
    """What became of one product; `ok` False names the reason in `message`."""

    pot_id: str
    name: str
    action: str
    ok: bool
    message: str = ""


@dataclass
class Pushed:
    """A push's summary; `error` is what stopped it early, if anything did."""

    coop: str
    version: int | None
    writes: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None

    def count(self, action: str, *, ok: bool = True) -> int:
        return sum(1 for o in self.outcomes if o.action == action and o.ok == ok)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass
class _Item:
    """One entry of a batch: a create (no `product_id`) or an update."""

    step: Step
    body: dict[str, Any]
    product_id: int | None = None


def push(
    plan: Plan,
    client: ShopClient,
    sessions: sessionmaker[Session],
    now: datetime,
) -> Pushed:
    """Apply the plan, record what the shop confirmed, report what it refused."""
    run = _Run(plan, client)
    try:
        run.ensure_categories()
        run.send_batches()
        run.writes += send_images(plan, client, run.results)
        run.read_back()
    except PotBridgeError as exc:
        run.error = str(exc)
        log.error("catalog.push.stopped", coop=plan.coop, error=str(exc))
    finally:
        with sessions.begin() as session:
            record(session, plan, run.results, now, stopped=run.error)

    pushed = Pushed(plan.coop, plan.version, run.writes, run.outcomes(), run.error)
    log.info(
        "catalog.pushed",
        coop=plan.coop,
        version=plan.version,
        writes=pushed.writes,
        created=pushed.count("create"),
        updated=pushed.count("update") + pushed.count("adopt"),
        outlisted=pushed.count("outlist"),
        relisted=pushed.count("relist"),
        failed=len(pushed.failed),
    )

    return pushed


class _Run:
    def __init__(self, plan: Plan, client: ShopClient) -> None:
        self.plan = plan
        self.client = client
        self.categories = dict(plan.categories)
        self.results: dict[str, Result] = {}
        self.writes = 0
        self.error: str | None = None

    def ensure_categories(self) -> None:
        """Create each missing category once; a refusal leaves it out."""
        known = {name.casefold(): id_ for name, id_ in self.categories.items()}
        for name in self.plan.new_categories:
            if name.casefold() in known:  # WordPress compares names without case
                self.categories[name] = known[name.casefold()]
                continue
            try:
                self.writes += 1
                answer = self.client.post("products/categories", {"name": name})
                self.categories[name] = int(answer["id"])
                log.info("catalog.category.created", coop=self.plan.coop, name=name)
            except (ShopRejected, KeyError, TypeError, ValueError):
                # `term_exists`: another writer was first; read it back.
                found = read_categories(self.client).get(name)
                if found is not None:
                    self.categories[name] = found
                else:
                    log.warning(
                        "catalog.category.refused", coop=self.plan.coop, name=name
                    )

    def body(self, step: Step, result: Result) -> dict[str, Any]:
        """The step's changes as a request body; a category not in the shop is
        left out (and stays a change for the next push)."""
        body: dict[str, Any] = {}
        if step.action == "create":
            body.update(sku=step.sku, status="publish", type="simple")
        for change in step.changes:
            if change.field == "category" and change.new not in self.categories:
                result.left_out.add(change.field)
                continue
            write(body, change.field, change.new, self.categories)

        return body

    def send_batches(self) -> None:
        queue = []
        for step in self.plan.writing:
            result = self.results[step.pot_id] = Result(product_id=step.product_id)
            queue.append(_Item(step, self.body(step, result), step.product_id))
        size = self.plan.batch_size
        while queue:
            chunk = queue[:size]
            try:
                answer, retried = self.send(chunk)
            except ShopRejected as exc:
                if "413" not in exc.message and "too_large" not in exc.message:
                    raise
                if size == 1:
                    raise
                size = max(1, size // 2)
                log.warning("catalog.batch.too_large", coop=self.plan.coop, size=size)
                continue
            queue = queue[len(chunk) :]
            queue += self.check(chunk, answer, retried=retried)

    def send(self, chunk: list[_Item]) -> tuple[dict[str, Any], bool]:
        """Send one batch; once more if its answer was lost (see the module)."""
        creates = [i.body for i in chunk if i.product_id is None]
        updates = [{"id": i.product_id, **i.body} for i in chunk if i.product_id]
        body = {k: v for k, v in (("create", creates), ("update", updates)) if v}
        self.writes += 1
        try:
            return self.client.post(BATCH, body), False
        except RetryLaterError as exc:
            log.warning(
                "catalog.batch.retry",
                coop=self.plan.coop,
                items=len(chunk),
                error=str(exc),
            )
        self.writes += 1

        return self.client.post(BATCH, body), True

    def check(
        self, chunk: list[_Item], answer: dict[str, Any], *, retried: bool
    ) -> list[_Item]:
        """Mark each item done or failed; return updates still to send."""
        creates = [i for i in chunk if i.product_id is None]
        updates = [i for i in chunk if i.product_id is not None]
        claims: list[tuple[_Item, int]] = []
        for items, key in ((creates, "create"), (updates, "update")):
            entries = answer.get(key)
            entries = entries if isinstance(entries, list) else []
            for index, item in enumerate(items):
                entry = entries[index] if index < len(entries) else None
                owner = self.take(item, entry)
                if owner is not None:
                    claims.append((item, owner))

        return self.settle_claims(claims, retried=retried)

    def take(self, item: _Item, entry: object) -> int | None:
        """Record one item's answer; a create refused for its SKU names the
        product holding it, which is returned to be looked at."""
        result = self.results[item.step.pot_id]
        if not isinstance(entry, dict):
            result.error = "the shop's answer left this item out"
            return None
        error = entry.get("error")
        if not isinstance(error, dict):
            result.product_id = _int(entry.get("id")) or item.product_id
            result.written = result.product_id is not None
            result.error = "" if result.written else "the shop answered no id"
            return None
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        owner = _int(data.get("resource_id")) if data else None
        taken = error.get("code") == "product_invalid_sku"
        if item.product_id is None and taken and owner:
            return owner
        result.error = f"{error.get('code', 'error')}: {error.get('message', '')}"

        return None

    def settle_claims(
        self, claims: list[tuple[_Item, int]], *, retried: bool
    ) -> list[_Item]:
        """Look at the products holding our SKUs: ours (created by the lost
        attempt), free to adopt (no POT ID), or a conflict."""
        if not claims:
            return []
        owners = {p.id: p for p in read_products(self.client, [o for _, o in claims])}
        again: list[_Item] = []
        for item, owner in claims:
            step, result = item.step, self.results[item.step.pot_id]
            product = owners.get(owner) or self.lookup(owner)
            theirs = product.pot_id if product is not None else "?"
            if product is not None and product.pot_id in (step.pot_id, None):
                result.product_id = owner
                log.info(
                    "catalog.product.adopted",
                    coop=self.plan.coop,
                    pot_id=step.pot_id,
                    product_id=owner,
                    lost_answer=retried,
                )
                if retried and product.pot_id == step.pot_id:
                    result.written = True
                    continue
                update = {k: v for k, v in item.body.items() if k not in CREATE_ONLY}
                again.append(_Item(step, update, owner))
                continue
            result.error = (
                f"SKU {step.sku} is taken by product #{owner} with POT ID {theirs}"
            )
            result.conflict = True

        return again

    def lookup(self, product_id: int) -> ShelfProduct | None:
        """A product the list left out (T-18), read on its own."""
        try:
            raw = self.client.get(f"products/{product_id}", {"context": "edit"})
            return parse_product(raw, self.plan.coop)
        except (ShopNotFound, ShopItemInvalid):
            return None

    def read_back(self) -> None:
        """Note how the shop shows each field just written (a `view` read renders
        descriptions): told apart from a coop's later edit."""
        done = {
            r.product_id: pot_id
            for pot_id, r in self.results.items()
            if r.written and r.product_id is not None
        }
        if not done:
            return
        steps = {s.pot_id: s for s in self.plan.writing}
        try:
            products = read_products(self.client, sorted(done))
        except ShopError as exc:
            log.warning("catalog.read_back.failed", coop=self.plan.coop, error=str(exc))
            return
        for product in products:
            pot_id = done.get(product.id)
            if pot_id is None:
                continue
            result, step = self.results[pot_id], steps[pot_id]
            result.shown = {}
            for change in step.changes:
                if change.field in ("pot_id", "pot_url", *result.left_out):
                    continue
                value = shown(product, change.field)
                if value != change.new:
                    result.shown[change.field] = value

    def outcomes(self) -> list[Outcome]:
        """One line per product the push meant to write, conflicts included."""
        found = []
        for step in self.plan.steps:
            result = self.results.get(step.pot_id)
            action = step.action if step.writes else "image"
            if step.action in ("conflict", "skip"):
                message = "; ".join(step.notes)
                found.append(
                    Outcome(step.pot_id, step.name, step.action, False, message)
                )
            elif unsent(step, result):
                message = f"not sent: {self.error}" if self.error else "not sent"
                found.append(Outcome(step.pot_id, step.name, action, False, message))
            elif result is not None:
                ok = not result.error and not result.image_error
                ok = ok and (result.written or not step.writes)
                message = "; ".join(filter(None, (result.error, result.image_error)))
                found.append(Outcome(step.pot_id, step.name, action, ok, message))

        return found


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
