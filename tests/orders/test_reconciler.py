"""The reconciler finishes what a crash left open, and sends each cancellation exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
from pydantic import SecretStr

from service.admin.auth import StaticToken
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.models import Order, RequestKind, RequestStatus
from service.orders.lifecycle import Lifecycle
from service.orders.reconciler import Reconciler
from service.policy import Policy
from service.sandbox.server import SandboxShop
from service.storage import audit
from service.storage import requests as requests_store
from service.storage.database import create_pool
from service.storage.requests import AdminState, StoredRequest
from tests.conftest import DatabaseFactory


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def fresh_pool(make_database: DatabaseFactory) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(await make_database())
    yield pool
    await pool.close()


@pytest.fixture
async def shop_client(sandbox: SandboxShop) -> AsyncIterator[AdminClient]:
    async with aiohttp.ClientSession() as session:
        yield AdminClient(
            session,
            endpoint=sandbox.endpoint,
            auth=StaticToken(SecretStr(sandbox.admin_token)),
            operations=OperationRegistry.load(),
        )


def reconciler(pool: asyncpg.Pool, client: AdminClient) -> Reconciler:
    return Reconciler(
        pool=pool,
        lifecycle=Lifecycle(pool=pool, admin=client, policy=Policy(), clock=now),
        clock=now,
        settle=timedelta(0),
        review_recheck=timedelta(0),
    )


async def intent(
    pool: asyncpg.Pool, order: Order, status: RequestStatus = RequestStatus.PROCESSING
) -> StoredRequest:
    """What a request leaves behind when the process dies right after writing its intent."""
    async with pool.acquire() as conn, conn.transaction():
        stored = await requests_store.create(
            conn=conn,
            kind=RequestKind.CANCELLATION,
            status=status,
            order_id=order.id,
            order_name=order.number,
            now=now() - timedelta(minutes=1),
            customer_reason="CHANGED_MIND",
            comment=None,
            locale="en",
            details={},
        )
        assert stored is not None
        await audit.append(
            conn=conn,
            events=[
                audit.AuditEvent(
                    operation="requestCancellation",
                    request_id="crashed",
                    client_address="127.0.0.1",
                    order_id=order.id,
                    customer_request_id=stored.request.id,
                    outcome=status.value,
                )
            ],
        )
    return stored


async def cancel_in_shopify(client: AdminClient, order: Order, note: str) -> None:
    """Cancel as someone else would (our crashed process, or staff) and wait for the job."""
    shop = Shop(client)
    outcome = await shop.cancel_order(
        order_id=order.id,
        restock=True,
        notify_customer=True,
        refund=Policy().cancellation.refund,
        staff_note=note,
    )
    assert outcome.job_id is not None
    for _ in range(100):
        if await shop.job_done(job_id=outcome.job_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the sandbox's cancel job never finished")


async def order_1001(client: AdminClient) -> Order:
    order = await Shop(client).find_order(name="#1001")
    assert order is not None
    return order


async def test_crash_before_shopify_call_ends_in_exactly_one_cancellation(
    fresh_pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    stored = await intent(fresh_pool, await order_1001(shop_client))
    worker = reconciler(fresh_pool, shop_client)
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    finished = await requests_store.get(conn=fresh_pool, request_id=stored.request.id)
    assert finished is not None
    assert (finished.request.status, finished.admin_state) == (
        RequestStatus.CANCELLED,
        AdminState.DONE,
    )
    assert len(sandbox.mutations("OrderCancel")) == 1
    async with fresh_pool.acquire() as conn:
        assert (await audit.verify(conn=conn)).intact


async def test_crash_after_shopify_call_is_recognised_without_a_second_cancel(
    fresh_pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await order_1001(shop_client)
    stored = await intent(fresh_pool, order)
    # The process sent orderCancel and died before recording it.
    await cancel_in_shopify(shop_client, order, "sent before the crash")
    await reconciler(fresh_pool, shop_client).run_once()
    finished = await requests_store.get(conn=fresh_pool, request_id=stored.request.id)
    assert finished is not None
    assert finished.request.status is RequestStatus.CANCELLED
    assert len(sandbox.mutations("OrderCancel")) == 1


async def test_review_request_becomes_cancelled_when_staff_cancel(
    fresh_pool: asyncpg.Pool, shop_client: AdminClient, sandbox: SandboxShop
) -> None:
    order = await order_1001(shop_client)
    stored = await intent(fresh_pool, order, RequestStatus.PENDING_REVIEW)
    await requests_store.update(
        conn=fresh_pool,
        request_id=stored.request.id,
        status=RequestStatus.PENDING_REVIEW,
        admin_state=AdminState.DONE,
        now=now() - timedelta(minutes=1),
    )
    worker = reconciler(fresh_pool, shop_client)
    await worker.run_once()
    still = await requests_store.get(conn=fresh_pool, request_id=stored.request.id)
    assert still is not None
    assert still.request.status is RequestStatus.PENDING_REVIEW
    await cancel_in_shopify(shop_client, order, "staff decided")
    await worker.run_once()
    done = await requests_store.get(conn=fresh_pool, request_id=stored.request.id)
    assert done is not None
    assert done.request.status is RequestStatus.CANCELLED
