"""Delivers the e-mail outbox, in every replica: an SMTP outage delays mail, it loses none.

Each pass leases due mail (`FOR UPDATE SKIP LOCKED`, so replicas share the work without
overlap), opens each seal, sends the mail, and records the delivery, which erases the message.
A failed attempt is recorded by kind and retried later, for ever, with exponential backoff.
When the server itself fails (unreachable, timing out, refusing the credentials), the pass
stops and the worker probes again only after a growing pause, so a dead server sees one
connection per pause and never a busy loop; mail for one refused recipient waits alone.

Delivery is at least once. A crash, or a lost connection to Postgres, after the SMTP server
accepted a mail and before its delivery was recorded leaves the row undelivered: once its
lease runs out a worker sends it again (with the same Message-ID, so most mail clients show
it once). A mail is never recorded as sent before the server accepted it, so none is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg

from service.mail.outgoing import OutgoingMail
from service.mail.sealing import SealBroken, Sealer
from service.mail.sender import MailUnavailable
from service.storage import outbox
from service.storage.outbox import LeasedMail, OutboxListener, OutboxStats
from service.workers import Backoff, LoopWorker, Pass, WorkerLoop, WorkerMonitor

__all__ = ["SEAL_BROKEN", "Backoff", "MailSender", "OutboxObserver", "OutboxWorker"]

logger = logging.getLogger("ordergate.outbox")

SMTP_BACKOFF = Backoff(first=5.0, cap=600.0)
"""Pauses after SMTP server failures: 5 s, doubling up to ten minutes."""

SEAL_BROKEN = "seal_broken"
"""The error kind of a mail whose seal does not open (altered, or another secret key)."""


class MailSender(Protocol):
    """Delivers one mail or raises `MailUnavailable`; `SmtpSender` is the one ordergate uses."""

    async def send(self, mail: OutgoingMail, *, mail_id: str | None = None) -> None:
        """Deliver `mail`; `mail_id` identifies it across resends."""


class OutboxObserver(Protocol):
    """What the worker reports, for metrics: deliveries, failures and the backlog."""

    def mail_sent(self, kind: str) -> None:
        """A mail of `kind` was delivered."""

    def mail_failed(self, kind: str, error: str) -> None:
        """An attempt to deliver a mail of `kind` failed with `error` (a `MailErrorKind`)."""

    def backlog(self, stats: OutboxStats) -> None:
        """Mail waiting for delivery after a pass, across all replicas."""


@dataclass(frozen=True, slots=True)
class _Pass:
    leased: int
    delivered: int
    server_failed: bool
    lag: float


class OutboxWorker(LoopWorker):
    """Runs delivery passes in the background: after each commit of a mail (LISTEN/NOTIFY)
    and every `interval` seconds, until `close`."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        sender: MailSender,
        sealer: Sealer,
        clock: Callable[[], datetime],
        interval: float = 5.0,
        batch: int = 10,
        send_timeout: float = 30.0,
        backoff: Backoff = SMTP_BACKOFF,
        observer: OutboxObserver | None = None,
        drain_seconds: float = 10.0,
        monitor: WorkerMonitor | None = None,
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._sealer = sealer
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._send_timeout = send_timeout
        # Long enough to send the whole batch, each mail within its timeout.
        self._lease_seconds = batch * send_timeout + 30.0
        self._backoff = backoff
        self._observer = observer
        self._server_failures = 0
        self._listener = OutboxListener(pool, self.wake)
        self._loop = WorkerLoop(
            "outbox",
            self.run_pass,
            interval=interval,
            monitor=monitor,
            drain_seconds=drain_seconds,
            pass_timeout=self._lease_seconds,
        )

    async def close(self) -> None:
        """Take no more mail, let the send in progress finish (up to `drain_seconds`), stop.

        Close it before the pool: it holds a pool connection to listen on.
        """
        await self._loop.close()
        await self._listener.close()

    def wake(self) -> None:
        """Run a pass now rather than at the next interval (a new mail is waiting)."""
        self._loop.wake()

    async def run_once(self) -> int:
        """One pass: lease due mail, deliver it, record each outcome; returns how many went out."""
        return (await self._pass()).delivered

    async def run_pass(self) -> Pass:
        """One pass of the background loop: listen (again), deliver, report the backlog."""
        await self._listen()
        done = await self._pass()
        if done.server_failed:
            # Every mail waits for the server: probe again only once its backoff has passed.
            return Pass(
                lag_seconds=done.lag,
                blocked="smtp",
                retry_in=self._backoff.delay(self._server_failures),
            )
        # A full batch that went out: more may be due at once.
        more = done.leased == self._batch and done.delivered > 0
        return Pass(more=more, lag_seconds=done.lag)

    async def _pass(self) -> _Pass:
        leased = await outbox.lease_due(
            conn=self._pool, now=self._clock(), limit=self._batch, lease_seconds=self._lease_seconds
        )
        delivered, server_failed = 0, False
        for index, mail in enumerate(leased):
            if self._loop.stopping.is_set() or server_failed or not self._lease_covers_a_send(mail):
                await outbox.release(conn=self._pool, mail_ids=[m.id for m in leased[index:]])
                break
            failure = await self._deliver(mail)
            if failure is None:
                delivered += 1
            else:
                server_failed = failure.concerns_server
        backlog = await outbox.stats(conn=self._pool, now=self._clock())
        if self._observer is not None:
            self._observer.backlog(backlog)
        return _Pass(len(leased), delivered, server_failed, backlog.oldest_pending_age_seconds)

    def _lease_covers_a_send(self, mail: LeasedMail) -> bool:
        # A send must end before the lease does, or another replica could send it too.
        return self._clock() + timedelta(seconds=self._send_timeout) < mail.leased_until

    async def _deliver(self, mail: LeasedMail) -> _Failure | None:
        """Send one leased mail and record the outcome; the failure, if it failed."""
        try:
            message = OutgoingMail.unseal(self._sealer, mail.sealed)
            async with asyncio.timeout(self._send_timeout):
                await self._sender.send(message, mail_id=mail.id)
        except SealBroken:
            failure = _Failure(SEAL_BROKEN, concerns_server=False)
        except MailUnavailable as exc:
            failure = _Failure(exc.kind.value, concerns_server=exc.kind.concerns_server)
        except TimeoutError:
            failure = _Failure("timeout", concerns_server=True)
        else:
            await outbox.mark_sent(conn=self._pool, mail_id=mail.id, now=self._clock())
            self._server_failures = 0
            if self._observer is not None:
                self._observer.mail_sent(mail.kind)
            return None
        await self._record_failure(mail, failure)
        return failure

    async def _record_failure(self, mail: LeasedMail, failure: _Failure) -> None:
        if failure.concerns_server:
            # Every mail waits for the server: retry this one when the worker probes again.
            self._server_failures += 1
            wait = self._backoff.delay(self._server_failures)
        else:
            wait = self._backoff.delay(mail.attempts + 1)
        retry_at = self._clock() + timedelta(seconds=wait)
        await outbox.mark_failed(
            conn=self._pool, mail_id=mail.id, error_kind=failure.kind, retry_at=retry_at
        )
        logger.warning("mail not delivered", extra={"kind": failure.kind})
        if self._observer is not None:
            self._observer.mail_failed(mail.kind, failure.kind)

    async def _listen(self) -> None:
        try:
            await self._listener.open()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            # Without LISTEN the worker still polls every `interval`.
            logger.warning("outbox listener down", extra={"kind": type(exc).__name__})


@dataclass(frozen=True, slots=True)
class _Failure:
    kind: str
    concerns_server: bool
