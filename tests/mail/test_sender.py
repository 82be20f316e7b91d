"""The SMTP sender against real servers on loopback: TLS as offered, credentials, failures."""

from __future__ import annotations

import asyncio

import pytest

from service.mail.dev_mailbox import DevMailbox
from service.mail.outgoing import OutgoingMail
from service.mail.sender import MailErrorKind, MailUnavailable, SmtpSender
from tests.mail.conftest import MAIL_FROM, Certificate
from tests.mail.scripted_smtp import Script, free_port, scripted_smtp

MAIL = OutgoingMail(
    "kari@example.com", "Your code for #1001", "Your code: 418207\n", "<p>418207</p>\n"
)


async def _started(box: DevMailbox) -> DevMailbox:
    await box.start()
    return box


async def test_mail_goes_out_in_plain_text_when_no_tls_is_offered(mailbox: DevMailbox) -> None:
    await SmtpSender(mailbox.url, MAIL_FROM, 5).send(MAIL, mail_id="5f0c1f1e")
    (received,) = mailbox.messages
    assert (received.recipient, received.subject) == ("kari@example.com", "Your code for #1001")
    assert received.text == "Your code: 418207\n"
    assert received.html == "<p>418207</p>\n"
    assert received.sender == "orders@shop.example"
    assert not received.tls


async def test_a_resent_mail_carries_the_same_message_id(mailbox: DevMailbox) -> None:
    sender = SmtpSender(mailbox.url, MAIL_FROM, 5)
    await sender.send(MAIL, mail_id="5f0c1f1e")
    await sender.send(MAIL, mail_id="5f0c1f1e")
    first, second = mailbox.messages
    assert first.message_id == second.message_id == "<5f0c1f1e@shop.example>"


async def test_starttls_is_used_when_the_server_offers_it(certificate: Certificate) -> None:
    box = await _started(DevMailbox(tls_context=certificate.server_context()))
    try:
        sender = SmtpSender(box.url, MAIL_FROM, 5, tls_context=certificate.client_context())
        await sender.send(MAIL)
        (received,) = box.messages
        assert received.tls
    finally:
        await box.close()


async def test_smtps_speaks_tls_from_the_start(certificate: Certificate) -> None:
    box = await _started(DevMailbox(tls_context=certificate.server_context(), implicit_tls=True))
    try:
        assert box.url.startswith("smtps://")
        sender = SmtpSender(box.url, MAIL_FROM, 5, tls_context=certificate.client_context())
        await sender.send(MAIL)
        (received,) = box.messages
        assert received.tls
    finally:
        await box.close()


async def test_an_untrusted_certificate_stops_the_mail(certificate: Certificate) -> None:
    box = await _started(DevMailbox(tls_context=certificate.server_context()))
    try:
        with pytest.raises(MailUnavailable) as caught:
            await SmtpSender(box.url, MAIL_FROM, 5).send(MAIL)  # the system's CAs only
        assert caught.value.kind is MailErrorKind.TLS
        assert box.messages == ()
    finally:
        await box.close()


async def test_credentials_in_the_url_log_in_over_starttls(certificate: Certificate) -> None:
    box = DevMailbox(
        tls_context=certificate.server_context(), credentials=("shop@relay", "p@ss:w/rd")
    )
    await box.start()
    try:
        sender = SmtpSender(box.url, MAIL_FROM, 5, tls_context=certificate.client_context())
        await sender.send(MAIL)
        assert len(box.messages) == 1
    finally:
        await box.close()


async def test_wrong_credentials_are_an_authentication_failure(certificate: Certificate) -> None:
    box = await _started(
        DevMailbox(tls_context=certificate.server_context(), credentials=("shop", "right"))
    )
    try:
        url = box.url.replace("shop:right@", "shop:wrong@")
        sender = SmtpSender(url, MAIL_FROM, 5, tls_context=certificate.client_context())
        with pytest.raises(MailUnavailable) as caught:
            await sender.send(MAIL)
        assert caught.value.kind is MailErrorKind.AUTHENTICATION
        assert caught.value.kind.concerns_server
        assert box.messages == ()
    finally:
        await box.close()


async def test_credentials_never_cross_the_network_unencrypted(mailbox: DevMailbox) -> None:
    # 127.1 reaches the mailbox on loopback but is not written as a loopback address, so the
    # sender must treat it as a remote relay: no TLS offered means no password sent.
    url = f"smtp://shop:secret@127.1:{mailbox.port}"
    with pytest.raises(MailUnavailable) as caught:
        await SmtpSender(url, MAIL_FROM, 5).send(MAIL)
    assert caught.value.kind is MailErrorKind.INSECURE
    assert mailbox.messages == ()


