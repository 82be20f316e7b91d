"""The soak's load: virtual users sending lookups, cancellations (with their e-mailed codes),
not-received reports and Shopify webhooks, and what each answer was, for the checks at the end."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from service.mail.dev_mailbox import DevMailbox
from service.sandbox.generated import GENERATED_FIRST_NUMBER, generated_contact
from service.sandbox.server import SandboxShop

LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number cancellation { eligible } } userErrors { code } } }"""
CANCEL = """mutation ($n: String!, $c: String!, $code: String) { requestCancellation(input: {
  orderNumber: $n, contact: $c, reason: CHANGED_MIND, verificationCode: $code }) {
  request { id status } userErrors { code } } }"""
REPORT = """mutation ($n: String!, $c: String!) { reportNotReceived(input: {
  orderNumber: $n, contact: $c }) { request { id status } userErrors { code } } }"""
# The code stands on a line of its own (the order number has six digits too).
CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
CODE_WAIT_SECONDS = 15.0
ANSWER_TIMEOUT_SECONDS = 30.0


@dataclass
class Answer:
    """One request as the client saw it."""

    kind: str  # lookup, cancel, cancel_code, report
    phase: str
    started: float
    seconds: float
    outcome: str  # ok, a userError code, http_<status>, or a transport error's kind
    request_id: str | None  # the server's X-Request-ID when it answered
    replica: str = ""  # the URL that answered


@dataclass
class Load:
    """Everything the virtual users did."""

    answers: list[Answer] = field(default_factory=list)
    leaked: int = 0  # answers (body or headers) containing the Admin token
    codes_missing: int = 0  # cancellations whose code did not arrive within CODE_WAIT_SECONDS
    webhooks_published: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Users:
    """`count` virtual users over `urls` (replicas, tried in turn; a refused connection is
    retried on the next one, as a gateway does), until `stop` is set."""

    def __init__(
        self,
        *,
        urls: list[str],
        shop: SandboxShop,
        mailbox: DevMailbox,
        orders: int,
        phase: Callable[[], str],
        token: str,
    ) -> None:
        self._urls = urls
        self._shop = shop
        self._mailbox = mailbox
        self._orders = orders
        self._phase = phase
        self._token = token
        self.load = Load()
        self._turn = 0

    def _number(self, state: int) -> int:
        # Generated orders cycle through five states; 0 is just placed, 3 overdue in transit.
        return GENERATED_FIRST_NUMBER + 5 * random.randrange(self._orders // 5) + state

    async def run(self, count: int, stop: asyncio.Event) -> None:
        """Run the users until `stop`; each waits ~100 ms between actions."""
        timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await asyncio.gather(*(self._user(http, stop) for _ in range(count)))

    async def _user(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            roll = random.random()
            try:
                if roll < 0.7:
                    number = self._number(random.randrange(5))
                    contact = generated_contact(number) if random.random() < 0.9 else "x@y.example"
                    await self._post(http, "lookup", LOOKUP, {"n": f"#{number}", "c": contact})
                elif roll < 0.8:
                    await self._cancel(http, self._number(0))
                elif roll < 0.9:
                    number = self._number(3)
                    await self._post(
                        http, "report", REPORT, {"n": f"#{number}", "c": generated_contact(number)}
                    )
                else:
                    self._webhook()
            except Exception as exc:  # the load must go on; the kind is reported
                self.load.errors[type(exc).__name__] += 1
            await asyncio.sleep(random.uniform(0.05, 0.15))

    def _webhook(self) -> None:
        """Shopify tells ordergate an order changed (signed, retried as Shopify retries)."""
        order = self._shop.store.order_named(f"#{self._number(random.randrange(5))}")
        self._shop.store.order_changed(order, "orders/updated")
        self.load.webhooks_published += 1

    async def _cancel(self, http: aiohttp.ClientSession, number: int) -> None:
        contact = generated_contact(number)
        variables: dict[str, Any] = {"n": f"#{number}", "c": contact, "code": None}
        asked = time.time()
        outcome = await self._post(http, "cancel", CANCEL, variables)
        if outcome != "VERIFICATION_REQUIRED":
            return
        code = await self._code_for(contact, sent_after=asked)
        if code is None:
            self.load.codes_missing += 1
            return
        await self._post(http, "cancel_code", CANCEL, {**variables, "code": code})

    async def _code_for(self, address: str, *, sent_after: float) -> str | None:
        deadline = time.monotonic() + CODE_WAIT_SECONDS
        while time.monotonic() < deadline:
            for mail in reversed(self._mailbox.messages):
                if mail.recipient == address and mail.received_at.timestamp() >= sent_after - 1:
                    found = CODE.search(mail.text)
                    if found:
                        return found.group(1)
            await asyncio.sleep(0.25)
        return None

    async def _post(
        self, http: aiohttp.ClientSession, kind: str, query: str, variables: dict[str, Any]
    ) -> str:
        phase, started = self._phase(), time.monotonic()
        outcome, request_id, url = "connect_error", None, ""
        for attempt in range(len(self._urls)):
            url = self._urls[(self._turn + attempt) % len(self._urls)]
            try:
                outcome, request_id = await self._send(http, url, query, variables)
                break
            except aiohttp.ClientConnectorError:
                continue  # nothing was sent: another replica may take it
            except TimeoutError:
                outcome = "timeout"
                break
            except aiohttp.ClientError as exc:
                outcome = type(exc).__name__
                break
        self._turn += 1
        seconds = time.monotonic() - started
        answer = Answer(kind, phase, started, seconds, outcome, request_id, url)
        self.load.answers.append(answer)
        return outcome

    async def _send(
        self, http: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any]
    ) -> tuple[str, str | None]:
        async with http.post(url, json={"query": query, "variables": variables}) as response:
            text = await response.text()
            if self._token in text or any(self._token in v for v in response.headers.values()):
                self.load.leaked += 1
            if response.status != 200:
                return f"http_{response.status}", None
            body = await response.json(content_type=None)
            request_id = response.headers.get("x-request-id")
            field_value = next(iter((body.get("data") or {}).values()), None)
            errors = (field_value or {}).get("userErrors") or []
            return (errors[0]["code"] if errors else "ok"), request_id
