"""The live resources of one ordergate process, opened in order and closed in reverse."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from pydantic import SecretStr
from starlette.requests import Request

from service.admin.auth import StaticToken, TokenProvider
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.throttle import CostGate, Gate, RedisCostGate
from service.client_address import Network, parse_networks
from service.config import Settings
from service.mail.dev_mailbox import DevMailbox
from service.mail.outbox_worker import OutboxWorker
from service.mail.sealing import Sealer
from service.mail.sender import SmtpSender
from service.mail.templates import MailTemplates
from service.messages import Messages
from service.metrics import Metrics
from service.operator_shop import shop_credentials
from service.order_cache import OrderCache
from service.orders.access import OrderAccess, OrderNameFormat
from service.orders.lifecycle import Lifecycle
from service.orders.lookup import OrderLookup
from service.orders.notifications import Notifications
from service.orders.privacy import Privacy
from service.orders.reconciler import Reconciler
from service.orders.retention import RetentionWorker
from service.orders.staff_decisions import StaffDecisions
from service.orders.submission import Submissions
from service.orders.verification import Codes
from service.orders.webhook_worker import WebhookWorker
from service.policy import Policy
from service.ratelimit import RateLimits, open_rate_limits
from service.redis_breaker import GuardedPool, RedisBreaker
from service.sandbox.demo import fresh_demo_id_offset
from service.sandbox.server import SandboxShop, start_sandbox
from service.storage.audit_writer import AuditWriter
from service.storage.database import create_pool

REDIS_POOL_SIZE = 50
REDIS_POOL_WAIT_SECONDS = 2.0
REDIS_SOCKET_TIMEOUT_SECONDS = 2.0
REDIS_PROBE_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Runtime:
    """What requests use, built once per process by the app's lifespan."""

    lookup: OrderLookup
    submissions: Submissions
    limits: RateLimits
    trusted_proxies: tuple[Network, ...]
    messages: Messages
    metrics: Metrics
    zone: ZoneInfo
    pool: asyncpg.Pool  # for readiness and the webhook intake
    dev_mailbox: DevMailbox | None  # what `ordergate dev` shows at /dev/mail
    sandbox: SandboxShop | None  # the built-in shop: its webhooks are signed its own way

    @staticmethod
    def of(request: Request) -> Runtime:
        """The runtime of the app serving `request`."""
        runtime: Runtime = request.app.state.runtime
        return runtime


def utc_now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


class _UseCaseArgs(TypedDict):
    """What every use case is built with."""

    pool: asyncpg.Pool
    audit: AuditWriter
    policy: Policy
    clock: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _Mail:
    """Customer e-mail: codes and receipts, and the embedded mailbox `ordergate dev` shows."""

    codes: Codes
    notifications: Notifications
    dev_mailbox: DevMailbox | None


@dataclass(frozen=True, slots=True)
class _Shared:
    """What the use cases share: Postgres, the audit writer, Redis and the Admin client."""

    pool: asyncpg.Pool
    audit: AuditWriter
    redis: aioredis.Redis | None
    breaker: RedisBreaker | None  # whether `redis` is usable now
    admin: AdminClient
    scope: str  # the key prefix that keeps shops sharing one Redis apart
    sandbox: SandboxShop | None


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    policy: Policy,
    metrics: Metrics,
    clock: Callable[[], datetime] = utc_now,
    sandbox_state: Path | None = None,
) -> AsyncIterator[Runtime]:
    """Open pool, audit writer, HTTP session, mail and (in dev) the sandbox and a mailbox;
    close them in reverse."""
    async with AsyncExitStack() as stack:
        shared = await _open_shared(settings, stack, metrics=metrics, sandbox_state=sandbox_state)
        mail = await _open_mail(
            settings, stack, shared, policy=policy, metrics=metrics, clock=clock
        )
        limits, cache = _protection(settings, shared, metrics)
        await cache.start()
        stack.push_async_callback(cache.close)
        names = OrderNameFormat(
            settings.shopify_order_name_prefix, settings.shopify_order_name_suffix
        )
        access = OrderAccess(
            admin=shared.admin,
            limits=limits,
            cache=cache,
            pool=shared.pool,
            names=names,
            # Product tags are read only for a policy that names non-cancellable tags.
            product_tags=bool(policy.cancellation.non_cancellable_tags),
        )
        lifecycle = Lifecycle(
            pool=shared.pool,
            admin=shared.admin,
            policy=policy,
            clock=clock,
            on_order_changed=cache.drop,
            notifications=mail.notifications,
        )
        _start_workers(
            stack,
            shared,
            lifecycle,
            cache,
            settings=settings,
            metrics=metrics,
            clock=clock,
            retention=timedelta(days=policy.privacy.retention_days),
        )
        common = _UseCaseArgs(pool=shared.pool, audit=shared.audit, policy=policy, clock=clock)
        yield Runtime(
            lookup=OrderLookup(access=access, codes=mail.codes, **common),
            submissions=Submissions(
                access=access,
                codes=mail.codes,
                notifications=mail.notifications,
                lifecycle=lifecycle,
                **common,
            ),
            limits=limits,
            trusted_proxies=parse_networks(settings.trusted_proxies),
            messages=Messages.load(),
            metrics=metrics,
            zone=policy.cancellation.zone,
            pool=shared.pool,
            dev_mailbox=mail.dev_mailbox,
            sandbox=shared.sandbox,
        )


