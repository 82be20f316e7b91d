"""The live resources of one ordergate process, opened in order and closed in reverse."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import asyncpg
from pydantic import SecretStr

from service.admin.auth import ClientCredentials, StaticToken, TokenProvider, token_url_for
from service.admin.client import AdminCall, AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.audit_writer import AuditWriter
from service.config import Settings
from service.database import create_pool
from service.merchant_policy import Policy, load_policy
from service.messages import Messages
from service.metrics import Metrics
from service.orders import OrderDesk
from service.reconciler import Reconciler
from service.sandbox.server import SandboxShop, start_sandbox

logger = logging.getLogger("ordergate")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything a request needs, built once per process by the app's lifespan."""

    settings: Settings
    policy: Policy
    pool: asyncpg.Pool
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
    settings: Settings, *, metrics: Metrics, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[Runtime]:
    """Open pool, audit writer, HTTP session and (in dev) the sandbox; close them in reverse."""
    if settings.database_url is None:
        raise RuntimeError("a database URL is required; `ordergate dev` starts an embedded one")
    policy = load_policy(settings.policy_file)
    messages = Messages.load()
    operations = OperationRegistry.load()
    async with AsyncExitStack() as stack:
        pool = await create_pool(settings.database_url.get_secret_value())
        stack.push_async_callback(pool.close)
        audit = AuditWriter(pool, on_flush=metrics.observe_audit_flush)
        await audit.start()
        stack.push_async_callback(audit.close)
        metrics.track_audit_queue(lambda: audit.depth)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        sandbox = None
        if settings.uses_sandbox and not settings.is_production:
            sandbox = await start_sandbox()
            stack.push_async_callback(sandbox.close)
        endpoint = sandbox.endpoint if sandbox else settings.admin_endpoint()
        auth = _token_provider(settings, session=session, endpoint=endpoint, sandbox=sandbox)
        client = AdminClient(
            session,
            endpoint=endpoint,
            auth=auth,
            operations=operations,
            on_call=metrics.observe_admin_call,
        )

        def shop(observer: Callable[[AdminCall], None]) -> Shop:
            return Shop(client.observed_by(observer))

        desk = OrderDesk(
            shop=shop,
            pool=pool,
            audit=audit,
            policy=policy,
            clock=clock,
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
            audit=audit,
            desk=desk,
            reconciler=reconciler,
            messages=messages,
            metrics=metrics,
            sandbox=sandbox,
        )


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
