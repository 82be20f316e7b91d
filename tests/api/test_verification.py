"""Verified actions (CONTRACT §5) through the running app, a real SMTP server and the sandbox:
the code step, its limits, step-up instead of lock-out, and where a code must never appear."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import asyncpg

from service.app import create_app
from service.mail.dev_mailbox import DevMailbox, ReceivedMail
from service.policy import Policy
from service.sandbox.server import SandboxShop
from tests.api.conftest import Answer, post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory
from tests.log_capture import LineCapture

CANCEL = """mutation ($n: String!, $c: String!, $code: String, $key: String) {
  requestCancellation(input: {orderNumber: $n, contact: $c, reason: CHANGED_MIND,
    verificationCode: $code, idempotencyKey: $key}) {
    request { id status } userErrors { code message field } } }"""
LOOKUP = """query ($n: String!, $c: String!, $code: String) {
  orderStatus(orderNumber: $n, contact: $c, verificationCode: $code) {
    order { number } userErrors { code message } } }"""
ADA = ("#1001", "ada.lovelace@example.com")
SECRET = "test-secret-key-of-at-least-32-characters"
CODE = re.compile(r"\b(\d{3}) ?(\d{3})\b")


@asynccontextmanager
async def app(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    database: str | None = None,
    **overrides: Any,
) -> AsyncIterator[str]:
    settings = sandbox_settings(
        database or await make_database(),
        sandbox,
        SMTP_URL=mailbox.url,
        ORDERGATE_SECRET_KEY=SECRET,
        **overrides,
    )
    # The merchant's defaults: a cancellation needs a code.
    async with serving(create_app(settings, policy=Policy())) as url:
        yield url


async def cancel(
    http: aiohttp.ClientSession, url: str, order: tuple[str, str] = ADA, **extra: str | None
) -> dict[str, Any]:
    variables = {"n": order[0], "c": order[1], **extra}
    answer = await post_graphql(http, url, CANCEL, variables)
    assert answer.status == 200, answer.text
    return answer.body["data"]["requestCancellation"]  # type: ignore[no-any-return]


async def lookup(
    http: aiohttp.ClientSession, url: str, order: tuple[str, str], code: str | None = None
) -> Answer:
    return await post_graphql(http, url, LOOKUP, {"n": order[0], "c": order[1], "code": code})


def code_in(mail: ReceivedMail) -> str:
    match = CODE.search(mail.text)
    assert match is not None, "the mail carries no code"
    return match.group(1) + match.group(2)


async def next_code(mailbox: DevMailbox, count: int) -> str:
    mails = await asyncio.wait_for(mailbox.wait_for(count), timeout=10)
    return code_in(mails[-1])


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def test_a_cancellation_goes_ahead_only_with_the_code_from_the_orders_inbox(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    async with app(make_database, sandbox, mailbox) as url:
        asked = await cancel(http, url)
        code = await next_code(mailbox, 1)
        wrong = await cancel(http, url, code="000000" if code != "000000" else "111111")
        elsewhere = await cancel(http, url, ("#1012", "lars.petersen@example.com"), code=code)
        right = await cancel(http, url, code=code)
    assert codes(asked) == ["VERIFICATION_REQUIRED"]
    assert "a•••@example.com" in asked["userErrors"][0]["message"]
    assert mailbox.messages[0].recipient == "ada.lovelace@example.com"
    assert codes(wrong) == ["VERIFICATION_FAILED"]
    assert codes(elsewhere) == ["VERIFICATION_FAILED"]  # a code opens its own order only
    assert right["request"]["status"] == "CANCELLED"
    assert len(sandbox.mutations("OrderCancel")) == 1


async def test_a_code_is_spent_by_the_action_it_allows_not_by_looking(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    policy = {"ORDERGATE_LIMIT_PER_ORDER": "2/hour"}
    async with app(make_database, sandbox, mailbox, **policy) as url:
        for guess in range(2):  # lock #1001 so that lookups need a code too
            await lookup(http, url, ("#1001", f"guess{guess}@example.org"))
        await lookup(http, url, ADA)  # a code for the locked order
        code = await next_code(mailbox, 1)
        first = await lookup(http, url, ADA, code)
        second = await lookup(http, url, ADA, code)
        cancelled = await cancel(http, url, code=code)
        after = await lookup(http, url, ADA, code)
    assert first.body["data"]["orderStatus"]["order"]["number"] == "#1001"
    assert second.body["data"]["orderStatus"]["order"]["number"] == "#1001"
    assert cancelled["request"]["status"] == "CANCELLED"
    assert after.body["data"]["orderStatus"]["userErrors"][0]["code"] == "VERIFICATION_REQUIRED"


async def test_the_code_step_consumes_no_idempotency_key(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    async with app(make_database, sandbox, mailbox) as url:
        asked = await cancel(http, url, key="cancel-1")
        code = await next_code(mailbox, 1)
        done = await cancel(http, url, key="cancel-1", code=code)
        replayed = await cancel(http, url, key="cancel-1")
    assert codes(asked) == ["VERIFICATION_REQUIRED"]
    assert done["request"]["status"] == "CANCELLED"
    assert replayed["request"]["id"] == done["request"]["id"]


async def test_five_wrong_tries_spend_a_code(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    async with app(make_database, sandbox, mailbox) as url:
        await cancel(http, url)
        code = await next_code(mailbox, 1)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            assert codes(await cancel(http, url, code=wrong)) == ["VERIFICATION_FAILED"]
        late = await cancel(http, url, code=code)
    assert codes(late) == ["VERIFICATION_FAILED"]
    assert sandbox.mutations("OrderCancel") == []


async def test_codes_are_rationed_per_order(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    # A stranger who knows the number and the address cannot flood the customer's inbox.
    async with app(make_database, sandbox, mailbox) as url:
        answers = [await cancel(http, url) for _ in range(5)]
        await next_code(mailbox, 1)
        await asyncio.sleep(0.5)  # anything else queued would have been delivered by now
    assert {tuple(codes(answer)) for answer in answers} == {("VERIFICATION_REQUIRED",)}
    assert len(mailbox.messages) == 1


async def test_an_order_without_an_email_address_goes_to_review(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    async with app(make_database, sandbox, mailbox) as url:
        answer = await cancel(http, url, ("#1013", "+4791234567"))
    assert answer["request"]["status"] == "PENDING_REVIEW"
    assert sandbox.mutations("OrderCancel") == []


async def test_step_up_answers_alike_and_mails_only_the_right_contact(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    async with app(make_database, sandbox, mailbox, ORDERGATE_LIMIT_PER_ORDER="3/hour") as url:
        for guess in range(3):
            await lookup(http, url, ("#1001", f"guess{guess}@example.org"))
        stranger = await lookup(http, url, ("#1001", "stranger@example.org"))
        customer = await lookup(http, url, ADA)
        code = await next_code(mailbox, 1)
        opened = await lookup(http, url, ADA, code)
    assert stranger.status == customer.status == 200
    assert stranger.text == customer.text
    assert stranger.body["data"]["orderStatus"]["userErrors"][0]["code"] == (
        "VERIFICATION_REQUIRED"
    )
    assert [mail.recipient for mail in mailbox.messages] == ["ada.lovelace@example.com"]
    assert opened.body["data"]["orderStatus"]["order"]["number"] == "#1001"


async def test_a_locked_order_can_still_be_cancelled_with_its_code(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    async with app(make_database, sandbox, mailbox, ORDERGATE_LIMIT_PER_ORDER="2/hour") as url:
        for guess in range(2):
            await lookup(http, url, ("#1001", f"guess{guess}@example.org"))
        asked = await cancel(http, url)
        code = await next_code(mailbox, 1)
        done = await cancel(http, url, code=code)
    assert codes(asked) == ["VERIFICATION_REQUIRED"]
    assert done["request"]["status"] == "CANCELLED"


async def test_the_code_is_never_logged_audited_or_stored_readable(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
    every_log_line: LineCapture,
) -> None:
    start = len(every_log_line.lines)
    database = await make_database()
    async with app(make_database, sandbox, mailbox, database=database) as url:
        await cancel(http, url)
        code = await next_code(mailbox, 1)
        await cancel(http, url, code=code)
    assert not [line for line in every_log_line.lines[start:] if code in line]
    conn = await asyncpg.connect(database)
    try:
        tables = await conn.fetch("select tablename from pg_tables where schemaname = 'public'")
        dumped = [
            str(row)
            for table in tables
            for row in await conn.fetch(f'select t::text from "{table["tablename"]}" t')
        ]
    finally:
        await conn.close()
    assert not [row for row in dumped if code in row]


async def test_dev_shows_the_embedded_mailbox_and_production_has_no_such_page(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    # No SMTP_URL in dev: ordergate runs its own mailbox and shows it at /dev/mail.
    settings = sandbox_settings(await make_database(), sandbox)
    async with serving(create_app(settings, policy=Policy())) as url:
        await cancel(http, url)
        for _ in range(100):
            async with http.get(f"{url}/dev/mail") as page:
                html = await page.text()
            if "ada.lovelace@example.com" in html:
                break
            await asyncio.sleep(0.05)
    assert page.status == 200
    assert "ada.lovelace@example.com" in html
    assert "script-src" not in page.headers["Content-Security-Policy"]
    production = sandbox_settings(
        await make_database(),
        sandbox,
        ORDERGATE_ENV="production",
        SHOPIFY_SHOP="demo.myshopify.com",
        ORDERGATE_SECRET_KEY=SECRET,
        SMTP_URL="smtp://127.0.0.1:9",
    )
    async with serving(create_app(production)) as url, http.get(f"{url}/dev/mail") as page:
        assert page.status == 404
