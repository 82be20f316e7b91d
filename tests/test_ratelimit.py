"""The per-client and per-order limits, on real Redis and in process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from service.ratelimit import (
    CLIENT_LIMIT,
    ORDER_LIMIT,
    LimitsUnavailable,
    RateLimited,
    RateLimits,
    client_key,
    open_rate_limits,
)

LimitsFactory = Callable[..., RateLimits]


@pytest.fixture(params=["redis", "memory"])
async def make_limits(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str
) -> AsyncIterator[LimitsFactory]:
    """Builds RateLimits on real Redis (a fresh client each) or in process."""
    clients: list[aioredis.Redis] = []

    def build(per_client: str = "3/minute", per_order: str = "2/hour") -> RateLimits:
        client = None
        if request.param == "redis":
            client = aioredis.Redis.from_url(redis_url)
            clients.append(client)
        return open_rate_limits(
            redis=client, per_client=per_client, per_order=per_order, prefix=redis_prefix
        )

    yield build
    for client in clients:
        await client.aclose()


async def test_client_is_allowed_up_to_its_limit(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_client="3/minute")
    verdicts = [await limits.hit_client("203.0.113.7") for _ in range(3)]
    assert all(verdict.allowed for verdict in verdicts)


async def test_client_past_its_limit_is_refused_with_retry_after(
    make_limits: LimitsFactory,
) -> None:
    limits = make_limits(per_client="3/minute")
    for _ in range(3):
        await limits.hit_client("203.0.113.7")
    verdict = await limits.hit_client("203.0.113.7")
    assert not verdict.allowed
    assert 1 <= verdict.retry_after <= 60


async def test_other_clients_keep_their_own_allowance(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_client="1/minute")
    await limits.hit_client("203.0.113.7")
    assert (await limits.hit_client("203.0.113.8")).allowed


async def test_ipv6_addresses_in_one_slash_64_share_a_limit(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_client="1/minute")
    await limits.hit_client("2001:db8:1:2::1")
    assert not (await limits.hit_client("2001:db8:1:2:ffff::9")).allowed


def test_client_key_groups_ipv6_by_slash_64_and_keeps_ipv4() -> None:
    assert client_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_key("198.51.100.4") == "198.51.100.4"
    assert client_key("unix-socket") == "unix-socket"


async def test_limit_is_shared_by_two_instances_on_redis(
    redis_url: str,
    redis_prefix: str,
) -> None:
    first_client = aioredis.Redis.from_url(redis_url)
    second_client = aioredis.Redis.from_url(redis_url)
    try:
        first, second = (
            open_rate_limits(redis=client, per_client="2/minute", per_order="2/hour", prefix=p)
            for client, p in ((first_client, redis_prefix), (second_client, redis_prefix))
        )
        assert (await first.hit_client("192.0.2.1")).allowed
        assert (await second.hit_client("192.0.2.1")).allowed
        assert not (await first.hit_client("192.0.2.1")).allowed
        assert not (await second.hit_client("192.0.2.1")).allowed
    finally:
        await first_client.aclose()
        await second_client.aclose()


async def test_in_process_limits_are_not_shared_between_instances() -> None:
    first = open_rate_limits(redis=None, per_client="1/minute", per_order="1/hour")
    second = open_rate_limits(redis=None, per_client="1/minute", per_order="1/hour")
    await first.hit_client("192.0.2.1")
    assert (await second.hit_client("192.0.2.1")).allowed


async def test_order_is_open_until_failed_contacts_reach_the_limit(
    make_limits: LimitsFactory,
) -> None:
    limits = make_limits(per_order="2/hour")
    await limits.start_contact_check("#1001")
    assert (await limits.order_locked("#1001")).allowed


async def test_order_is_locked_after_failed_contacts_from_many_addresses(
    make_limits: LimitsFactory,
) -> None:
    limits = make_limits(per_client="1/minute", per_order="3/hour")
    for number in range(3):
        address = f"198.51.100.{number}"
        assert (await limits.hit_client(address)).allowed
        await limits.start_contact_check("#1001")
    verdict = await limits.order_locked("#1001")
    assert not verdict.allowed
    assert 3000 < verdict.retry_after <= 3600


async def test_testing_an_order_lock_consumes_nothing(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_order="1/hour")
    for _ in range(5):
        assert (await limits.order_locked("#1001")).allowed


async def test_a_locked_order_does_not_lock_other_orders(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_order="1/hour")
    await limits.start_contact_check("#1001")
    assert not (await limits.order_locked("#1001")).allowed
    assert (await limits.order_locked("#1002")).allowed


async def test_order_lock_lifts_when_the_window_passes(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_order="1/second")
    await limits.start_contact_check("#1001")
    assert not (await limits.order_locked("#1001")).allowed
    await asyncio.sleep(1.1)
    assert (await limits.order_locked("#1001")).allowed


async def test_a_locked_order_refuses_a_contact_check_naming_the_order_limit(
    make_limits: LimitsFactory,
) -> None:
    limits = make_limits(per_order="1/hour")
    await limits.start_contact_check("#1001")
    with pytest.raises(RateLimited) as raised:
        await limits.start_contact_check("#1001")
    assert raised.value.limit == ORDER_LIMIT
    assert raised.value.retry_after > 0


async def test_a_discarded_contact_check_does_not_count(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_order="1/hour")
    for _ in range(5):
        check = await limits.start_contact_check("#1001")
        await check.discard()
    assert (await limits.order_locked("#1001")).allowed


async def test_concurrent_contact_checks_get_only_the_tries_left(
    make_limits: LimitsFactory,
) -> None:
    # Nine of ten failures spent: sixteen concurrent guesses must get one try, not sixteen.
    limits = make_limits(per_order="10/hour")
    for _ in range(9):
        await limits.start_contact_check("#1001")
    outcomes = await asyncio.gather(
        *(limits.start_contact_check("#1001") for _ in range(16)), return_exceptions=True
    )
    assert sum(not isinstance(outcome, RateLimited) for outcome in outcomes) == 1
    assert all(isinstance(o, RateLimited) for o in outcomes if not hasattr(o, "discard"))


async def test_a_pending_count_is_taken_with_the_order_check(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_client="3/minute")
    count = limits.client_count("192.0.2.9")
    assert (await limits.order_locked("#1001", count=count)).allowed
    assert not count.pending
    # Taken once: two more requests fit in the client's three, the next does not.
    assert (await limits.settle(count)).allowed
    assert (await limits.hit_client("192.0.2.9")).allowed
    assert (await limits.hit_client("192.0.2.9")).allowed
    assert not (await limits.hit_client("192.0.2.9")).allowed


async def test_a_client_past_its_limit_is_refused_before_the_orders_window_is_touched(
    make_limits: LimitsFactory,
) -> None:
    limits = make_limits(per_client="1/minute", per_order="2/hour")
    assert (await limits.hit_client("192.0.2.9")).allowed
    count = limits.client_count("192.0.2.9")
    with pytest.raises(RateLimited) as raised:
        await limits.start_contact_check("#1001", count=count)
    assert raised.value.limit == CLIENT_LIMIT
    assert not count.pending
    # The order still has both of its tries.
    await limits.start_contact_check("#1001")
    await limits.start_contact_check("#1001")
    assert not (await limits.order_locked("#1001")).allowed


async def test_a_locked_order_still_takes_the_pending_count(make_limits: LimitsFactory) -> None:
    limits = make_limits(per_client="2/minute", per_order="1/hour")
    await limits.start_contact_check("#1001")
    count = limits.client_count("192.0.2.9")
    with pytest.raises(RateLimited) as raised:
        await limits.start_contact_check("#1001", count=count)
    assert raised.value.limit == ORDER_LIMIT
    assert (await limits.hit_client("192.0.2.9")).allowed
    assert not (await limits.hit_client("192.0.2.9")).allowed


async def test_a_count_waits_only_for_a_client_seen_with_room_to_spare(
    make_limits: LimitsFactory,
) -> None:
    # Eight a minute: a quarter, two, is the room to spare.
    limits = make_limits(per_client="8/minute")
    assert not limits.may_defer(limits.client_count("192.0.2.9"))  # never seen
    rooms = []
    for _ in range(8):
        count = limits.client_count("192.0.2.9")
        rooms.append(limits.may_defer(count))
        assert (await limits.settle(count)).allowed
    assert rooms == [False] + [True] * 6 + [False]
    assert not (await limits.hit_client("192.0.2.9")).allowed
    assert not limits.may_defer(limits.client_count("192.0.2.9"))


async def test_concurrent_requests_cannot_all_wait_on_one_remembered_room(
    make_limits: LimitsFactory,
) -> None:
    # Eight a minute, seven left after the first: the room to spare is two, so six
    # requests may carry their count to their order check before Redis answers again.
    limits = make_limits(per_client="8/minute")
    await limits.hit_client("192.0.2.9")
    deferred = [limits.may_defer(limits.client_count("192.0.2.9")) for _ in range(20)]
    assert deferred == [True] * 6 + [False] * 14


async def test_a_count_taken_meanwhile_does_not_forget_the_requests_still_running_ahead(
    make_limits: LimitsFactory,
) -> None:
    # Eight a minute, seven left after the first, two to spare: six requests run ahead of
    # their count. When the first of them is counted, Redis says six are left, but five
    # are still running uncounted: one entry is really left, less than the room to spare,
    # so no further request may run ahead. (Before, Redis's six replaced the spent room
    # and four more ran ahead; with every count taken, the next overwrote it again, and so
    # on: nine requests of an eight-a-minute client uncounted at once, and more.)
    limits = make_limits(per_client="8/minute")
    await limits.hit_client("192.0.2.9")
    ahead = [limits.client_count("192.0.2.9") for _ in range(6)]
    assert all(limits.may_defer(count) for count in ahead)
    assert (await limits.order_locked("#1001", count=ahead[0])).allowed
    assert not any(limits.may_defer(limits.client_count("192.0.2.9")) for _ in range(10))
    # Once they are counted, the client's real room decides again.
    for count in ahead[1:]:
        assert (await limits.settle(count)).allowed
    assert not limits.may_defer(limits.client_count("192.0.2.9"))  # one left


async def test_order_names_are_hashed_before_they_become_redis_keys(
    redis_url: str,
    redis_prefix: str,
    redis_client: aioredis.Redis,
) -> None:
    limits = open_rate_limits(
        redis=redis_client, per_client="1/minute", per_order="1/hour", prefix=redis_prefix
    )
    await limits.start_contact_check("#1001")
    await limits.hit_client("192.0.2.55")
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 2
    assert not any(b"1001" in key or b"192.0.2.55" in key for key in keys)


async def test_unreachable_redis_is_limits_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        limits = open_rate_limits(redis=client, per_client="1/minute", per_order="1/hour")
        with pytest.raises(LimitsUnavailable):
            await limits.hit_client("192.0.2.1")
    finally:
        await client.aclose()


def test_bad_limit_notation_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="couldn't parse"):
        open_rate_limits(redis=None, per_client="lots", per_order="1/hour")
