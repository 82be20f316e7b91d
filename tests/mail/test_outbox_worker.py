"""The outbox worker against real Postgres and real SMTP on loopback: nothing lost, nothing left."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from service.mail.dev_mailbox import DevMailbox
from service.mail.outbox_worker import SEAL_BROKEN, Backoff, OutboxWorker
from service.mail.outgoing import OutgoingMail
from service.mail.sealing import Sealer
from service.mail.sender import SmtpSender
from service.mail.templates import MailKind, MailTemplates, VerificationCodeMail
from service.storage import outbox
from service.storage.database import create_pool
from service.storage.outbox import OutboxStats
from tests.conftest import DatabaseFactory
from tests.mail.conftest import MAIL_FROM
from tests.mail.scripted_smtp import Script, free_port, scripted_smtp

SEALER = Sealer(b"the test secret")
FAST = Backoff(first=0.2, cap=0.5)
CODE = "418207"
ADDRESS = "kari.nordmann@example.com"


def now() -> datetime:
    return datetime.now(UTC)


class Recorder:
    """An observer that keeps what the worker reports."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.failed: Counter[tuple[str, str]] = Counter()
        self.backlogs: list[OutboxStats] = []

    def mail_sent(self, kind: str) -> None:
        self.sent[kind] += 1

    def mail_failed(self, kind: str, error: str) -> None:
        self.failed[kind, error] += 1

    def backlog(self, stats: OutboxStats) -> None:
        self.backlogs.append(stats)


@pytest.fixture
async def database(make_database: DatabaseFactory) -> str:
    return await make_database()


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    connections = await create_pool(database)
    yield connections
    await connections.close()


async def _queue(
    pool: asyncpg.Pool,
    *,
    recipient: str = ADDRESS,
    code: str = CODE,
    sealer: Sealer = SEALER,
) -> str:
    rendered = MailTemplates.load().render(
        VerificationCodeMail(code=code, order_name="#1001", ttl_minutes=10), locale="nb"
    )
    sealed = OutgoingMail.of(recipient, rendered).seal(sealer)
    async with pool.acquire() as conn, conn.transaction():
        return await outbox.enqueue(
            conn=conn,
            kind=MailKind.VERIFICATION_CODE,
            sealed=sealed,
            order_id="gid://shopify/Order/1001",
            now=now(),
        )


def _worker(
    pool: asyncpg.Pool, url: str, *, observer: Recorder | None = None, **options: object
) -> OutboxWorker:
    settings: dict[str, object] = {"interval": 0.05, "backoff": FAST, "send_timeout": 2.0}
    settings.update(options)
    return OutboxWorker(
        pool=pool,
        sender=SmtpSender(url, MAIL_FROM, timeout=2.0),
        sealer=SEALER,
        clock=now,
        observer=observer,
        **settings,  # type: ignore[arg-type]
    )


async def test_a_queued_mail_is_delivered_and_recorded(
    pool: asyncpg.Pool, mailbox: DevMailbox
) -> None:
    mail_id = await _queue(pool)
    recorder = Recorder()
    assert await _worker(pool, mailbox.url, observer=recorder).run_once() == 1
    (received,) = mailbox.messages
    assert received.recipient == ADDRESS
    assert CODE in received.text
    assert received.subject == "Bekreftelseskoden din for bestilling #1001"
    assert received.message_id.startswith(f"<{mail_id}@")
    row = await pool.fetchrow("select * from email_outbox where id = $1::uuid", mail_id)
    assert row is not None
    assert row["sent_at"] is not None
    assert row["sealed"] is None
    assert recorder.sent == Counter({"VERIFICATION_CODE": 1})
    assert recorder.backlogs[-1] == OutboxStats(0, 0.0)


async def test_no_code_or_address_is_readable_in_the_table_before_or_after_delivery(
    pool: asyncpg.Pool, mailbox: DevMailbox
) -> None:
    await _queue(pool)

    async def dump() -> str:
        # Every column of every row as text, as pg_dump would write it.
        return "\n".join(row[0] for row in await pool.fetch("select t::text from email_outbox t"))

    queued = await dump()
    assert await _worker(pool, mailbox.url).run_once() == 1
    delivered = await dump()
    for text in (queued, delivered):
        assert CODE not in text
        assert "kari" not in text.lower()
        assert "example.com" not in text
    assert await pool.fetchval("select count(*) from email_outbox where sealed is not null") == 0


