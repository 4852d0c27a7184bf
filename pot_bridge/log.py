"""Logging: structlog, readable on a terminal, JSON lines under systemd.

Secrets are registered at start and scrubbed from every event, whatever field
they end up in; fields whose names say "secret" or "password" are dropped.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any

import structlog

_secrets: set[str] = set()
_SENSITIVE = ("secret", "password", "authorization", "consumer_key", "signature")


def register_secret(value: str | None) -> None:
    """Remember a secret so that no log line can carry it."""
    if value and len(value) >= 4:
        _secrets.add(value)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: drop sensitive fields, mask registered secrets."""
    for key in list(event):
        if any(word in key.lower() for word in _SENSITIVE):
            event[key] = "[redacted]"
    return {k: _scrub_value(v) for k, v in event.items()}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _dumps(obj: Any, **kwargs: Any) -> str:
    kwargs["default"] = _json_default
    return json.dumps(obj, ensure_ascii=False, **kwargs)


def configure(fmt: str = "auto", level: str = "info") -> None:
    """Set up structlog once at start; `fmt` is auto, console or json."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer(serializer=_dumps)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper())
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
