"""Page-number paging over WooCommerce lists, safe against the shop's quirks.

A page can be short while more follow (items dropped after the SQL query), so
only an empty page or `X-WP-TotalPages` ends a pass. A shop that serves the
same page again cannot loop the bridge, and a pass has a page limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pot_bridge.errors import ShopBadResponse

PAGE_SIZES = (100, 50, 20)


@dataclass(frozen=True)
class Page:
    """One page of a list; `page`/`per_page` are what was really asked for."""

    items: list[Any]
    total: int | None
    total_pages: int | None
    page: int
    per_page: int | None = None


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def smaller_page(params: dict[str, object]) -> dict[str, object]:
    """The next smaller page size, from the same row offset or a little before.

    Rounding the page down may read a few rows twice; rounding up would skip.
    """
    per_page = int(str(params["per_page"]))
    page = int(str(params.get("page", 1)))
    smaller = next((size for size in PAGE_SIZES if size < per_page), None)
    if smaller is None:
        return params

    offset = (page - 1) * per_page
    return {**params, "per_page": smaller, "page": offset // smaller + 1}


def iter_pages(
    get_page: Callable[[str, Mapping[str, object]], Page],
    endpoint: str,
    params: Mapping[str, object] | None,
    *,
    max_pages: int,
    coop: str,
) -> Iterator[Page]:
    """Pages until an empty one or the last by `X-WP-TotalPages`.

    A page size shrunk after a read timeout is kept for the rest of the pass,
    continuing from the page number `get_page` really used.
    """
    query = dict(params or {})
    per_page = min(int(str(query.pop("per_page", PAGE_SIZES[0]))), PAGE_SIZES[0])
    page = int(str(query.pop("page", 1)))
    previous: set[object] = set()

    for _ in range(max_pages):
        result = get_page(endpoint, {**query, "page": page, "per_page": per_page})
        if not result.items:
            return
        ids = {item.get("id") for item in result.items if isinstance(item, dict)}
        ids.discard(None)
        if ids and ids <= previous:
            raise ShopBadResponse(
                f"GET {endpoint} page {result.page} repeats the previous page",
                coop=coop,
            )

        yield result

        if result.total_pages is not None and result.page >= result.total_pages:
            return
        previous = ids
        per_page = result.per_page or per_page
        page = result.page + 1

    raise ShopBadResponse(f"GET {endpoint} has more than {max_pages} pages", coop=coop)


def unique_items(pages: Iterator[Page]) -> Iterator[Any]:
    """Every item once: page-number paging over a changing set can repeat rows."""
    seen: set[object] = set()
    for page in pages:
        for item in page.items:
            key = item.get("id") if isinstance(item, dict) else None
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield item
