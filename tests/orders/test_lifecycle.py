"""The request state machine against a real shop: refusals, outages, slow jobs, vanished orders."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from pydantic import SecretStr

from service.admin.auth import StaticToken
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.app import create_app
from service.models import AuditOperation, Order, RequestStatus
from service.orders.lifecycle import Lifecycle
from service.orders.reconciler import Reconciler
from service.orders.trail import Trail
from service.policy import Policy, RefundMethod
from service.sandbox.records import JOB_GID, SandboxFulfillment, SandboxJob
from service.sandbox.server import SandboxShop, start_sandbox
from service.storage import audit
from service.storage import requests as requests_store
from service.storage.requests import AdminState, StoredRequest
from tests import factories
from tests.admin.scripted_server import GRAPHQL_PATH, Reply, running_scripted_server
from tests.api.conftest import post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory

ORDER_STATUS = """
query Status($number: String!, $contact: String!) {
  orderStatus(orderNumber: $number, contact: $contact) {
    order { requests { status message } }
    userErrors { code message }
  }
}
"""


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def database_url(make_database: DatabaseFactory) -> str:
    """A database for each test (overriding the shared one), so the reconciler meets only
    the requests the test made."""
    return await make_database()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The HTTP session every Admin client of the test shares."""
    async with aiohttp.ClientSession() as session:
        yield session


def admin_client(http: aiohttp.ClientSession, endpoint: str, token: str) -> AdminClient:
    """An Admin client for the endpoint, with the real operation documents."""
    return AdminClient(
        http,
        endpoint=endpoint,
        auth=StaticToken(SecretStr(token)),
        operations=OperationRegistry.load(),
    )


@pytest.fixture
def shop_client(http: aiohttp.ClientSession, sandbox: SandboxShop) -> AdminClient:
    """An Admin client for the sandbox shop."""
    return admin_client(http, sandbox.endpoint, sandbox.admin_token)


def refused_endpoint() -> str:
    """An Admin endpoint on a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{GRAPHQL_PATH}"


@pytest.fixture(params=["connection-refused", "http-503"])
async def unavailable_admin(
    request: pytest.FixtureRequest, http: aiohttp.ClientSession
) -> AsyncIterator[tuple[AdminClient, str]]:
    """An Admin client whose Shopify is down, and the error the audit log names for it."""
    if request.param == "connection-refused":
        yield admin_client(http, refused_endpoint(), "shpat_unused"), "connection"
        return
    async with running_scripted_server() as server:
        server.responders[GRAPHQL_PATH] = lambda _: Reply(status=503, body="Service Unavailable")
        yield admin_client(http, server.endpoint, "shpat_unused"), "http_status"


def lifecycle(pool: asyncpg.Pool, client: AdminClient) -> Lifecycle:
    return Lifecycle(pool=pool, admin=client, policy=Policy(), clock=now)


async def reconcile_due(pool: asyncpg.Pool, client: AdminClient) -> int:
    """One reconciler pass over every unfinished request; how many it looked at."""
    worker = Reconciler(
        pool=pool,
        lifecycle=lifecycle(pool, client),
        clock=now,
        settle=timedelta(0),
        review_recheck=timedelta(0),
    )
    return await worker.run_once()


def storefront_trail() -> Trail:
    return Trail(request_id=f"test-{uuid.uuid4().hex}", client_address="127.0.0.1")


async def read_order(client: AdminClient, name: str = "#1001") -> Order:
    order = await Shop(client).find_order(name=name)
    assert order is not None
    return order


async def accepted(pool: asyncpg.Pool, order: Order) -> StoredRequest:
    """A cancellation whose intent is written and settled, nothing sent to Shopify yet."""
    async with pool.acquire() as conn:
        return await factories.cancellation_request(conn=conn, order=order)


async def sent(pool: asyncpg.Pool, stored: StoredRequest, job_id: str) -> StoredRequest:
    """The request as it stands once orderCancel answered with a job not yet done."""
    return await requests_store.update(
        conn=pool,
        request_id=stored.request.id,
        status=RequestStatus.PROCESSING,
        admin_state=AdminState.SENT,
        now=now() - timedelta(minutes=1),
        admin_job_id=job_id,
    )


def sandbox_job(sandbox: SandboxShop, order: Order, *, done: bool) -> str:
    """A cancel job in the sandbox that never cancels anything; `done` says if it finished."""
    order_number = sandbox.store.order_named(order.number).id
    job = SandboxJob(id=f"{JOB_GID}{uuid.uuid4()}", order_id=order_number, done=done)
    sandbox.store.jobs[job.id] = job
    return job.id


async def current(pool: asyncpg.Pool, stored: StoredRequest) -> StoredRequest:
    """The request's row as it is stored now."""
    row = await requests_store.get(conn=pool, request_id=stored.request.id)
    assert row is not None
    return row


