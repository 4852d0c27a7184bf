"""Product images, sent on their own: a bad image must never cost a price change.

WooCommerce downloads an image `src` on every save that carries it, and one
that fails aborts the whole save (T-16). So an image goes alone, only when the
central image URL changed, and its media id is kept to know it again.

An image URL goes in a POST to the product, which the client never repeats: a
repeat of a lost answer would store the picture twice. A lost answer is
remembered instead, and the next plan looks whether the image arrived before
sending it again. A product made again (the coop deleted it) gets its stored
picture back by media id, in a PUT. The limit: a process killed between
sending and recording forgets the send, and the next push sends the image once
more.
"""

from __future__ import annotations

import structlog

from pot_bridge.catalog.plan import Plan
from pot_bridge.catalog.record import Result
from pot_bridge.errors import RetryLaterError, ShopNotFound, ShopRejected
from pot_bridge.shop.client import ShopClient

log = structlog.get_logger(__name__)


def send_images(plan: Plan, client: ShopClient, results: dict[str, Result]) -> int:
    """Send each changed image; return the number of write requests made."""
    writes = 0
    for step in plan.images:
        result = results.setdefault(step.pot_id, Result(product_id=step.product_id))
        if result.product_id is None or step.image is None:
            continue  # the create failed: the image waits for the product
        if step.image_reused is not None:
            writes += 1
            _reuse(client, result.product_id, step.image_reused, result)
        if result.image != "sent":
            writes += 1
            _send(
                client, result.product_id, {"src": step.image, "alt": step.name}, result
            )

        log.info(
            "catalog.image.sent" if result.image == "sent" else "catalog.image.failed",
            coop=plan.coop,
            pot_id=step.pot_id,
            product_id=result.product_id,
            image_id=result.image_id,
            error=result.image_error or None,
        )

    return writes


def _reuse(client: ShopClient, product_id: int, media_id: int, result: Result) -> None:
    """The picture the shop stored before (the product was made again), by its
    media id, in a PUT, which is safe to repeat. Refused, the `src` follows."""
    try:
        answer = client.put(f"products/{product_id}", {"images": [{"id": media_id}]})
    except (ShopRejected, ShopNotFound):
        return
    result.image, result.image_id = "sent", _first_image(answer)


def _send(
    client: ShopClient, product_id: int, image: dict[str, str], result: Result
) -> None:
    """Download `src` into the shop: a POST, never repeated by the client."""
    try:
        answer = client.post(f"products/{product_id}", {"images": [image]})
    except (ShopRejected, ShopNotFound) as exc:
        result.image, result.image_error = "refused", f"image: {exc.message}"
    except RetryLaterError as exc:
        result.image, result.image_error = "pending", f"image: {exc.message}"
    else:
        result.image, result.image_id = "sent", _first_image(answer)


def _first_image(answer: object) -> int | None:
    images = answer.get("images") if isinstance(answer, dict) else None
    if isinstance(images, list) and images and isinstance(images[0], dict):
        found = images[0].get("id")
        return found if isinstance(found, int) else None

    return None
