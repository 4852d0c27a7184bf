"""Why the central catalog could not be read at all, grouped by what to do.

A single bad product is never an error here: it becomes a `CatalogProblem`
and the rest of the catalog is used. These are for a source that gave nothing
usable; the latest snapshot stays in force meanwhile.
"""

from __future__ import annotations

from pot_bridge.errors import AbortError, PotBridgeError, RetryLaterError


class CatalogError(PotBridgeError):
    """Base of the errors met while reading the central catalog."""


class CatalogUnavailable(CatalogError, RetryLaterError):
    """The feed did not answer in time, could not be reached, or failed (5xx)."""


class CatalogBadResponse(CatalogError, RetryLaterError):
    """The feed answered, but not with a catalog (HTML, not JSON, wrong shape).

    Retried at the next poll: whoever publishes the feed fixes it, not the coop.
    """


class CatalogRefused(CatalogError, AbortError):
    """The feed refused or moved (4xx, redirect): the configured URL needs a fix."""


class SheetError(CatalogError, AbortError):
    """The product sheet cannot be read: missing, not XLSX/CSV, or a wrong header."""