async def test_nothing_listening_is_a_connection_failure() -> None:
    with pytest.raises(MailUnavailable) as caught:
        await SmtpSender(f"smtp://127.0.0.1:{free_port()}", MAIL_FROM, 5).send(MAIL)
    assert caught.value.kind is MailErrorKind.CONNECTION
    assert str(caught.value) == "the SMTP server could not be reached"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_a_silent_server_is_a_timeout() -> None:
    async with scripted_smtp(Script(silent=True)) as port:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(MailUnavailable) as caught:
            await SmtpSender(f"smtp://127.0.0.1:{port}", MAIL_FROM, 0.5).send(MAIL)
        assert caught.value.kind is MailErrorKind.TIMEOUT
        assert loop.time() - started < 3


async def test_a_refused_recipient_leaves_the_servers_words_behind() -> None:
    script = Script(rcpt_reply="550 5.1.1 <kari@example.com> server-secret-words")
    async with scripted_smtp(script) as port:
        with pytest.raises(MailUnavailable) as caught:
            await SmtpSender(f"smtp://127.0.0.1:{port}", MAIL_FROM, 5).send(MAIL)
    assert caught.value.kind is MailErrorKind.RECIPIENT_REFUSED
    assert not caught.value.kind.concerns_server
    assert "server-secret-words" not in repr(caught.value)
    assert "kari" not in str(caught.value)


@pytest.mark.parametrize(
    "recipient", ["kari@example.com\r\nBcc: mallory@example.com", "not-an-address", "a b@c.d"]
)
async def test_a_malformed_recipient_is_refused_before_sending(
    mailbox: DevMailbox, recipient: str
) -> None:
    mail = OutgoingMail(recipient, MAIL.subject, MAIL.text, MAIL.html)
    with pytest.raises(MailUnavailable) as caught:
        await SmtpSender(mailbox.url, MAIL_FROM, 5).send(mail)
    assert caught.value.kind is MailErrorKind.INVALID_MESSAGE
    assert mailbox.messages == ()


async def test_an_internationalised_domain_is_sent_in_its_ascii_form(mailbox: DevMailbox) -> None:
    mail = OutgoingMail("kari@blåbær.example", MAIL.subject, MAIL.text, MAIL.html)
    await SmtpSender(mailbox.url, MAIL_FROM, 5).send(mail)
    (received,) = mailbox.messages
    assert received.recipient == "kari@xn--blbr-roah.example"


async def test_a_non_ascii_mailbox_name_needs_a_server_that_takes_it(mailbox: DevMailbox) -> None:
    mail = OutgoingMail("øyvind@example.com", MAIL.subject, MAIL.text, MAIL.html)
    with pytest.raises(MailUnavailable) as caught:  # the mailbox offers no SMTPUTF8
        await SmtpSender(mailbox.url, MAIL_FROM, 5).send(mail)
    assert caught.value.kind is MailErrorKind.REJECTED
    assert not caught.value.kind.concerns_server


async def test_a_subject_with_a_line_break_cannot_add_a_header(mailbox: DevMailbox) -> None:
    mail = OutgoingMail(MAIL.recipient, "Hi\r\nBcc: mallory@example.com", MAIL.text, MAIL.html)
    with pytest.raises(MailUnavailable) as caught:
        await SmtpSender(mailbox.url, MAIL_FROM, 5).send(mail)
    assert caught.value.kind is MailErrorKind.INVALID_MESSAGE
    assert mailbox.messages == ()


@pytest.mark.parametrize(
    "url",
    [
        "http://relay.example:25",
        "smtp://",
        "smtp://user:hunter2@relay.example:notaport",
        "smtp://user:hunter2@relay.example:25/path",
        "relay.example:25",
    ],
)
def test_a_malformed_url_is_refused_without_quoting_it(url: str) -> None:
    with pytest.raises(ValueError, match="smtp://") as caught:
        SmtpSender(url, MAIL_FROM)
    assert "hunter2" not in str(caught.value)


def test_a_sender_at_a_local_host_is_accepted() -> None:
    SmtpSender("smtp://127.0.0.1:25", "ordergate@localhost")


@pytest.mark.parametrize("mail_from", ["", "Shop", "Shop <orders>", "<@shop.example>"])
def test_a_malformed_sender_address_is_refused(mail_from: str) -> None:
    with pytest.raises(ValueError, match="sender"):
        SmtpSender("smtp://127.0.0.1:25", mail_from)


def test_the_sender_never_shows_its_password() -> None:
    sender = SmtpSender("smtps://shop:hunter2@relay.example", MAIL_FROM)
    assert "hunter2" not in repr(sender._server)
