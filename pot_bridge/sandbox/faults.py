"""Failures of shared hosting, staged on purpose for retry and robustness tests.

Real coop shops answer with WAF pages, maintenance pages, PHP notices before
the JSON, cut-off bodies and dropped connections. A `Fault` makes the sandbox
do one of these for the next matching requests.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "html", "truncated", "bom", "delay", "drop", "lost", "stall")

MAINTENANCE_HTML = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Maintenance</title>'
    "</head><body><h1>Briefly unavailable for scheduled maintenance. Check back in"
    " a minute.</h1></body></html>"
)
WAF_HTML = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<h1>Checking your browser before accessing the site.</h1></body></html>"
)
PHP_NOTICE = (
    "<br />\n<b>Notice</b>:  Undefined index: bestellrunde in "
    "<b>/var/www/html/wp-content/plugins/foodcoop/inc/rest.php</b> on line "
    "<b>42</b><br />\n"
)
CRITICAL = {
    "code": "internal_server_error",
    "message": "There has been a critical error on this website.",
    "data": {"status": 500},
}


@dataclass
class Fault:
    """One staged failure: for `times` requests matching `method` and `path`.

    `path` is a regular expression searched in the request path; `method`
    "*" matches any method. `body` is a JSON-able value or raw text.
    `drop` closes the connection before the shop does anything; `lost` lets
    the shop do the work (a POST creates its object) and then closes the
    connection without an answer, as a proxy timing out on a slow host does;
    `stall` does the work, then waits `delay` seconds before answering (time
    for a test to kill the client in between).
    """

    method: str = "GET"
    path: str = r".*"
    times: int = 1
    kind: str = "status"
    status: int = 500
    body: Any = None
    retry_after: int | None = None
    delay: float = 0.0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {KINDS}")
        self._pattern = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        same = self.method == "*" or self.method.upper() == method.upper()
        return same and self._pattern.search(path) is not None


class FaultBook:
    """The faults still to be served, in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._left: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
            self._left[id(fault)] = fault.times
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._left.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending fault for this request, counted as served."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    self._left[id(fault)] -= 1
                    if self._left[id(fault)] <= 0:
                        self._faults.remove(fault)
                        del self._left[id(fault)]
                    return fault
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
