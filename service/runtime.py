"""The live resources of one ordergate process, opened in order and closed in reverse."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from pydantic import SecretStr

from service.admin.auth import ClientCredentials, StaticToken, TokenProvider, token_url_for
from service.admin.client import AdminCall, AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.admin.throttle import CostGate, Gate, RedisCostGate
from service.audit_writer import AuditWriter
from service.client_address import Network, parse_networks
from service.config import Settings
from service.database import create_pool
from service.merchant_policy import Policy
from service.messages import Messages
from service.metrics import Metrics
from service.order_cache import OrderCache
from service.orders import OrderDesk
from service.ratelimit import RateLimits, open_rate_limits
from service.reconciler import Reconciler
from service.sandbox.server import SandboxShop, start_sandbox

logger = logging.getLogger("ordergate")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything a request needs, built once per process by the app's lifespan."""

    settings: Settings
    policy: Policy
    pool: asyncpg.Pool
    redis: aioredis.Redis | None
    limits: RateLimits
    trusted_proxies: tuple[Network, ...]
    audit: AuditWriter
    desk: OrderDesk
    reconciler: Reconciler
    messages: Messages
    metrics: Metrics
    sandbox: SandboxShop | None


def utc_now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    policy: Policy,
    metrics: Metrics,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[Runtime]:
    """Open pool, audit writer, HTTP session and (in dev) the sandbox; close them in reverse."""
    if settings.database_url is None:
        raise RuntimeError("a database URL is required; `ordergate dev` starts an embedded one")
    messages = Messages.load()
    operations = OperationRegistry.load()
    async with AsyncExitStack() as stack:
        pool = await create_pool(settings.database_url.get_secret_value())
        stack.push_async_callback(pool.close)
        audit = AuditWriter(pool, on_flush=metrics.observe_audit_flush)
        await audit.start()
        stack.push_async_callback(audit.close)
        metrics.track_audit_queue(lambda: audit.depth)
        redis = await _open_redis(settings, stack)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        sandbox = await _open_sandbox(settings, stack)
        endpoint = sandbox.endpoint if sandbox else settings.admin_endpoint()
        # Shops sharing one Redis never share limits, buckets or cached orders.
        scope = "ordergate:" + hashlib.sha256(endpoint.encode()).hexdigest()[:12]
        limits = open_rate_limits(
            redis=redis,
            per_client=settings.limit_per_client,
            per_order=settings.limit_per_order,
            prefix=scope,
        )
        gate: Gate = RedisCostGate(redis, key=f"{scope}:bucket") if redis else CostGate()
        cache = OrderCache(
            redis=redis,
            ttl=settings.order_cache_seconds,
            prefix=scope,
            on_event=metrics.observe_order_cache,
        )
        client = AdminClient(
            session,
            endpoint=endpoint,
            auth=_token_provider(settings, session=session, endpoint=endpoint, sandbox=sandbox),
            operations=operations,
            on_call=metrics.observe_admin_call,
            gate=gate,
            on_throttle_wait=metrics.observe_throttle_wait,
        )

        def shop(observer: Callable[[AdminCall], None]) -> Shop:
            return Shop(client.observed_by(observer))

        desk = OrderDesk(
            shop=shop,
            pool=pool,
            audit=audit,
            policy=policy,
            clock=clock,
            limits=limits,
            cache=cache,
            order_name_prefix=settings.shopify_order_name_prefix,
            order_name_suffix=settings.shopify_order_name_suffix,
        )
        reconciler = Reconciler(pool=pool, progress=desk.progress, shop=shop, clock=clock)
        reconciler.start()
        stack.push_async_callback(reconciler.close)
        yield Runtime(
            settings=settings,
            policy=policy,
            pool=pool,
            redis=redis,
            limits=limits,
            trusted_proxies=parse_networks(settings.trusted_proxies),
            audit=audit,
            desk=desk,
            reconciler=reconciler,
            messages=messages,
            metrics=metrics,
            sandbox=sandbox,
        )


async def _open_sandbox(settings: Settings, stack: AsyncExitStack) -> SandboxShop | None:
    if not settings.uses_sandbox or settings.is_production:
        return None
    sandbox = await start_sandbox()
    stack.push_async_callback(sandbox.close)
    return sandbox


async def _open_redis(settings: Settings, stack: AsyncExitStack) -> aioredis.Redis | None:
    if settings.redis_url is None:
        return None
    redis = aioredis.Redis.from_url(settings.redis_url.get_secret_value())
    stack.push_async_callback(redis.aclose)
    return redis


def _token_provider(
    settings: Settings,
    *,
    session: aiohttp.ClientSession,
    endpoint: str,
    sandbox: SandboxShop | None,
) -> TokenProvider:
    if sandbox is not None:
        return StaticToken(SecretStr(sandbox.admin_token))
    if settings.shopify_client_id and settings.shopify_client_secret:
        return ClientCredentials(
            session,
            token_url=token_url_for(endpoint),
            client_id=settings.shopify_client_id,
            client_secret=settings.shopify_client_secret,
        )
    if settings.shopify_admin_token is None:
        raise RuntimeError("no Shopify credentials configured")
    return StaticToken(settings.shopify_admin_token)