async def test_mail_queued_while_smtp_is_down_arrives_once_it_is_back(
    pool: asyncpg.Pool,
) -> None:
    port = free_port()
    ids = [await _queue(pool, recipient=f"customer{n}@example.com") for n in range(5)]
    recorder = Recorder()
    worker = _worker(pool, f"smtp://127.0.0.1:{port}", observer=recorder)
    worker.start()
    box = DevMailbox(port=port)
    try:
        await asyncio.sleep(1.5)  # SMTP is down: nothing listens on the port
        probes = await pool.fetchval("select sum(attempts) from email_outbox")
        # A dead server is probed once per pause (0.2, 0.4, 0.5 …), never once per mail.
        assert 2 <= probes <= 6
        assert await pool.fetchval("select count(*) from email_outbox where sent_at is null") == 5
        assert set(await pool.fetch("select distinct last_error from email_outbox")) <= {
            ("connection",),
            (None,),
        }
        await box.start()  # the server is back on the same port
        async with asyncio.timeout(10):
            received = await box.wait_for(5)
        await asyncio.sleep(0.3)  # time for a duplicate to show, if there were one
    finally:
        await worker.close()
        await box.close()
    assert sorted(mail.recipient for mail in box.messages) == [
        f"customer{n}@example.com" for n in range(5)
    ]
    assert len(received) == 5
    unsent = await pool.fetchval(
        "select count(*) from email_outbox where id = any($1::uuid[]) and sent_at is null", ids
    )
    assert unsent == 0
    assert recorder.failed[("VERIFICATION_CODE", "connection")] >= 2


async def test_two_workers_on_one_database_deliver_each_mail_once(
    database: str, mailbox: DevMailbox
) -> None:
    pools = [await create_pool(database) for _ in range(2)]
    recorders = [Recorder(), Recorder()]
    workers = [
        _worker(p, mailbox.url, observer=r, batch=3) for p, r in zip(pools, recorders, strict=True)
    ]
    try:
        for worker in workers:
            worker.start()
        for n in range(30):
            await _queue(pools[n % 2], recipient=f"customer{n}@example.com")
        async with asyncio.timeout(20):
            await mailbox.wait_for(30)
        await asyncio.sleep(0.5)  # time for a duplicate to show, if there were one
    finally:
        for worker in workers:
            await worker.close()
        for p in pools:
            await p.close()
    recipients = Counter(mail.recipient for mail in mailbox.messages)
    assert len(recipients) == 30
    assert set(recipients.values()) == {1}
    assert sum(r.sent["VERIFICATION_CODE"] for r in recorders) == 30


async def test_a_new_mail_wakes_the_worker_without_waiting_for_the_interval(
    pool: asyncpg.Pool, mailbox: DevMailbox
) -> None:
    worker = _worker(pool, mailbox.url, interval=60.0)
    worker.start()
    try:
        await asyncio.sleep(0.3)  # the first pass found nothing; the next is a minute away
        await _queue(pool)
        async with asyncio.timeout(3):
            await mailbox.wait_for(1)
    finally:
        await worker.close()


async def test_a_mail_for_a_bad_address_does_not_hold_up_the_others(
    pool: asyncpg.Pool, mailbox: DevMailbox
) -> None:
    bad = await _queue(pool, recipient="not an address")
    await _queue(pool, recipient="good@example.com")
    recorder = Recorder()
    assert await _worker(pool, mailbox.url, observer=recorder).run_once() == 1
    assert [mail.recipient for mail in mailbox.messages] == ["good@example.com"]
    row = await pool.fetchrow("select * from email_outbox where id = $1::uuid", bad)
    assert row is not None
    assert (row["attempts"], row["last_error"]) == (1, "invalid_message")
    assert row["sealed"] is not None  # kept, and retried later: never silently dropped
    assert recorder.failed == Counter({("VERIFICATION_CODE", "invalid_message"): 1})


async def test_a_seal_that_does_not_open_is_kept_for_the_right_secret(
    pool: asyncpg.Pool, mailbox: DevMailbox
) -> None:
    mail_id = await _queue(pool, sealer=Sealer(b"the secret before a rotation"))
    assert await _worker(pool, mailbox.url).run_once() == 0
    row = await pool.fetchrow("select * from email_outbox where id = $1::uuid", mail_id)
    assert row is not None
    assert (row["last_error"], row["sent_at"]) == (SEAL_BROKEN, None)
    assert mailbox.messages == ()


async def test_close_stops_a_running_worker_promptly(
    pool: asyncpg.Pool, mailbox: DevMailbox
) -> None:
    worker = _worker(pool, mailbox.url, interval=60.0)
    worker.start()
    await asyncio.sleep(0.2)
    async with asyncio.timeout(2):
        await worker.close()
    await _queue(pool)
    await asyncio.sleep(0.3)
    assert mailbox.messages == ()


async def test_close_lets_the_send_in_progress_finish_and_be_recorded(
    pool: asyncpg.Pool,
) -> None:
    script = Script(data_delay=0.5)
    mail_id = await _queue(pool)
    async with scripted_smtp(script) as port:
        worker = _worker(pool, f"smtp://127.0.0.1:{port}")
        worker.start()
        await asyncio.sleep(0.25)  # the server is taking its time to accept the message
        await worker.close()
    assert script.accepted == 1
    sent_at = await pool.fetchval("select sent_at from email_outbox where id = $1::uuid", mail_id)
    assert sent_at is not None


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(1, 5.0), (2, 10.0), (3, 20.0), (7, 320.0), (8, 600.0), (10_000, 600.0)],
)
def test_backoff_doubles_up_to_its_cap(failures: int, seconds: float) -> None:
    assert Backoff().delay(failures) == seconds
