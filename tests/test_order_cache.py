"""Order snapshots: lossless JSON, TTL, drops, and one load for concurrent lookups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import aiohttp
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from service.admin.auth import StaticToken
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.models import (
    CustomerRequest,
    FinancialStatus,
    FulfillmentOrderStatus,
    FulfillmentStatus,
    Money,
    Order,
    OrderSnapshot,
    RequestKind,
    RequestStatus,
    Resolution,
    RiskLevel,
)
from service.order_cache import CacheEvent, OrderCache
from service.order_json import snapshot_from_json, snapshot_to_json
from service.sandbox.demo import DEMO_ORDERS
from service.sandbox.server import SandboxShop
from tests import factories
from tests.api.test_redis_down import RedisProxy

OSLO = timezone(timedelta(hours=2))


def full_order(number: str = "#1001") -> Order:
    """An order with every field set, for round trips through the cache."""
    return factories.order(
        number=number,
        placed_at=datetime(2026, 5, 1, 9, 30, 15, 123456, tzinfo=OSLO),
        financial_status=FinancialStatus.PARTIALLY_REFUNDED,
        fulfillment_status=FulfillmentStatus.PARTIALLY_FULFILLED,
        total=Money(Decimal("1249.50"), "NOK"),
        closed=True,
        tags=("vip", "non-cancellable"),
        risk_levels=(RiskLevel.HIGH, RiskLevel.LOW),
        line_items=(
            factories.line_item(
                "Wool Socks", variant_title="Grey / 42", quantity=2, product_tags=("knit",)
            ),
            factories.line_item("Gift Card", variant_title=None, quantity=1),
        ),
        shipments=(
            factories.shipment(
                datetime(2026, 5, 2, 12, 0, tzinfo=UTC),
                tracking_number="70712345",
                tracking_url="https://tracking.example/70712345",
                estimated_delivery_at=datetime(2026, 5, 5, tzinfo=UTC),
            ),
        ),
        fulfillment_orders=(factories.fulfillment_order(FulfillmentOrderStatus.ON_HOLD),),
    )


def full_snapshot(number: str = "#1001") -> OrderSnapshot:
    """A snapshot with every field set, a request on the order included."""
    order = full_order(number)
    request = CustomerRequest(
        id="0b7d3c1e-3f55-4a4e-9d7e-2f0c7f6c1a01",
        kind=RequestKind.NOT_RECEIVED,
        status=RequestStatus.RESOLVED,
        order_id=order.id,
        submitted_at=datetime(2026, 5, 9, 8, 0, tzinfo=UTC),
        resolution=Resolution.RESHIPPED,
    )
    return OrderSnapshot(order, requests=(request,))


def test_a_snapshot_survives_json_unchanged() -> None:
    snapshot = full_snapshot()
    copy = snapshot_from_json(snapshot_to_json(snapshot))
    assert copy == snapshot
    assert copy is not None
    assert str(copy.order.total.amount) == "1249.50"
    assert copy.order.placed_at.utcoffset() == timedelta(hours=2)
    assert isinstance(copy.order.line_items, tuple)
    assert copy.order.risk_levels[0] is RiskLevel.HIGH
    assert copy.requests[0].resolution is Resolution.RESHIPPED


def test_no_such_order_survives_json() -> None:
    assert snapshot_from_json(snapshot_to_json(None)) is None


async def test_every_demo_order_survives_json_unchanged(sandbox: SandboxShop) -> None:
    async with aiohttp.ClientSession() as session:
        client = AdminClient(
            session,
            endpoint=sandbox.endpoint,
            auth=StaticToken(SecretStr(sandbox.admin_token)),
            operations=OperationRegistry.load(),
        )
        shop = Shop(client)
        orders = [await shop.find_order(name=demo.number) for demo in DEMO_ORDERS]
    for order in orders:
        assert order is not None
        snapshot = OrderSnapshot(order, requests=())
        assert snapshot_from_json(snapshot_to_json(snapshot)) == snapshot


@pytest.mark.parametrize(
    "text",
    [
        '{"v": 1, "order": null}',  # the format before requests were kept with the order
        '{"v": 2, "snapshot": {"order": {}}}',
        '{"v": 2, "snapshot": {"order": {"id": 5}, "requests": []}}',
        "[]",
        '{"v": 2}',
    ],
)
def test_foreign_json_is_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        snapshot_from_json(text)


class Loads:
    """A loader that counts its calls and can be held open."""

    def __init__(self, order: OrderSnapshot | None) -> None:
        self.order = order
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> OrderSnapshot | None:
        self.calls += 1
        await self.gate.wait()
        return self.order


CacheFactory = Callable[..., OrderCache]


@pytest.fixture(params=["redis", "memory"])
async def make_cache(
    request: pytest.FixtureRequest,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[CacheFactory]:
    """Builds caches on real Redis (a client each, one key space per test) or in process."""
    clients: list[aioredis.Redis] = []

    def build(ttl: float = 10.0, events: list[CacheEvent] | None = None) -> OrderCache:
        client = None
        if request.param == "redis":
            client = aioredis.Redis.from_url(redis_url)
            clients.append(client)
        on_event = events.append if events is not None else None
        return OrderCache(redis=client, ttl=ttl, prefix=redis_prefix, on_event=on_event)

    yield build
    for client in clients:
        await client.aclose()


async def test_second_lookup_is_served_from_the_cache(make_cache: CacheFactory) -> None:
    events: list[CacheEvent] = []
    cache, loads = make_cache(events=events), Loads(full_snapshot())
    first = await cache.get_or_load("#1001", loads)
    second = await cache.get_or_load("#1001", loads)
    assert first == second == full_snapshot()
    assert loads.calls == 1
    assert events == ["miss", "hit"]


async def test_unknown_order_is_cached_like_a_known_one(make_cache: CacheFactory) -> None:
    # Else an unknown number answers slower than a known one with a wrong contact.
    events: list[CacheEvent] = []
    cache, loads = make_cache(events=events), Loads(None)
    assert await cache.get_or_load("#9999", loads) is None
    assert await cache.get_or_load("#9999", loads) is None
    assert loads.calls == 1
    assert events == ["miss", "hit"]


async def test_dropping_an_unknown_order_asks_again(make_cache: CacheFactory) -> None:
    cache, loads = make_cache(), Loads(None)
    await cache.get_or_load("#9999", loads)
    await cache.drop("#9999")
    await cache.get_or_load("#9999", loads)
    assert loads.calls == 2


async def test_concurrent_lookups_share_one_load(make_cache: CacheFactory) -> None:
    events: list[CacheEvent] = []
    cache, loads = make_cache(events=events), Loads(full_snapshot())
    loads.gate.clear()
    lookups = [asyncio.create_task(cache.get_or_load("#1001", loads)) for _ in range(10)]
    await asyncio.sleep(0.05)
    loads.gate.set()
    results = await asyncio.gather(*lookups)
    assert loads.calls == 1
    assert all(result == full_snapshot() for result in results)
    assert sorted(events) == ["coalesced"] * 9 + ["miss"]


async def test_a_caller_giving_up_does_not_cancel_the_shared_load(
    make_cache: CacheFactory,
) -> None:
    cache, loads = make_cache(), Loads(full_snapshot())
    loads.gate.clear()
    impatient = asyncio.create_task(cache.get_or_load("#1001", loads))
    patient = asyncio.create_task(cache.get_or_load("#1001", loads))
    await asyncio.sleep(0.02)
    impatient.cancel()
    loads.gate.set()
    assert await patient == full_snapshot()
    assert loads.calls == 1


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached(
    make_cache: CacheFactory,
) -> None:
    cache, gate = make_cache(), asyncio.Event()
    calls = 0

    async def failing() -> OrderSnapshot | None:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise ConnectionError("shop down")

    lookups = [asyncio.create_task(cache.get_or_load("#1001", failing)) for _ in range(3)]
    await asyncio.sleep(0.02)
    gate.set()
    results = await asyncio.gather(*lookups, return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    assert await cache.get_or_load("#1001", Loads(full_snapshot())) == full_snapshot()
    assert calls == 1


async def test_dropped_order_is_loaded_again(make_cache: CacheFactory) -> None:
    cache, loads = make_cache(), Loads(full_snapshot())
    await cache.get_or_load("#1001", loads)
    await cache.drop("#1001")
    await cache.get_or_load("#1001", loads)
    assert loads.calls == 2


async def test_a_load_in_flight_during_a_drop_is_not_stored(make_cache: CacheFactory) -> None:
    cache, loads = make_cache(), Loads(full_snapshot())
    loads.gate.clear()
    lookup = asyncio.create_task(cache.get_or_load("#1001", loads))
    await asyncio.sleep(0.02)
    await cache.drop("#1001")
    loads.gate.set()
    assert await lookup == full_snapshot()
    await cache.get_or_load("#1001", loads)
    assert loads.calls == 2


async def test_entries_expire_after_the_ttl(make_cache: CacheFactory) -> None:
    cache, loads = make_cache(ttl=0.1), Loads(full_snapshot())
    await cache.get_or_load("#1001", loads)
    await asyncio.sleep(0.2)
    await cache.get_or_load("#1001", loads)
    assert loads.calls == 2


async def test_other_orders_are_cached_apart(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.get_or_load("#1001", Loads(full_snapshot("#1001")))
    second = await cache.get_or_load("#1002", Loads(full_snapshot("#1002")))
    assert second is not None
    assert second.order.number == "#1002"


async def test_redis_cache_is_shared_by_replicas(
    redis_url: str,
    redis_prefix: str,
) -> None:
    first_client = aioredis.Redis.from_url(redis_url)
    second_client = aioredis.Redis.from_url(redis_url)
    try:
        first = OrderCache(redis=first_client, prefix=redis_prefix)
        second = OrderCache(redis=second_client, prefix=redis_prefix)
        loads = Loads(full_snapshot())
        await first.get_or_load("#1001", loads)
        assert await second.get_or_load("#1001", loads) == full_snapshot()
        await second.drop("#1001")
        await first.get_or_load("#1001", loads)
        assert loads.calls == 2
    finally:
        await first_client.aclose()
        await second_client.aclose()


async def test_unreadable_redis_entry_is_a_miss(
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    cache, loads = OrderCache(redis=redis_client, prefix=redis_prefix), Loads(full_snapshot())
    await cache.get_or_load("#1001", loads)
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:order:*")]
    await redis_client.set(keys[0], b"\xff not json", px=10_000)
    assert await cache.get_or_load("#1001", loads) == full_snapshot()
    assert loads.calls == 2


async def test_order_names_are_hashed_in_redis_keys(
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    cache = OrderCache(redis=redis_client, prefix=redis_prefix)
    await cache.get_or_load("#1001", Loads(full_snapshot()))
    await cache.drop("#1001")
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert keys
    assert not any(b"1001" in key for key in keys)


async def listening(*caches: OrderCache) -> None:
    """Subscribed, every one of them (a bound on a test that would otherwise hang)."""
    async with asyncio.timeout(10):
        for cache in caches:
            while not cache.listening:  # noqa: ASYNC110 (a flag, set by the listener task)
                await asyncio.sleep(0.01)


async def test_a_drop_on_one_replica_empties_every_replicas_copy(
    redis_url: str,
    redis_prefix: str,
) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    first, second = (OrderCache(redis=client, prefix=redis_prefix) for client in clients)
    try:
        await first.start()
        await second.start()
        await listening(first, second)
        loads = Loads(full_snapshot())
        await first.get_or_load("#1001", loads)
        await second.get_or_load("#1001", loads)  # read from Redis, now kept in process
        await first.drop("#1001")
        async with asyncio.timeout(10):  # delivered by Redis pub/sub, in about a millisecond
            while loads.calls < 2:
                await second.get_or_load("#1001", loads)
                await asyncio.sleep(0.01)
        assert await first.get_or_load("#1001", loads) == full_snapshot()
        assert loads.calls == 2  # one load after the drop, shared through Redis
    finally:
        for cache in (first, second):
            await cache.close()
        for client in clients:
            await client.aclose()


async def test_a_copy_in_process_is_served_without_asking_redis(
    redis_url: str,
    redis_prefix: str,
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    cache = OrderCache(redis=client, prefix=redis_prefix)
    try:
        await cache.start()
        await listening(cache)
        loads = Loads(full_snapshot())
        await cache.get_or_load("#1001", loads)
        # Behind the cache's back: the copy in process still answers, Redis unasked.
        await client.delete(*[key async for key in client.scan_iter(f"{redis_prefix}:order:*")])
        assert await cache.get_or_load("#1001", loads) == full_snapshot()
        assert loads.calls == 1
        await cache.close()  # no subscription, no copy: Redis is read again, and misses
        await cache.get_or_load("#1001", loads)
        assert loads.calls == 2
    finally:
        await cache.close()
        await client.aclose()


async def test_a_copy_in_process_expires_with_the_one_in_redis(
    redis_url: str,
    redis_prefix: str,
) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    writer, reader = (OrderCache(redis=c, prefix=redis_prefix, ttl=60) for c in clients)
    try:
        await reader.start()
        await listening(reader)
        loads = Loads(full_snapshot())
        await writer.get_or_load("#1001", loads)
        (key,) = [key async for key in clients[0].scan_iter(f"{redis_prefix}:order:*")]
        await clients[0].pexpire(key, 150)  # the stored snapshot has 150 ms left
        assert await reader.get_or_load("#1001", loads) == full_snapshot()  # kept in process
        await asyncio.sleep(0.3)
        await reader.get_or_load("#1001", loads)
        assert loads.calls == 2  # not served from process memory past Redis's expiry
    finally:
        await reader.close()
        for client in clients:
            await client.aclose()


async def test_a_silent_subscription_empties_the_copies_in_process(redis_url: str) -> None:
    # A dropped idle connection gives no error: pings find out, and nothing stale is served.
    proxy = RedisProxy(redis_url)
    await proxy.start()
    client = aioredis.Redis.from_url(proxy.url)
    cache = OrderCache(redis=client, prefix=f"silent-{id(proxy)}", ping_every=0.1, silent_after=0.5)
    try:
        await cache.start()
        await listening(cache)
        await cache.get_or_load("#1001", Loads(full_snapshot()))
        assert cache.in_process("#1001") is not None
        proxy.silent = True
        async with asyncio.timeout(10):
            while cache.listening:  # noqa: ASYNC110 (a flag, set by the listener task)
                await asyncio.sleep(0.05)
        assert cache.in_process("#1001") is None
    finally:
        proxy.silent = False
        await cache.close()
        await client.aclose()
        await proxy.cut()
