"""A soak with faults: two production `ordergate serve` replicas under mixed load while
Postgres, Redis, SMTP and Shopify fail in turn and a replica is SIGKILLed, then the checks.

    TEST_DATABASE_URL=… TEST_REDIS_URL=… python -m bench.soak --minutes 10

Postgres, Redis and SMTP are reached through loopback TCP proxies this process controls
(`tests/tcp_proxy.py`); Shopify is the sandbox shop behind `bench/soak_faults.ShopifyFaults`.
At the end (faults over, a drain period, SIGTERM to both replicas) it prints: requests,
faults injected, errors by kind, answered-but-unaudited (answers whose X-Request-ID has no
audit row), double cancellations (orders that received more than one orderCancel), tokens
leaked (the Admin token in any answer or log line), webhooks not processed, the worst answer
time during each outage, and the RSS of each replica at start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.harness import log
from bench.processes import free_port, resident_kib
from bench.servers import UNLIMITED, Backends, fresh_database
from bench.soak_faults import FAULTS, Phase, ShopifyFaults, schedule
from bench.soak_load import Answer, Load, Users
from service.mail.dev_mailbox import DevMailbox
from service.sandbox.server import SandboxShop, start_sandbox
from tests.tcp_proxy import TcpProxy

ORDERS = 2000
USERS = 8
DRAIN_SECONDS = 45.0
POLICY = "cancellation:\n  window_minutes: 1440\n"  # the generated orders stay cancellable
SHOPIFY_RETRIES = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)  # Shopify retries for hours


@dataclass
class Replica:
    """One `ordergate serve` process and how to start it again."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    async def start(self) -> None:
        sink = self.log.open("a", encoding="utf-8")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.cli", "serve",
            env={**os.environ, **self.env}, stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
        sink.close()
        await _until_healthy(self.port)

    def rss_kib(self) -> int:
        assert self.process is not None
        return resident_kib(self.process.pid)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout=60)


async def _until_healthy(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"ordergate on port {port} did not start")


@dataclass
class Rig:
    """The proxies, the shop and the replicas the schedule acts on."""

    postgres: TcpProxy
    redis: TcpProxy
    smtp: TcpProxy
    shopify: ShopifyFaults
    replicas: list[Replica]

    async def inject(self, fault: str) -> None:
        if fault == "postgres_cut":
            await self.postgres.cut()
        elif fault == "postgres_blackhole":
            self.postgres.blackhole()
        elif fault == "redis_cut":
            await self.redis.cut()
        elif fault == "redis_blackhole":
            self.redis.blackhole()
        elif fault.startswith("shopify_"):
            self.shopify.mode = fault.removeprefix("shopify_")
        elif fault == "smtp_down":
            await self.smtp.cut()
        elif fault == "replica_sigkill":
            await self.replicas[-1].stop(signal.SIGKILL)

    async def heal(self, fault: str) -> None:
        if fault.startswith("postgres_"):
            await self.postgres.restore()
        elif fault.startswith("redis_"):
            await self.redis.restore()
        elif fault.startswith("shopify_"):
            self.shopify.mode = "normal"
        elif fault == "smtp_down":
            await self.smtp.restore()
        elif fault == "replica_sigkill":
            await self.replicas[-1].start()


class Clock:
    """Which phase the soak is in, for labelling each request."""

    def __init__(self) -> None:
        self.phase = "normal"


async def run_schedule(rig: Rig, phases: Sequence[Phase], clock: Clock) -> Counter[str]:
    injected: Counter[str] = Counter()
    began = time.monotonic()
    for phase in phases:
        await asyncio.sleep(max(0.0, began + phase.start - time.monotonic()))
        if phase.fault != "normal":
            clock.phase = phase.fault
            log(f"  {time.monotonic() - began:6.1f} s  {phase.fault}")
            await rig.inject(phase.fault)
            injected[phase.fault] += 1
            await asyncio.sleep(phase.seconds)
            await rig.heal(phase.fault)
            clock.phase = f"after {phase.fault}"  # the recovery, until the next phase
    if phases:
        last = phases[-1]
        await asyncio.sleep(max(0.0, began + last.start + last.seconds - time.monotonic()))
    clock.phase = "drain"
    return injected