def _start_workers(
    stack: AsyncExitStack,
    shared: _Shared,
    lifecycle: Lifecycle,
    cache: OrderCache,
    *,
    settings: Settings,
    metrics: Metrics,
    clock: Callable[[], datetime],
    retention: timedelta,
) -> None:
    """The reconciler, the webhook worker and the retention worker, in every replica; stopped
    before the pool."""
    reconciler = Reconciler(
        pool=shared.pool,
        lifecycle=lifecycle,
        clock=clock,
        settle=timedelta(seconds=settings.reconcile_settle_seconds),
        review_recheck=timedelta(seconds=settings.review_recheck_seconds),
        concurrency=settings.reconcile_concurrency,
        monitor=metrics.worker("reconciler"),
    )
    reconciler.start()
    stack.push_async_callback(reconciler.close)
    decisions = StaffDecisions(
        pool=shared.pool, admin=shared.admin, lifecycle=lifecycle, cache=cache
    )

    async def forget(names: list[str]) -> None:
        for name in names:
            await cache.drop(name)

    privacy = Privacy(
        pool=shared.pool, clock=clock, on_erased=metrics.personal_data_erased, forget=forget
    )
    webhooks = WebhookWorker(
        pool=shared.pool,
        decisions=decisions,
        clock=clock,
        privacy=privacy,
        on_processed=metrics.webhook_processed,
        on_parked=metrics.webhook_parked,
        monitor=metrics.worker("webhooks"),
    )
    metrics.webhook_oldest_waiting_seconds.set_function(webhooks.monitor.lag)
    webhooks.start()
    stack.push_async_callback(webhooks.close)
    retention_worker = RetentionWorker(
        privacy=privacy, retention=retention, monitor=metrics.worker("retention")
    )
    retention_worker.start()
    stack.push_async_callback(retention_worker.close)