async def state(pool: asyncpg.Pool, stored: StoredRequest) -> tuple[RequestStatus, AdminState]:
    """Where the request stands now, and how far its Admin side got."""
    row = await current(pool, stored)
    return row.request.status, row.admin_state


async def status_changes(pool: asyncpg.Pool, order: Order) -> list[dict[str, Any]]:
    """The audit log's state-change events for the order, oldest first."""
    async with pool.acquire() as conn:
        return [
            event
            async for event in audit.export(conn=conn, order_id=order.id)
            if event["operation"] == AuditOperation.STATUS_CHANGED
        ]


def ship(sandbox: SandboxShop, order: Order) -> None:
    """The warehouse ships the order in Shopify after ordergate last read it."""
    sandbox.store.order_named(order.number).fulfillments.append(SandboxFulfillment(now()))


# --- acting: Shopify refuses -----------------------------------------------------------------


async def test_refused_cancel_declines_the_request_with_shopifys_codes_in_the_audit(
    pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    ship(sandbox, order)
    moved = await lifecycle(pool, shop_client).act(
        stored=stored, order=order, trail=storefront_trail()
    )
    assert (moved.request.status, moved.admin_state) == (RequestStatus.DECLINED, AdminState.DONE)
    (event,) = await status_changes(pool, order)
    assert event["outcome"] == "DECLINED"
    assert event["details"]["shopify_codes"] == ["INVALID"]
    assert event["details"]["shopify_messages"] == ["Cannot cancel an order with fulfilled items"]


async def test_shopifys_refusal_reaches_the_customer_only_as_declined(
    database_url: str,
    pool: asyncpg.Pool,
    shop_client: AdminClient,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
) -> None:
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    ship(sandbox, order)
    await lifecycle(pool, shop_client).act(stored=stored, order=order, trail=storefront_trail())
    async with serving(create_app(sandbox_settings(database_url, sandbox))) as url:
        variables = {"number": "#1001", "contact": "ada.lovelace@example.com"}
        answer = await post_graphql(http, url, ORDER_STATUS, variables)
    (request,) = answer.body["data"]["orderStatus"]["order"]["requests"]
    assert request["status"] == "DECLINED"
    assert "INVALID" not in answer.text
    assert "fulfilled items" not in answer.text


async def test_refused_cancel_of_an_order_cancelled_meanwhile_counts_as_cancelled(
    pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    # Staff cancel the order in Shopify's admin after ordergate read it.
    sandbox.store.order_named(order.number).cancelled_at = now()
    moved = await lifecycle(pool, shop_client).act(
        stored=stored, order=order, trail=storefront_trail()
    )
    assert (moved.request.status, moved.admin_state) == (RequestStatus.CANCELLED, AdminState.DONE)
    assert len(sandbox.mutations("OrderCancel")) == 1


# --- acting: Shopify is down -----------------------------------------------------------------


async def test_admin_outage_while_acting_leaves_the_request_as_it_was(
    pool: asyncpg.Pool,
    shop_client: AdminClient,
    unavailable_admin: tuple[AdminClient, str],
) -> None:
    down, error = unavailable_admin
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    after = await lifecycle(pool, down).act(stored=stored, order=order, trail=storefront_trail())
    assert after == stored
    assert await current(pool, stored) == stored
    (event,) = await status_changes(pool, order)
    assert event["outcome"] == "admin_failed"
    assert event["details"] == {"error": error}


async def test_reconciler_finishes_a_request_an_admin_outage_left_open(
    pool: asyncpg.Pool,
    shop_client: AdminClient,
    sandbox: SandboxShop,
    unavailable_admin: tuple[AdminClient, str],
) -> None:
    down, _ = unavailable_admin
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    await lifecycle(pool, down).act(stored=stored, order=order, trail=storefront_trail())
    await reconcile_due(pool, shop_client)
    assert await state(pool, stored) == (RequestStatus.CANCELLED, AdminState.DONE)
    assert len(sandbox.mutations("OrderCancel")) == 1


# --- acting: a slow job ----------------------------------------------------------------------


async def test_cancel_job_slower_than_the_customer_waits_leaves_the_request_sent(
    pool: asyncpg.Pool, http: aiohttp.ClientSession
) -> None:
    slow = await start_sandbox(job_delay_seconds=60)
    try:
        client = admin_client(http, slow.endpoint, slow.admin_token)
        order = await read_order(client)
        stored = await accepted(pool, order)
        moved = await lifecycle(pool, client).act(
            stored=stored, order=order, trail=storefront_trail()
        )
    finally:
        await slow.close()
    assert (moved.request.status, moved.admin_state) == (RequestStatus.PROCESSING, AdminState.SENT)
    assert len(slow.mutations("OrderCancel")) == 1
    assert moved.admin_job_id is not None
    assert moved.admin_job_id.startswith(JOB_GID)


# --- reconciling -----------------------------------------------------------------------------


async def test_reconciling_a_sent_request_whose_job_finished_without_cancelling_declines_it(
    pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await read_order(shop_client)
    stored = await sent(pool, await accepted(pool, order), sandbox_job(sandbox, order, done=True))
    await reconcile_due(pool, shop_client)
    assert await state(pool, stored) == (RequestStatus.DECLINED, AdminState.DONE)
    (event,) = await status_changes(pool, order)
    assert event["details"]["problem"] == "cancel job finished without cancelling"
    assert sandbox.mutations("OrderCancel") == []


async def test_reconciling_a_sent_request_whose_job_still_runs_leaves_it_sent(
    pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await read_order(shop_client)
    stored = await sent(pool, await accepted(pool, order), sandbox_job(sandbox, order, done=False))
    assert await reconcile_due(pool, shop_client) == 1
    row = await current(pool, stored)
    assert (row.request.status, row.admin_state, row.admin_job_id) == (
        RequestStatus.PROCESSING,
        AdminState.SENT,
        stored.admin_job_id,
    )
    assert await status_changes(pool, order) == []
    assert sandbox.mutations("OrderCancel") == []


async def test_reconciling_a_request_for_a_vanished_order_declines_it(
    pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    del sandbox.store.orders[sandbox.store.order_named(order.number).id]
    await reconcile_due(pool, shop_client)
    assert await state(pool, stored) == (RequestStatus.DECLINED, AdminState.DONE)
    (event,) = await status_changes(pool, order)
    assert event["details"]["problem"] == "order no longer found"
    assert sandbox.mutations("OrderCancel") == []


async def test_a_retry_refused_while_the_first_cancel_job_runs_ends_cancelled(
    pool: asyncpg.Pool, http: aiohttp.ClientSession
) -> None:
    # The process sent orderCancel and stopped before recording it; the job is slow. The
    # reconciler's retry is refused (the order is being cancelled), and must not decline.
    slow = await start_sandbox(job_delay_seconds=1.5)
    try:
        client = admin_client(http, slow.endpoint, slow.admin_token)
        order = await read_order(client)
        stored = await accepted(pool, order)
        await Shop(client).cancel_order(
            order_id=order.id, restock=True, notify_customer=True,
            refund=RefundMethod.ORIGINAL, staff_note="the attempt that crashed",
        )  # fmt: skip
        await reconcile_due(pool, client)
        after_refusal = await state(pool, stored)
        await asyncio.sleep(2.0)  # the first attempt's job finishes
        await reconcile_due(pool, client)
        final = await state(pool, stored)
    finally:
        await slow.close()
    assert after_refusal == (RequestStatus.PROCESSING, AdminState.SENT)
    assert final == (RequestStatus.CANCELLED, AdminState.DONE)
    assert len(slow.mutations("OrderCancel")) == 2
    refused, cancelled = await status_changes(pool, order)
    assert refused["details"]["shopify_codes"]  # the retry was refused, and did not decline
    assert cancelled["outcome"] == "CANCELLED"


async def test_a_refused_retry_with_no_earlier_job_declines_on_the_next_pass(
    pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await read_order(shop_client)
    stored = await accepted(pool, order)
    ship(sandbox, order)  # Shopify refuses the retry, and no earlier job is running
    await reconcile_due(pool, shop_client)
    assert await state(pool, stored) == (RequestStatus.PROCESSING, AdminState.SENT)
    await reconcile_due(pool, shop_client)
    assert await state(pool, stored) == (RequestStatus.DECLINED, AdminState.DONE)
    assert len(sandbox.mutations("OrderCancel")) == 1