async def settle(database: str) -> dict[str, int]:
    """Waits until the workers have finished what the faults left (or DRAIN_SECONDS)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        conn = await asyncpg.connect(database)
        try:
            left = {
                "requests_unfinished": await conn.fetchval(
                    "select count(*) from customer_requests where admin_state <> 'DONE'"
                ),
                "webhooks_unprocessed": await conn.fetchval(
                    "select count(*) from webhook_inbox"
                    " where processed_at is null and parked_at is null"
                ),
                "webhooks_parked": await conn.fetchval(
                    "select count(*) from webhook_inbox where parked_at is not null"
                ),
                "mail_undelivered": await conn.fetchval(
                    "select count(*) from email_outbox where sent_at is null"
                ),
            }
        finally:
            await conn.close()
        busy = left["requests_unfinished"] + left["webhooks_unprocessed"] + left["mail_undelivered"]
        if not busy or time.monotonic() > deadline:
            return left
        await asyncio.sleep(1.0)


async def unaudited(database: str, load: Load) -> tuple[list[Answer], int]:
    """Answered requests with no audit row: (non-outage answers, how many outage answers)."""
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("select distinct request_id from audit_events")
    finally:
        await conn.close()
    audited = {row["request_id"] for row in rows}
    missing = [a for a in load.answers if a.request_id and a.request_id not in audited]
    outage = [a for a in missing if a.outcome == "UPSTREAM_UNAVAILABLE"]
    return [a for a in missing if a not in outage], len(outage)


def outage_kinds(logs: Sequence[Path]) -> dict[str, int]:
    """What the replicas' access logs say each UPSTREAM_UNAVAILABLE answer was about."""
    kinds: Counter[str] = Counter()
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if '"UPSTREAM_UNAVAILABLE"' in line and '"ordergate.access"' in line:
                kinds[str(json.loads(line).get("kind"))] += 1
    return dict(kinds.most_common())


def double_cancellations(shop: SandboxShop) -> int:
    per_order = Counter(call.variables.get("orderId") for call in shop.mutations("OrderCancel"))
    return sum(1 for count in per_order.values() if count > 1)


def report(load: Load, injected: Counter[str], figures: dict[str, object]) -> str:
    by_outcome = Counter(answer.outcome for answer in load.answers)
    worst: dict[str, float] = defaultdict(float)
    for answer in load.answers:
        worst[answer.phase] = max(worst[answer.phase], answer.seconds)
    lines = [
        f"requests: {len(load.answers)} ({dict(Counter(a.kind for a in load.answers))})",
        f"webhooks published by the Shopify stand-in: {load.webhooks_published}",
        f"faults injected: {sum(injected.values())} ({dict(injected)})",
        "answers by outcome: " + ", ".join(f"{k} {v}" for k, v in by_outcome.most_common()),
        f"load errors by kind: {dict(load.errors) or 'none'}",
        f"cancellation codes not received within 15 s: {load.codes_missing}",
    ]
    lines += [f"{name}: {value}" for name, value in figures.items()]
    count = Counter(answer.phase for answer in load.answers)
    lines.append("worst answer time by phase (s), and requests started in it:")
    for phase in ("normal", *(p for f in FAULTS for p in (f, f"after {f}")), "drain"):
        if phase in worst:
            lines.append(f"  {phase:26} {worst[phase]:6.2f}  {count[phase]:6d}")
    return "\n".join(lines)


