"""What a route handler gets and gives back, apart from HTTP plumbing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pot_bridge.sandbox.query import Params
from pot_bridge.sandbox.state import ShopState


@dataclass
class Request:
    method: str
    path: str
    params: Params
    pairs: list[tuple[str, str]]  # the raw query, decoded, in order
    body: Any
    state: ShopState
    base: str
    supports_modified_after: bool = True


@dataclass
class Reply:
    status: int
    body: Any = None
    text: str | None = None  # JSON already encoded (cached orders)
    headers: dict[str, str] = field(default_factory=dict)
    total: int | None = None
    pages: int | None = None
    page: int = 1
    link_extras: list[tuple[str, str]] = field(default_factory=list)
    allow: bool = True  # False: no Allow header (PHP fatal errors send none)