async def _open_mail(
    settings: Settings,
    stack: AsyncExitStack,
    shared: _Shared,
    *,
    policy: Policy,
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> _Mail:
    """Codes and notifications, and an outbox worker delivering over SMTP_URL, or in dev
    without one, to an embedded mailbox. Production without SMTP_URL queues mail (the
    start-up guard refuses that when the policy sends any)."""
    sealer = Sealer(_secret(settings))
    notifications = Notifications(
        templates=MailTemplates.load(),
        sealer=sealer,
        zone=policy.cancellation.zone,
        acknowledge=policy.notifications.acknowledge,
    )
    codes = Codes(
        pool=shared.pool,
        audit=shared.audit,
        notifications=notifications,
        secret=_secret(settings),
        policy=policy.verification,
        clock=clock,
    )
    stack.push_async_callback(codes.close)
    mailbox, url = None, settings.smtp_url.get_secret_value() if settings.smtp_url else None
    if url is None and not settings.is_production:
        mailbox = DevMailbox()
        await mailbox.start()
        stack.push_async_callback(mailbox.close)
        url = mailbox.url
    if url is not None:
        worker = OutboxWorker(
            pool=shared.pool,
            sender=SmtpSender(url, settings.mail_from),
            sealer=sealer,
            clock=clock,
            observer=metrics,
            monitor=metrics.worker("outbox"),
        )
        worker.start()
        stack.push_async_callback(worker.close)
    return _Mail(codes=codes, notifications=notifications, dev_mailbox=mailbox)


def _secret(settings: Settings) -> bytes:
    """ORDERGATE_SECRET_KEY; in dev without one, a key for this process alone (codes and
    queued mail do not outlive it)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if settings.is_production:
        raise RuntimeError("ORDERGATE_SECRET_KEY is required in production")
    return _PROCESS_SECRET


_PROCESS_SECRET = secrets.token_bytes(32)


def _protection(
    settings: Settings, shared: _Shared, metrics: Metrics
) -> tuple[RateLimits, OrderCache]:
    """The limits and the snapshot cache, in Redis when there is one and its breaker is
    closed, else in this process."""
    limits = open_rate_limits(
        redis=shared.redis,
        per_client=settings.limit_per_client,
        per_order=settings.limit_per_order,
        prefix=shared.scope,
        breaker=shared.breaker,
    )
    cache = OrderCache(
        redis=shared.redis,
        ttl=settings.order_snapshot_seconds(),
        prefix=shared.scope,
        on_event=metrics.observe_order_cache,
        breaker=shared.breaker,
    )
    return limits, cache


async def _open_shared(
    settings: Settings, stack: AsyncExitStack, *, metrics: Metrics, sandbox_state: Path | None
) -> _Shared:
    if settings.database_url is None:
        raise RuntimeError("a database URL is required; `ordergate dev` starts an embedded one")
    operations = OperationRegistry.load()  # before any connection: a bad document stops here
    pool = await create_pool(settings.database_url.get_secret_value())
    stack.push_async_callback(pool.close)
    audit = AuditWriter(
        pool, on_flush=metrics.observe_audit_flush, monitor=metrics.worker("audit_writer")
    )
    await audit.start()
    stack.push_async_callback(audit.close)
    metrics.track_audit_queue(lambda: audit.depth)
    redis, breaker = await _open_redis(settings, stack, metrics=metrics)
    session = await stack.enter_async_context(aiohttp.ClientSession())
    sandbox = await _open_sandbox(settings, stack, state_file=sandbox_state)
    endpoint = sandbox.endpoint if sandbox else settings.admin_endpoint()
    scope = redis_scope(endpoint)
    gate: Gate = RedisCostGate(redis, key=f"{scope}:bucket") if redis else CostGate()
    admin = AdminClient(
        session,
        endpoint=endpoint,
        auth=_token_provider(settings, session=session, endpoint=endpoint, sandbox=sandbox),
        operations=operations,
        on_call=metrics.observe_admin_call,
        gate=gate,
        on_throttle_wait=metrics.observe_throttle_wait,
    )
    return _Shared(
        pool=pool,
        audit=audit,
        redis=redis,
        breaker=breaker,
        admin=admin,
        scope=scope,
        sandbox=sandbox,
    )


async def _open_sandbox(
    settings: Settings, stack: AsyncExitStack, *, state_file: Path | None
) -> SandboxShop | None:
    """The built-in sandbox shop, delivering signed webhooks to this process's own
    /webhooks/shopify; `state_file` tells `ordergate sandbox staff` where it listens."""
    if not settings.uses_sandbox or settings.is_production:
        return None
    host = "127.0.0.1" if settings.listen_host in {"0.0.0.0", "::"} else settings.listen_host
    sandbox = await start_sandbox(
        webhook_url=f"http://{host}:{settings.port}/webhooks/shopify",
        webhook_secret=settings.webhook_secret_value(),
        state_file=state_file,
        # The shop starts afresh while the database keeps its requests: new orders, not the
        # same ids again, so no request of an earlier run ever claims one of them.
        demo_id_offset=fresh_demo_id_offset(utc_now()),
    )
    stack.push_async_callback(sandbox.close)
    return sandbox


def redis_scope(endpoint: str) -> str:
    """The key prefix of a shop's limits, bucket and cached orders in Redis: shops sharing one
    Redis never share them."""
    return "ordergate:" + hashlib.sha256(endpoint.encode()).hexdigest()[:12]


async def _open_redis(
    settings: Settings, stack: AsyncExitStack, *, metrics: Metrics
) -> tuple[aioredis.Redis | None, RedisBreaker | None]:
    """The Redis client and the breaker saying whether it is usable now (both None without
    REDIS_URL). A Redis outage degrades to in-process limits and cache, never to refusals."""
    if settings.redis_url is None:
        return None, None
    url = settings.redis_url.get_secret_value()
    # Probes have a client of their own, one connection at most, with a short timeout: the
    # main pool refuses while the breaker is open.
    probe = aioredis.Redis.from_url(
        url,
        max_connections=1,
        socket_connect_timeout=REDIS_PROBE_TIMEOUT_SECONDS,
        socket_timeout=REDIS_PROBE_TIMEOUT_SECONDS,
    )
    stack.push_async_callback(probe.aclose)
    breaker = RedisBreaker(
        probe.ping,
        probe_timeout=REDIS_PROBE_TIMEOUT_SECONDS,
        on_change=metrics.redis_availability,
        on_fallback=metrics.redis_fallback,
    )
    stack.push_async_callback(breaker.close)
    # A bounded pool that makes a request wait its turn: redis-py's default pool raises at
    # once when its 100 connections are out, and a burst from one address answered 503 to
    # everyone. Waits and socket operations are bounded, so a silent Redis fails fast, once:
    # the first failure opens the breaker and the pool then refuses without connecting.
    pool = GuardedPool.from_url(
        url,
        breaker=breaker,
        max_connections=REDIS_POOL_SIZE,
        timeout=REDIS_POOL_WAIT_SECONDS,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
    )
    redis = aioredis.Redis(connection_pool=pool)
    stack.push_async_callback(redis.aclose)
    stack.push_async_callback(pool.disconnect)
    return redis, breaker


def _token_provider(
    settings: Settings,
    *,
    session: aiohttp.ClientSession,
    endpoint: str,
    sandbox: SandboxShop | None,
) -> TokenProvider:
    if sandbox is not None:
        return StaticToken(SecretStr(sandbox.admin_token))
    return shop_credentials(settings, session, endpoint)
