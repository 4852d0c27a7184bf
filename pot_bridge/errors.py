"""One root for every error pot-bridge raises on purpose.

The classes are grouped by what the caller should do: abort (the setup is wrong
and retrying will not help), retry later (the other side is down or busy), or skip
the one item and report it (the rest of the work goes on). Each error names the
coop and, where there is one, the object it is about.
"""

from __future__ import annotations


class PotBridgeError(Exception):
    """Root of pot-bridge's own errors."""

    def __init__(self, message: str, *, coop: str | None = None) -> None:
        self.coop = coop
        self.message = message
        super().__init__(f"coop {coop}: {message}" if coop else message)


class AbortError(PotBridgeError):
    """The configuration or the credentials are wrong: stop this coop until fixed."""


class RetryLaterError(PotBridgeError):
    """A passing failure: leave the cursor where it is and try again next run."""


class SkipItemError(PotBridgeError):
    """One object cannot be handled: report it and go on with the others."""


class ConfigError(AbortError):
    """The configuration file or the environment is not usable."""


class ShopError(PotBridgeError):
    """Base of the errors met while talking to a coop's shop."""


class ShopAuthError(ShopError, AbortError):
    """The shop refused the credentials (401/403)."""


class ShopNotFound(ShopError, SkipItemError):
    """The shop has no such object or route (404)."""


class ShopRejected(ShopError, SkipItemError):
    """The shop refused the request as invalid (400 and other 4xx)."""


class ShopUnavailable(ShopError, RetryLaterError):
    """The shop did not answer usefully: connection error, timeout, 429 or 5xx."""


class ShopBadResponse(ShopError, RetryLaterError):
    """The shop answered, but not with the JSON expected (HTML, cut-off body)."""


class MailError(RetryLaterError):
    """The SMTP server failed; the message stays queued."""
