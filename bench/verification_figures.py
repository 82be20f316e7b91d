"""Verified actions, measured against the real app, a real SMTP server and the sandbox shop:
how long a customer waits for a code, what an SMTP outage loses, and whether a stranger can
still lock a customer out.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.verification_figures
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
from typing import Any

import aiohttp

from bench.lookup_cost import fresh_database
from service.app import create_app
from service.mail.dev_mailbox import DevMailbox
from service.policy import Policy
from service.sandbox.generated import GENERATED_FIRST_NUMBER, generated_contact
from service.sandbox.server import start_sandbox
from tests.api.conftest import post_graphql, sandbox_settings, serving

CANCEL = """mutation ($n: String!, $c: String!, $code: String) {
  requestCancellation(input: {orderNumber: $n, contact: $c, reason: CHANGED_MIND,
    verificationCode: $code}) { request { status } userErrors { code } } }"""
LOOKUP = """query ($n: String!, $c: String!, $code: String) {
  orderStatus(orderNumber: $n, contact: $c, verificationCode: $code) {
    order { number } userErrors { code } } }"""
REQUESTS = 100
DURING_OUTAGE = 20
OUTAGE_SECONDS = 10.0
SECRET = "bench-secret-key-0123456789-0123456789"
CODE = re.compile(r"\b(\d{3}) ?(\d{3})\b")


def cancellable(index: int) -> dict[str, str]:
    """The index-th generated order that was just placed (every fifth one is)."""
    number = GENERATED_FIRST_NUMBER + 5 * index
    return {"n": f"#{number}", "c": generated_contact(number)}


def settings_for(database: str, shop: Any, smtp_url: str) -> Any:
    return sandbox_settings(
        database,
        shop,
        SMTP_URL=smtp_url,
        ORDERGATE_SECRET_KEY=SECRET,
        ORDERGATE_LIMIT_PER_CLIENT="1000000/minute",
    )


async def code_latency(server: str) -> list[float]:
    """Milliseconds from a cancellation request to its code in the mailbox, per request."""
    shop = await start_sandbox(generated_orders=5 * REQUESTS)
    mailbox = DevMailbox()
    await mailbox.start()
    waits: list[float] = []
    settings = settings_for(await fresh_database(server), shop, mailbox.url)
    async with (
        serving(create_app(settings, policy=Policy())) as url,
        aiohttp.ClientSession() as http,
    ):
        for index in range(REQUESTS):
            started = time.perf_counter()
            await post_graphql(http, url, CANCEL, cancellable(index))
            await asyncio.wait_for(mailbox.wait_for(index + 1), timeout=30)
            waits.append((time.perf_counter() - started) * 1000)
    await mailbox.close()
    await shop.close()
    return waits


async def smtp_outage(server: str) -> tuple[int, int, float]:
    """(codes asked for while SMTP was down, codes delivered after it came back, seconds)."""
    shop = await start_sandbox(generated_orders=5 * DURING_OUTAGE)
    probe = DevMailbox()
    await probe.start()
    port = probe.port
    await probe.close()  # the relay is down: nothing listens on its port
    settings = settings_for(await fresh_database(server), shop, f"smtp://127.0.0.1:{port}")
    async with (
        serving(create_app(settings, policy=Policy())) as url,
        aiohttp.ClientSession() as http,
    ):
        for index in range(DURING_OUTAGE):
            await post_graphql(http, url, CANCEL, cancellable(index))
        await asyncio.sleep(OUTAGE_SECONDS)
        mailbox = DevMailbox(port=port)
        await mailbox.start()  # the relay is back
        started = time.perf_counter()
        try:
            await asyncio.wait_for(mailbox.wait_for(DURING_OUTAGE), timeout=120)
        except TimeoutError:
            pass
        delivered = len({mail.recipient for mail in mailbox.messages})
        seconds = time.perf_counter() - started
        await mailbox.close()
    await shop.close()
    return DURING_OUTAGE, delivered, seconds


async def lock_out_attempt(server: str) -> list[str]:
    """A stranger spends #1001's tries; then its customer looks it up. What each step got."""
    shop = await start_sandbox()
    mailbox = DevMailbox()
    await mailbox.start()
    steps: list[str] = []
    settings = settings_for(await fresh_database(server), shop, mailbox.url)
    async with (
        serving(create_app(settings, policy=Policy())) as url,
        aiohttp.ClientSession() as http,
    ):
        for guess in range(10):  # the default ORDERGATE_LIMIT_PER_ORDER: 10/hour
            variables = {"n": "#1001", "c": f"stranger{guess}@example.org"}
            await post_graphql(http, url, LOOKUP, variables)
        ada = {"n": "#1001", "c": "ada.lovelace@example.com"}
        stranger = await post_graphql(http, url, LOOKUP, {"n": "#1001", "c": "x@example.org"})
        customer = await post_graphql(http, url, LOOKUP, ada)
        steps.append(f"stranger after the lock: {_answer(stranger.body)}")
        steps.append(f"customer after the lock: {_answer(customer.body)}")
        steps.append(f"the two answers are byte-identical: {stranger.text == customer.text}")
        (mail,) = await asyncio.wait_for(mailbox.wait_for(1), timeout=30)
        match = CODE.search(mail.text)
        code = match.group(1) + match.group(2) if match else ""
        opened = await post_graphql(http, url, LOOKUP, {**ada, "code": code})
        steps.append(f"mail sent to: {mail.recipient} (only the customer's contact sent one)")
        steps.append(f"customer with the code: {_answer(opened.body)}")
    await mailbox.close()
    await shop.close()
    return steps


def _answer(body: dict[str, Any]) -> str:
    payload = body["data"]["orderStatus"]
    if payload["order"] is not None:
        return f"order {payload['order']['number']}"
    return str(payload["userErrors"][0]["code"])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> None:
    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    waits = await code_latency(server)
    asked, delivered, seconds = await smtp_outage(server)
    steps = await lock_out_attempt(server)
    print(  # noqa: T201
        f"request to code in the mailbox, {REQUESTS} requests: "
        f"p50 {statistics.median(waits):.0f} ms, p99 {_percentile(waits, 0.99):.0f} ms\n"
        f"SMTP down {OUTAGE_SECONDS:.0f} s while {asked} codes were asked for: {delivered} "
        f"delivered within {seconds:.0f} s of its return, {asked - delivered} lost\n"
        "can a stranger lock a customer out?\n  " + "\n  ".join(steps)
    )


if __name__ == "__main__":
    asyncio.run(main())
