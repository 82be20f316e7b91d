"""Delivers one mail over SMTP (`SMTP_URL`); every failure is one `MailUnavailable` of ours.

`smtp://host[:587]` upgrades with STARTTLS whenever the server offers it, `smtps://host[:465]`
speaks TLS from the first byte; certificates are always verified. Credentials in the URL
(`smtp://user:password@host`) are sent only over TLS, or to a relay on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from service.mail.outgoing import OutgoingMail

# One addr-spec without display name, quoting, comments or whitespace: all a customer or a
# shop address needs, and nothing that could smuggle a second header or SMTP command.
_ADDRESS = re.compile(r"^[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+$")
_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
_URL_SHAPE = "the SMTP URL must look like smtp://[user:password@]host[:port] or smtps://…"


class MailErrorKind(enum.StrEnum):
    """Which way a delivery failed; the outbox and metrics record it, never the server's text."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TLS = "tls"
    INSECURE = "insecure"  # credentials would have crossed the network unencrypted
    AUTHENTICATION = "authentication"
    SENDER_REFUSED = "sender_refused"
    PROTOCOL = "protocol"
    RECIPIENT_REFUSED = "recipient_refused"
    REJECTED = "rejected"
    INVALID_MESSAGE = "invalid_message"

    @property
    def concerns_server(self) -> bool:
        """True when no mail can go out now (server down or misconfigured), not just this one."""
        return self not in _MESSAGE_KINDS


_MESSAGE_KINDS = frozenset(
    {MailErrorKind.RECIPIENT_REFUSED, MailErrorKind.REJECTED, MailErrorKind.INVALID_MESSAGE}
)
_DESCRIPTIONS = {
    MailErrorKind.CONNECTION: "the SMTP server could not be reached",
    MailErrorKind.TIMEOUT: "the SMTP server did not answer in time",
    MailErrorKind.TLS: "the TLS handshake with the SMTP server failed",
    MailErrorKind.INSECURE: "the SMTP server offers no TLS, so the credentials were not sent",
    MailErrorKind.AUTHENTICATION: "the SMTP server refused the credentials",
    MailErrorKind.SENDER_REFUSED: "the SMTP server refused the sender address",
    MailErrorKind.PROTOCOL: "the SMTP server answered unexpectedly",
    MailErrorKind.RECIPIENT_REFUSED: "the SMTP server refused the recipient",
    MailErrorKind.REJECTED: "the SMTP server refused the message",
    MailErrorKind.INVALID_MESSAGE: "the message could not be built",
}


class MailUnavailable(Exception):
    """Any failure to deliver a mail; `str()` is a fixed description, `kind` says which."""

    def __init__(self, kind: MailErrorKind) -> None:
        self.kind = kind
        super().__init__(_DESCRIPTIONS[kind])


@dataclass(frozen=True, slots=True)
class _Server:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str = field(repr=False)


class SmtpSender:
    """Sends each mail over its own SMTP session, within `timeout` seconds in all."""

    def __init__(
        self,
        url: str,
        mail_from: str,
        timeout: float = 30.0,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._server = _parse_url(url)
        envelope_from = parseaddr(mail_from)[1]
        if not _ADDRESS.match(envelope_from):
            raise ValueError("the sender must be an address like 'Shop <orders@shop.example>'")
        self._mail_from = mail_from
        self._envelope_from = envelope_from
        self._domain = envelope_from.rpartition("@")[2]
        self._timeout = timeout
        self._tls_context = tls_context
        self._ehlo_name: str | None = None

    async def send(self, mail: OutgoingMail, *, mail_id: str | None = None) -> None:
        """Deliver `mail`; `mail_id` (the outbox id) makes a resend carry the same Message-ID."""
        recipient = _ascii_domain(mail.recipient)
        message = self._message(mail, recipient, mail_id)
        server = self._server
        if self._ehlo_name is None:
            # This host's name, looked up once and off the event loop, for EHLO.
            self._ehlo_name = await asyncio.to_thread(socket.getfqdn)
        smtp = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            use_tls=server.implicit_tls,
            start_tls=None,  # upgrade when offered
            timeout=self._timeout,
            tls_context=self._tls_context,
            local_hostname=self._ehlo_name,
        )
        try:
            async with asyncio.timeout(self._timeout):
                await smtp.connect()
                await self._log_in(smtp)
                await smtp.send_message(message, sender=self._envelope_from, recipients=[recipient])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailUnavailable(_kind_of(exc)) from None
        finally:
            await _close(smtp, self._timeout)

    def _message(self, mail: OutgoingMail, recipient: str, mail_id: str | None) -> EmailMessage:
        message = EmailMessage()
        try:
            message["From"] = self._mail_from
            message["To"] = recipient
            message["Subject"] = mail.subject
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = (
                f"<{mail_id}@{self._domain}>" if mail_id else make_msgid(domain=self._domain)
            )
            # RFC 3834: no out-of-office replies to an automatic mail.
            message["Auto-Submitted"] = "auto-generated"
            message.set_content(mail.text)
            message.add_alternative(mail.html, subtype="html")
        except (ValueError, TypeError):
            raise MailUnavailable(MailErrorKind.INVALID_MESSAGE) from None
        return message

    async def _log_in(self, smtp: aiosmtplib.SMTP) -> None:
        server = self._server
        if server.username is None:
            return
        encrypted = smtp.get_transport_info("sslcontext") is not None
        if not encrypted and not _is_loopback(server.host):
            raise MailUnavailable(MailErrorKind.INSECURE)
        await smtp.login(server.username, server.password)


def _ascii_domain(address: str) -> str:
    """`address` with an internationalised domain (`blåbær.no`) in its ASCII form (IDNA)."""
    if not _ADDRESS.match(address):
        raise MailUnavailable(MailErrorKind.INVALID_MESSAGE)
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        raise MailUnavailable(MailErrorKind.INVALID_MESSAGE) from None


def _parse_url(url: str) -> _Server:
    # No message here quotes the URL: it may hold a password.
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(_URL_SHAPE)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(_URL_SHAPE)
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(_URL_SHAPE) from None
    return _Server(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password or ""),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# The first entry an exception is an instance of names its kind; order matters.
_KINDS: tuple[tuple[tuple[type[BaseException], ...], MailErrorKind], ...] = (
    ((aiosmtplib.SMTPAuthenticationError,), MailErrorKind.AUTHENTICATION),
    ((aiosmtplib.SMTPSenderRefused,), MailErrorKind.SENDER_REFUSED),
    (
        (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPRecipientsRefused),
        MailErrorKind.RECIPIENT_REFUSED,
    ),
    ((aiosmtplib.SMTPDataError, aiosmtplib.SMTPNotSupported), MailErrorKind.REJECTED),
    (
        (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError),
        MailErrorKind.CONNECTION,
    ),
)


def _kind_of(exc: BaseException) -> MailErrorKind:
    """Classify by exception type alone: the server's words never leave this module."""
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return MailErrorKind.TIMEOUT
    if _caused_by_tls(exc):
        return MailErrorKind.TLS
    for types, kind in _KINDS:
        if isinstance(exc, types):
            return kind
    return MailErrorKind.PROTOCOL


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _close(smtp: aiosmtplib.SMTP, seconds: float) -> None:
    """Say QUIT when still connected; the mail's fate was decided before, so nothing here fails."""
    if smtp.is_connected:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            async with asyncio.timeout(seconds):
                await smtp.quit()
    smtp.close()
