"""A real SMTP server on loopback that keeps what it receives.

The demo shows producers' e-mails with it instead of a mail server, and the tests
send through it over real SMTP, with faults injected on demand: temporary and
permanent refusals, and connections dropped before or after the message body.
"""

from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (another process could still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]

    return port


class _Faults:
    """What the catcher should do wrong next, shared with the server thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fail: list[tuple[int, str]] = []
        self.drop_before_data = 0
        self.drop_after_data = 0
        self.refused: dict[str, int] = {}

    def take(self, attribute: str) -> bool:
        with self.lock:
            left: int = getattr(self, attribute)
            if left:
                setattr(self, attribute, left - 1)

        return bool(left)


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.catcher.credentials is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"

        faults = self.catcher.faults
        with faults.lock:
            code = faults.refused.get(address.lower())
        if code is not None:
            return f"{code} {address}: recipient refused"

        if faults.take("drop_before_data"):
            server.transport.abort()
            return "421 dropped"

        envelope.rcpt_tos.append(address)

        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        faults = self.catcher.faults
        with faults.lock:
            failure = faults.fail.pop(0) if faults.fail else None
        if failure is not None:
            return f"{failure[0]} {failure[1]}"

        self.catcher.keep(envelope.rcpt_tos, envelope.content)

        if faults.take("drop_after_data"):
            # The message is kept, but the client never hears "250": the case
            # where a sender cannot know whether it was delivered.
            server.transport.abort()
            return "421 dropped"

        return "250 Message accepted"


class MailCatcher:
    """An SMTP server on 127.0.0.1 for the demo and the tests.

    Messages are kept in `messages` (and written as .eml files into `directory`
    if given). With `credentials`, it offers AUTH on the plain connection and
    requires it, which only makes sense on loopback.
    """

    def __init__(
        self,
        directory: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self.credentials = credentials
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.faults = _Faults()
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> Self:
        if self._controller is not None:
            raise RuntimeError("the mail catcher is already running")

        if self.port == 0:
            self.port = free_port(self.host)
        auth: dict[str, Any] = {}
        if self.credentials is not None:
            # Offered without TLS, and checked at RCPT rather than with
            # aiosmtpd's auth_required, which warns on every connection.
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        # server_hostname spares a reverse DNS lookup of this machine.
        controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="mailcatcher.invalid",
            ready_timeout=5.0,
            **auth,
        )
        controller.start()
        self._controller = controller

        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

        return self

    def stop(self) -> None:
        """Stop serving; open connections are cut and the port is freed."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, n: int, code: int = 451, text: str = "try again later") -> None:
        """Answer the end of DATA of the next `n` messages with `code`."""
        with self.faults.lock:
            self.faults.fail.extend([(code, text)] * n)

    def refuse_recipient(self, address: str, code: int = 550) -> None:
        """Refuse `address` at RCPT, for good (5xx) or for now (4xx)."""
        with self.faults.lock:
            self.faults.refused[address.lower()] = code

    def drop_next(self, n: int, *, after_data: bool = False) -> None:
        """Close the connection abruptly on the next `n` messages.

        By default before the body is sent (the message is surely not taken);
        with `after_data`, once the body is kept but before answering it.
        """
        attribute = "drop_after_data" if after_data else "drop_before_data"
        with self.faults.lock:
            setattr(self.faults, attribute, getattr(self.faults, attribute) + n)

    def keep(self, recipients: list[str], content: bytes) -> None:
        # Parsed with Python's line ends, so bodies read as they were written.
        lines = content.replace(b"\r\n", b"\n")
        message = message_from_bytes(lines, policy=policy.default)
        assert isinstance(message, EmailMessage)

        with self._lock:
            self.messages.append(message)
            self.recipients.append(list(recipients))
            number = len(self.messages)

        if self.directory is not None:
            name = _UNSAFE.sub("_", recipients[0] if recipients else "nobody")
            path = self.directory / f"{number:03d}-{name}.eml"
            path.write_bytes(content)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert self.credentials is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)

        # handled=False makes aiosmtpd answer 535 instead of staying silent.
        user, password = self.credentials
        ok = data.login == user.encode() and data.password == password.encode()

        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
