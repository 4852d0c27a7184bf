"""List parameters of the wc/v3 collections, validated the WordPress way.

WordPress rejects bad parameters with `rest_invalid_param` and collects every
problem at once; date filters compare strictly, to the second, with the time
zone rules of HPOS shops (naive = site time unless `dates_are_gmt`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from pot_bridge.sandbox.wire import SITE_TZ, error

DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::\d{2})?)?$"
)
ORDER_STATUS_ENUM = (
    "any",
    "trash",
    "auto-draft",
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
PRODUCT_STATUS_ENUM = (
    "any",
    "future",
    "trash",
    "draft",
    "pending",
    "private",
    "publish",
)
POST_ORDERBY = ("date", "id", "include", "title", "slug", "modified")
PRODUCT_ORDERBY = (*POST_ORDERBY, "price", "popularity", "rating", "menu_order")
CUSTOMER_ORDERBY = ("id", "include", "name", "registered_date")
TRUE = ("1", "true", "True", "yes")
FALSE = ("0", "false", "False", "no", "")

Params = dict[str, "str | dict[str, str]"]


def php_params(query: str) -> Params:
    """Parse a query string as PHP fills $_GET: last value wins, `a[x]` nests."""
    params: Params = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _eq, raw_value = pair.partition("=")
        key, value = unquote_plus(raw_key), unquote_plus(raw_value)
        match = re.fullmatch(r"([^\[\]]+)\[([^\]]*)\]", key)
        if match:
            base, inner = match.groups()
            nested = params.get(base)
            if not isinstance(nested, dict):
                nested = {}
                params[base] = nested
            nested[inner or str(len(nested))] = value
        else:
            params[key] = value
    return params


def flat(params: Params, name: str) -> str | None:
    """A parameter as one string; arrays become the comma list WordPress accepts."""
    value = params.get(name)
    if isinstance(value, dict):
        return ",".join(value.values())
    return value


class InvalidParams(Exception):
    """One or more bad parameters, answered as a single rest_invalid_param."""

    def __init__(self) -> None:
        super().__init__("invalid parameters")
        self.params: dict[str, str] = {}
        self.details: dict[str, dict[str, Any]] = {}

    def add(self, name: str, code: str, message: str) -> None:
        self.params[name] = message
        self.details[name] = {"code": code, "message": message, "data": None}

    def body(self) -> dict[str, Any]:
        names = ", ".join(self.params)
        return error(
            "rest_invalid_param",
            f"Invalid parameter(s): {names}",
            400,
            params=self.params,
            details=self.details,
        )


def enum_text(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f", and {values[-1]}"


@dataclass
class ListQuery:
    page: int = 1
    per_page: int = 10
    order: str = "desc"
    orderby: str = "date"
    include: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    customer: int | None = None
    # (field, ">" or "<", bound) with field "created" or "modified"
    windows: list[tuple[str, str, datetime]] = field(default_factory=list)


def _int(params: Params, name: str, bad: InvalidParams) -> int | None:
    text = flat(params, name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        bad.add(name, "rest_invalid_type", f"{name} is not of type integer.")
        return None


def parse_date(text: str, dates_are_gmt: bool) -> datetime | None:
    """The UTC instant a date parameter means, or None if WordPress rejects it."""
    if not DATE_RE.match(text):
        return None
    text = text.replace("t", "T").replace(" ", "T").replace("Z", "+00:00")
    if re.search(r"[+-]\d{2}$", text):
        text += ":00"
    try:
        moment = datetime.fromisoformat(text).replace(microsecond=0)
    except ValueError:  # e.g. month 13: the pattern fits, the calendar does not
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC if dates_are_gmt else SITE_TZ)

    return moment.astimezone(UTC)


def parse_list(
    params: Params,
    *,
    orderby_enum: tuple[str, ...],
    status_enum: tuple[str, ...] | None,
    default_orderby: str = "date",
    default_order: str = "desc",
    date_params: tuple[str, ...] = (),
) -> ListQuery:
    """Validate the shared list parameters; raise InvalidParams like WordPress."""
    bad = InvalidParams()
    query = ListQuery(orderby=default_orderby, order=default_order)

    page = _int(params, "page", bad)
    if page is not None:
        if page < 1:
            bad.add(
                "page", "rest_out_of_bounds", "page must be greater than or equal to 1"
            )
        query.page = page
    per_page = _int(params, "per_page", bad)
    if per_page is not None:
        if not 1 <= per_page <= 100:
            bad.add(
                "per_page",
                "rest_out_of_bounds",
                "per_page must be between 1 (inclusive) and 100 (inclusive)",
            )
        query.per_page = per_page

    for name, enum in (("order", ("asc", "desc")), ("orderby", orderby_enum)):
        value = flat(params, name)
        if value is None:
            continue
        if value not in enum:
            bad.add(
                name, "rest_not_in_enum", f"{name} is not one of {enum_text(enum)}."
            )
        setattr(query, name, value)

    if status_enum is not None:
        for index, status in enumerate((flat(params, "status") or "any").split(",")):
            if status not in status_enum:
                bad.add(
                    "status",
                    "rest_not_in_enum",
                    f"status[{index}] is not one of {enum_text(status_enum)}.",
                )
            query.statuses.append(status)

    for index, item in enumerate(
        filter(None, (flat(params, "include") or "").split(","))
    ):
        try:
            query.include.append(int(item))
        except ValueError:
            bad.add(
                "include",
                "rest_invalid_type",
                f"include[{index}] is not of type integer.",
            )
    query.customer = _int(params, "customer", bad)

    gmt_flag = flat(params, "dates_are_gmt") or ""
    if gmt_flag not in TRUE + FALSE:
        bad.add(
            "dates_are_gmt",
            "rest_invalid_type",
            "dates_are_gmt is not of type boolean.",
        )
    for name in date_params:
        text = flat(params, name)
        if text is None:
            continue
        bound = parse_date(text, gmt_flag in TRUE)
        if bound is None:
            bad.add(name, "rest_invalid_date", "Invalid date.")
            continue
        column = "modified" if name.startswith("modified") else "created"
        query.windows.append((column, ">" if name.endswith("after") else "<", bound))

    if bad.params:
        raise bad
    return query


def in_windows(query: ListQuery, created: datetime, modified: datetime) -> bool:
    for column, op, bound in query.windows:
        value = created if column == "created" else modified
        if (op == ">" and not value > bound) or (op == "<" and not value < bound):
            return False
    return True


def page_of(rows: list[Any], query: ListQuery) -> tuple[list[Any], int, int]:
    """One page of rows plus the true total and page count."""
    total = len(rows)
    pages = -(-total // query.per_page)
    start = (query.page - 1) * query.per_page

    return rows[start : start + query.per_page], total, pages
