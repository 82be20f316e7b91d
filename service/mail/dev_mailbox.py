"""`ordergate dev`'s embedded SMTP server: keeps what it receives in memory and lists it as HTML.

Dev only: it accepts mail for anyone, keeps the newest `keep` messages, and its page shows the
plain-text bodies, verification codes included, to whoever can open it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import html
import logging
import ssl
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

_HOSTNAME = "ordergate-dev-mailbox"  # what it calls itself in its greeting; no DNS look-up


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message as the dev mailbox received it."""

    recipient: str
    sender: str
    subject: str
    text: str
    html: str
    received_at: datetime
    tls: bool  # whether it came over TLS (implicit or STARTTLS)
    message_id: str


class DevMailbox:
    """An SMTP server on loopback that keeps what it receives; start, read, close."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
        keep: int = 200,
    ) -> None:
        if (implicit_tls or credentials) and tls_context is None:
            raise ValueError("implicit TLS and credentials need a tls_context")
        self._host = host
        self._port = port
        self._tls_context = tls_context
        self._implicit_tls = implicit_tls
        self._credentials = credentials
        self._received: deque[ReceivedMail] = deque(maxlen=keep)
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    async def start(self) -> None:
        """Listen on the host and port given (an ephemeral port when 0)."""
        # aiosmtpd logs every command at INFO, addresses and AUTH lines included.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._session,
            host=self._host,
            port=self._port,
            ssl=self._tls_context if self._implicit_tls else None,
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop open sessions; what was received stays readable."""
        if self._server is None:
            return
        self._server.close()
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await self._server.wait_closed()
        self._server = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    @property
    def url(self) -> str:
        """An `SMTP_URL` for `SmtpSender` pointing here, credentials included."""
        scheme = "smtps" if self._implicit_tls else "smtp"
        userinfo = ""
        if self._credentials is not None:
            user, password = self._credentials
            userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        return f"{scheme}://{userinfo}{self._host}:{self._port}"

    @property
    def messages(self) -> tuple[ReceivedMail, ...]:
        """What it received, oldest first."""
        return tuple(self._received)

    async def wait_for(self, count: int) -> tuple[ReceivedMail, ...]:
        """The messages, once at least `count` have arrived (bound the wait with a timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self._received) >= count)
        return self.messages

    def render_page(self) -> str:
        """A plain HTML page listing received mail, newest first, each with its text body."""
        articles = "\n".join(_article(mail) for mail in reversed(self._received))
        count = len(self._received)
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>ordergate dev mailbox</title>\n"
            "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
            "article{border-top:1px solid #d0d7de;padding:1rem 0}.meta{color:#57606a}"
            "pre{white-space:pre-wrap;background:#f6f8fa;padding:1rem}"
            "iframe{width:100%;height:28rem;border:1px solid #d0d7de}</style>\n"
            "</head>\n<body>\n<h1>ordergate dev mailbox</h1>\n"
            f"<p>{count} message{'s' if count != 1 else ''} received by the embedded SMTP "
            f"server on {_e(self._host)}:{self._port}, newest first. Reload for new mail.</p>\n"
            f"{articles or '<p>No mail yet.</p>'}\n"
            "</body>\n</html>\n"
        )

    def _session(self) -> SMTP:
        return _Session(
            self._sessions,
            _Handler(self),
            hostname=_HOSTNAME,
            tls_context=None if self._implicit_tls else self._tls_context,
            auth_required=self._credentials is not None,
            authenticator=self._authenticate if self._credentials else None,
            loop=asyncio.get_running_loop(),
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd answers 235 or 535 itself.
        expected = self._credentials
        if expected is None or not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (data.login.decode("utf-8", "replace"), data.password.decode("utf-8", "replace"))
        return AuthResult(success=given == expected, handled=False)

    async def _receive(self, mail: ReceivedMail) -> None:
        async with self._arrived:
            self._received.append(mail)
            self._arrived.notify_all()


class _Session(SMTP):
    """One SMTP connection, in the mailbox's set while open, so `close` can drop the rest."""

    def __init__(self, sessions: set[SMTP], handler: _Handler, **options: Any) -> None:
        super().__init__(handler, **options)
        self._open_sessions = sessions
        sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._open_sessions.discard(self)
        super().connection_lost(error)


class _Handler:
    def __init__(self, mailbox: DevMailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # what the default policy builds
        transport = server.transport
        await self._mailbox._receive(
            ReceivedMail(
                recipient=", ".join(envelope.rcpt_tos),
                sender=envelope.mail_from or "",
                subject=str(message.get("Subject", "")),
                text=_body(message, "plain"),
                html=_body(message, "html"),
                received_at=datetime.now(UTC),
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
                message_id=str(message.get("Message-ID", "")),
            )
        )
        return "250 Message accepted for delivery"


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    with contextlib.suppress(LookupError, ValueError):
        content = part.get_content()
        return content.replace("\r\n", "\n") if isinstance(content, str) else ""
    return ""


def _article(mail: ReceivedMail) -> str:
    received = mail.received_at.isoformat(timespec="seconds")
    html_part = ""
    if mail.html:
        # An empty sandbox: the mail's HTML is shown, never run, and cannot reach this page.
        html_part = (
            "<details><summary>HTML version</summary>"
            f'<iframe sandbox="" srcdoc="{_e(mail.html)}"></iframe></details>'
        )
    return (
        "<article>\n"
        f"<h2>{_e(mail.subject) or '(no subject)'}</h2>\n"
        f'<p class="meta">To {_e(mail.recipient)} · from {_e(mail.sender)} · '
        f"received {_e(received)}{' · TLS' if mail.tls else ''}</p>\n"
        f"<pre>{_e(mail.text)}</pre>\n"
        f"{html_part}\n"
        "</article>"
    )


def _e(value: str) -> str:
    return html.escape(value, quote=True)
