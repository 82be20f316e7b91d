"""Every background worker against a dead dependency: Postgres cut through a real TCP proxy,
SMTP refusing. Each backs off (attempts counted over a window), its liveness falls behind and
its lag shows, and it recovers by itself when the dependency returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import aiohttp
from pydantic import SecretStr

from service.admin.auth import StaticToken
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.mail.outbox_worker import OutboxWorker
from service.mail.sender import SmtpSender
from service.order_cache import OrderCache
from service.orders.lifecycle import Lifecycle
from service.orders.privacy import Privacy
from service.orders.reconciler import Reconciler
from service.orders.retention import RetentionWorker
from service.orders.staff_decisions import StaffDecisions
from service.orders.webhook_worker import WebhookWorker
from service.policy import Policy
from service.sandbox.server import SandboxShop
from service.storage import audit
from service.storage.audit_writer import AuditWriter
from service.storage.database import create_pool
from service.workers import Backoff, WorkerMonitor
from tests.conftest import DatabaseFactory
from tests.mail.scripted_smtp import free_port
from tests.mail.test_outbox_worker import SEALER, _queue
from tests.orders.test_reconciler import intent, now
from tests.tcp_proxy import TcpProxy

WINDOW = 3.0


def event(name: str) -> audit.AuditEvent:
    return audit.AuditEvent(
        operation=name, request_id=name, client_address="127.0.0.1", outcome="OK"
    )


async def until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not recover"
        await asyncio.sleep(0.05)


def recovered(monitor: WorkerMonitor) -> bool:
    return monitor.failures == 0 and stale(monitor) < 1


def stale(monitor: WorkerMonitor) -> float:
    return time.time() - monitor.last_progress()


async def test_workers_back_off_show_lag_and_recover_when_postgres_returns(
    make_database: DatabaseFactory, sandbox: SandboxShop
) -> None:
    proxy = TcpProxy(await make_database())
    await proxy.start()
    pool = await create_pool(proxy.dsn)
    async with aiohttp.ClientSession() as session:
        admin = AdminClient(
            session,
            endpoint=sandbox.endpoint,
            auth=StaticToken(SecretStr(sandbox.admin_token)),
            operations=OperationRegistry.load(),
        )
        lifecycle = Lifecycle(pool=pool, admin=admin, policy=Policy(), clock=now)
        order = await Shop(admin).find_order(name="#1001")
        assert order is not None
        await intent(pool, order)  # a minute old, not yet due: the reconciler's lag
        writer = AuditWriter(pool)
        await writer.start()
        # Intervals of 50 ms: without backoff each worker would try sixty times a window.
        reconciler = Reconciler(
            pool=pool, lifecycle=lifecycle, clock=now, interval=0.05, settle=timedelta(hours=1)
        )
        cache = OrderCache(redis=None)
        decisions = StaffDecisions(pool=pool, admin=admin, lifecycle=lifecycle, cache=cache)
        webhooks = WebhookWorker(pool=pool, decisions=decisions, clock=now, interval=0.05)
        retention = RetentionWorker(
            privacy=Privacy(pool=pool, clock=now),
            retention=timedelta(days=30),
            interval=0.05,
            retry=1.0,
        )
        for worker in (reconciler, webhooks, retention):
            worker.start()
        try:
            await writer.record(event("before"))
            await until(lambda: reconciler.monitor.lag() > 59, seconds=5)
            await until(lambda: webhooks.monitor.attempts > 0, seconds=5)
            await until(lambda: retention.monitor.attempts > 0, seconds=5)

            await proxy.cut()
            await writer.submit(event("during"))  # queued, written once Postgres is back
            monitors = [writer.monitor, reconciler.monitor, webhooks.monitor, retention.monitor]
            before = [monitor.attempts for monitor in monitors]
            await asyncio.sleep(WINDOW)
            tries = [
                monitor.attempts - count for monitor, count in zip(monitors, before, strict=True)
            ]
            # Audit writer: 50 ms doubling (about 7 in the window); loops, retention's `retry`
            # included: 1 s doubling (3).
            assert tries[0] <= 10, tries
            assert max(tries[1:]) <= 4, tries
            assert all(stale(monitor) >= WINDOW - 1 for monitor in monitors)
            assert writer.monitor.lag() >= WINDOW - 0.5
            assert writer.depth == 1
            assert reconciler.monitor.lag() >= 60 + WINDOW - 0.5  # the same request, older

            await proxy.restore()
            # The loops' pauses are at most 4 s by now; the writer's under 2 s.
            await until(lambda: all(recovered(monitor) for monitor in monitors), seconds=10)
            assert writer.depth == 0
            assert writer.monitor.lag() == 0
        finally:
            await reconciler.close()
            await webhooks.close()
            await retention.close()
            await writer.close()
            await pool.close()
            await proxy.cut()


async def test_the_outbox_probes_a_dead_smtp_server_with_backoff_and_reports_its_lag(
    make_database: DatabaseFactory,
) -> None:
    pool = await create_pool(await make_database())
    await _queue(pool)
    dead = f"smtp://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    worker = OutboxWorker(
        pool=pool,
        sender=SmtpSender(dead, "shop@example.com", timeout=1.0),
        sealer=SEALER,
        clock=now,
        interval=0.05,
        backoff=Backoff(first=0.5, cap=1.0),
    )
    worker.start()
    try:
        await asyncio.sleep(WINDOW)
        # Probes at 0, 0.5, 1.5, 2.5 s; at its 50 ms interval it would try sixty times.
        assert 2 <= worker.monitor.attempts <= 5
        assert worker.monitor.failures == worker.monitor.attempts
        assert worker.monitor.lag() >= WINDOW - 1.5
        assert stale(worker.monitor) >= WINDOW - 0.5
    finally:
        await worker.close()
        await pool.close()