async def soak(database: str, backends: Backends, minutes: float, logs: Path) -> str:
    postgres = TcpProxy(database)
    redis = TcpProxy(backends.redis.replace("redis://", "postgresql://", 1))
    mailbox = DevMailbox(keep=20_000)
    await mailbox.start()
    smtp = TcpProxy(f"postgresql://x@127.0.0.1:{mailbox.port}/")
    for proxy in (postgres, redis, smtp):
        await proxy.start()
    shop = await start_sandbox(generated_orders=ORDERS, webhook_retry_delays=SHOPIFY_RETRIES)
    shopify = ShopifyFaults(shop.origin, shop.admin_token)
    await shopify.start()
    policy = logs / "policy.yaml"
    policy.write_text(POLICY)
    redis_db = backends.redis.rsplit("/", 1)[-1] if backends.redis.count("/") > 2 else "0"
    common = {
        "ORDERGATE_ENV": "production",
        "ORDERGATE_HOST": "127.0.0.1",
        "DATABASE_URL": postgres.dsn,
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/{redis_db}",
        "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "SHOPIFY_SHOP": shop.shop_domain,
        "SHOPIFY_ADMIN_ENDPOINT": shopify.origin + shop.endpoint.removeprefix(shop.origin),
        "SHOPIFY_ADMIN_TOKEN": shop.admin_token,
        "SHOPIFY_WEBHOOK_SECRET": shop.webhook_secret,
        "ORDERGATE_SECRET_KEY": "soak-secret-key-0123456789-0123456789",
        "ORDERGATE_POLICY_FILE": str(policy),
        "ORDERGATE_RECONCILE_SETTLE_SECONDS": "15",
        **UNLIMITED,
    }
    replicas = [
        Replica(name, port, {**common, "ORDERGATE_PORT": str(port),
                             "ORDERGATE_METRICS_PORT": str(free_port())}, logs / f"{name}.log")
        for name, port in (("replica-a", free_port()), ("replica-b", free_port()))
    ]  # fmt: skip
    for replica in replicas:
        await replica.start()
    # Shopify's webhooks go to the replica that is never killed (a gateway would route them).
    shop.deliver_webhooks_to(replicas[0].url.replace("/graphql", "/webhooks/shopify"))
    rss_start = {r.name: r.rss_kib() for r in replicas}
    rig = Rig(postgres, redis, smtp, shopify, replicas)
    clock = Clock()
    users = Users(
        urls=[r.url for r in replicas], shop=shop, mailbox=mailbox, orders=ORDERS,
        phase=lambda: clock.phase, token=shop.admin_token,
    )  # fmt: skip
    stop = asyncio.Event()
    load_task = asyncio.create_task(users.run(USERS, stop))
    injected = await run_schedule(rig, schedule(minutes * 60), clock)
    stop.set()
    await load_task
    left = await settle(database)
    rss_end = {r.name: r.rss_kib() for r in replicas}
    exits = [await replica.stop() for replica in replicas]
    answered_unaudited, outage_unaudited = await unaudited(database, users.load)
    logged = sum(r.log.read_text(errors="replace").count(shop.admin_token) for r in replicas)
    lost = len(answered_unaudited) + left["webhooks_unprocessed"] + left["mail_undelivered"]
    figures: dict[str, object] = {
        "events lost (unaudited answers, webhooks unprocessed, mail undelivered)": lost,
        "answered-but-unaudited": len(answered_unaudited),
        "outage answers (UPSTREAM_UNAVAILABLE) unaudited": outage_unaudited,
        "double cancellations": double_cancellations(shop),
        "orderCancel calls": len(shop.mutations("OrderCancel")),
        "tokens leaked": users.load.leaked + logged,
        "UPSTREAM_UNAVAILABLE by cause (server logs)": outage_kinds([r.log for r in replicas]),
        "left after the drain": left,
        "replica exit codes on SIGTERM": exits,
        "RSS start (KiB)": rss_start,
        "RSS end (KiB)": rss_end,
        "logs": str(logs),
    }
    for answer in answered_unaudited[:10]:
        figures[f"  unaudited {answer.request_id}"] = answer
    for closing in (shopify.close(), shop.close(), mailbox.close()):
        await closing
    for proxy in (postgres, redis, smtp):
        await proxy.cut()
    return report(users.load, injected, figures)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    backends = Backends.from_environment()
    logs = Path(tempfile.mkdtemp(prefix="ordergate-soak-"))
    log(f"soak: {args.minutes} min, logs in {logs}")
    with fresh_database(backends.postgres) as database:
        print(asyncio.run(soak(database, backends, args.minutes, logs)))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
