"""The reconciler finishes what a crash left open, and sends each cancellation exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
from pydantic import SecretStr, ValidationError

from service.admin.auth import StaticToken
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.config import Settings
from service.models import Order, RequestKind, RequestStatus
from service.orders.lifecycle import Lifecycle
from service.orders.reconciler import Reconciler
from service.orders.trail import Trail
from service.policy import Policy
from service.sandbox.generated import GENERATED_FIRST_NUMBER
from service.sandbox.server import SandboxShop, start_sandbox
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


async def statuses(pool: asyncpg.Pool, stored: list[StoredRequest]) -> list[RequestStatus]:
    found = [await requests_store.get(conn=pool, request_id=s.request.id) for s in stored]
    return [f.request.status for f in found if f is not None]


async def test_ten_interrupted_requests_finish_within_30_s_when_each_mutation_takes_4_s(
    fresh_pool: asyncpg.Pool,
) -> None:
    # Serially this took 41 s; eight at a time it is two waves of one 4 s orderCancel each.
    # Every fifth generated order is just placed, so cancellable: ten of them in fifty.
    slow = await start_sandbox(seed_demo=False, generated_orders=50, mutation_latency_seconds=4)
    try:
        async with aiohttp.ClientSession() as session:
            client = AdminClient(
                session,
                endpoint=slow.endpoint,
                auth=StaticToken(SecretStr(slow.admin_token)),
                operations=OperationRegistry.load(),
            )
            shop = Shop(client)
            orders = [
                await shop.find_order(name=f"#{GENERATED_FIRST_NUMBER + index}")
                for index in range(0, 50, 5)
            ]
            stored = [await intent(fresh_pool, order) for order in orders if order is not None]
            assert len(stored) == 10
            worker = reconciler(fresh_pool, client)
            started = time.monotonic()
            worker.start()
            try:
                while time.monotonic() - started < 30:
                    if set(await statuses(fresh_pool, stored)) == {RequestStatus.CANCELLED}:
                        break
                    await asyncio.sleep(0.2)
                elapsed = time.monotonic() - started
            finally:
                await worker.close()
    finally:
        await slow.close()
    assert await statuses(fresh_pool, stored) == [RequestStatus.CANCELLED] * 10, elapsed
    assert elapsed < 30
    cancelled = [call.variables["orderId"] for call in slow.mutations("OrderCancel")]
    assert sorted(cancelled) == sorted(order.id for order in orders if order is not None)


async def test_close_cancels_requests_in_flight_and_leaves_them_due(
    fresh_pool: asyncpg.Pool,
) -> None:
    slow = await start_sandbox(mutation_latency_seconds=4)
    try:
        async with aiohttp.ClientSession() as session:
            client = AdminClient(
                session,
                endpoint=slow.endpoint,
                auth=StaticToken(SecretStr(slow.admin_token)),
                operations=OperationRegistry.load(),
            )
            stored = await intent(fresh_pool, await order_1001(client))
            worker = reconciler(fresh_pool, client)
            worker.start()
            for _ in range(100):  # until orderCancel is sent and its answer awaited
                if slow.mutations("OrderCancel"):
                    break
                await asyncio.sleep(0.05)
            started = time.monotonic()
            await worker.close()
            assert time.monotonic() - started < 1  # no waiting for Shopify's answer
            left = await requests_store.get(conn=fresh_pool, request_id=stored.request.id)
            assert left is not None
            assert left.admin_state is AdminState.PENDING
            # Due again once settled (here: once the cancel job sent before close is done);
            # the next pass recognises the cancellation without sending another.
            await asyncio.sleep(slow.store.job_delay_seconds + 0.2)
            again = reconciler(fresh_pool, client)
            assert await again.run_once() == 1
            done = await requests_store.get(conn=fresh_pool, request_id=stored.request.id)
            assert done is not None
            assert done.request.status is RequestStatus.CANCELLED
            assert len(slow.mutations("OrderCancel")) == 1
    finally:
        await slow.close()


class FailingFirst(Lifecycle):
    """Breaks on the first request it is given, as a bug or a lost connection would."""

    failed: str | None = None

    async def reconcile(self, *, stored: StoredRequest, trail: Trail) -> StoredRequest:
        if self.failed is None:
            self.failed = stored.request.id
            raise RuntimeError("boom")
        return await super().reconcile(stored=stored, trail=trail)


async def test_one_request_failing_does_not_stop_the_others(
    fresh_pool: asyncpg.Pool, shop_client: AdminClient
) -> None:
    shop = Shop(shop_client)
    orders = [await shop.find_order(name=name) for name in ("#1001", "#1002")]
    stored = [await intent(fresh_pool, order) for order in orders if order is not None]
    lifecycle = FailingFirst(pool=fresh_pool, admin=shop_client, policy=Policy(), clock=now)
    worker = Reconciler(
        pool=fresh_pool,
        lifecycle=lifecycle,
        clock=now,
        settle=timedelta(0),
        review_recheck=timedelta(0),
    )
    assert await worker.run_once() == 2
    by_id = {s.request.id: s for s in stored}
    for request_id in by_id:
        found = await requests_store.get(conn=fresh_pool, request_id=request_id)
        assert found is not None
        expected = AdminState.PENDING if request_id == lifecycle.failed else AdminState.DONE
        assert found.admin_state is expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ORDERGATE_RECONCILE_SETTLE_SECONDS", "5"),
        ("ORDERGATE_REVIEW_RECHECK_SECONDS", "0"),
        ("ORDERGATE_RECONCILE_CONCURRENCY", "0"),
        ("ORDERGATE_RECONCILE_CONCURRENCY", "many"),
    ],
)
def test_reconciler_settings_are_validated(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable):
        Settings(_env_file=None)


def test_reconciler_settings_default_to_30_s_10_min_and_8(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (
        "ORDERGATE_RECONCILE_SETTLE_SECONDS",
        "ORDERGATE_REVIEW_RECHECK_SECONDS",
        "ORDERGATE_RECONCILE_CONCURRENCY",
    ):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings(_env_file=None)
    assert (
        settings.reconcile_settle_seconds,
        settings.review_recheck_seconds,
        settings.reconcile_concurrency,
    ) == (30, 600, 8)
