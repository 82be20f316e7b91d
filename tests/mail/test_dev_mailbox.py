"""The dev mailbox: keeps what it receives, lists it newest first, escapes everything."""

from __future__ import annotations

import asyncio

from service.mail.dev_mailbox import DevMailbox
from service.mail.outgoing import OutgoingMail
from service.mail.sender import SmtpSender
from tests.mail.conftest import MAIL_FROM


async def _send(box: DevMailbox, subject: str, text: str = "body\n", html: str = "") -> None:
    mail = OutgoingMail("kari@example.com", subject, text, html or f"<p>{subject}</p>")
    await SmtpSender(box.url, MAIL_FROM, 5).send(mail)


async def test_the_page_lists_mail_newest_first_with_its_text(mailbox: DevMailbox) -> None:
    await _send(mailbox, "First", "Your code: 111111\n")
    await _send(mailbox, "Second", "Your code: 222222\n")
    page = mailbox.render_page()
    assert page.index("Second") < page.index("First")
    assert "<pre>Your code: 222222\n</pre>" in page
    assert "2 messages received" in page


async def test_the_page_escapes_what_the_mail_says(mailbox: DevMailbox) -> None:
    await _send(mailbox, "<script>alert(1)</script>", "a < b & c\n", "<b onclick=x>hi</b>")
    page = mailbox.render_page()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt; b &amp; c" in page
    # The HTML body is shown in an empty sandbox, quoted into its srcdoc attribute.
    assert 'srcdoc="&lt;b onclick=x&gt;hi&lt;/b&gt;' in page
    assert "<b onclick" not in page


def test_an_empty_mailbox_says_so() -> None:
    assert "No mail yet." in DevMailbox().render_page()


async def test_the_mailbox_keeps_only_the_newest_messages() -> None:
    box = DevMailbox(keep=2)
    await box.start()
    try:
        for subject in ("one", "two", "three"):
            await _send(box, subject)
    finally:
        await box.close()
    assert [mail.subject for mail in box.messages] == ["two", "three"]


async def test_close_ends_open_sessions(mailbox: DevMailbox) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", mailbox.port)
    assert (await reader.readline()).startswith(b"220 ")
    async with asyncio.timeout(2):
        await mailbox.close()
        assert await reader.read() == b""  # the server hung up
    writer.close()


async def test_the_url_reaches_the_mailbox_on_its_port(mailbox: DevMailbox) -> None:
    assert mailbox.url == f"smtp://127.0.0.1:{mailbox.port}"
    assert mailbox.port > 0
