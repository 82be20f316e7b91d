"""Prometheus metrics, one registry per app so tests and replicas never share state."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from service.admin.client import AdminCall
from service.storage.outbox import OutboxStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Declare:
    """Makes metrics in one registry, so each metric below is one readable line."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def counter(self, name: str, doc: str, *labels: str) -> Counter:
        return Counter(name, doc, labels, registry=self._registry)

    def gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(name, doc, registry=self._registry)

    def histogram(self, name: str, doc: str, *labels: str) -> Histogram:
        return Histogram(name, doc, labels, buckets=_LATENCY_BUCKETS, registry=self._registry)


class Metrics:
    """Every metric ordergate exports; `render()` is the body of `GET /metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        new = _Declare(self.registry)
        self.requests = new.counter(
            "ordergate_requests_total",
            "Storefront operations by operation and outcome.",
            "operation",
            "outcome",
        )
        self.request_seconds = new.histogram(
            "ordergate_request_duration_seconds", "Storefront operation latency.", "operation"
        )
        self.rate_limited = new.counter(
            "ordergate_rate_limited_total", "Requests refused by a rate limit, by limit.", "limit"
        )
        self.order_cache = new.counter(
            "ordergate_order_cache_total",
            "Order snapshot cache lookups by event (hit, miss, coalesced).",
            "event",
        )
        self.redis_available = new.gauge(
            "ordergate_redis_available",
            "1 while Redis is used, 0 while limits and the order cache are kept in process "
            "(its circuit open); 0 too when no Redis is configured.",
        )
        self.redis_fallbacks = new.counter(
            "ordergate_redis_fallbacks_total",
            "Operations served in process while Redis was unavailable, by use (limits, cache).",
            "use",
        )
        self._declare_admin(new)
        self._declare_audit(new)
        self._declare_mail(new)
        self._declare_webhooks(new)
        self.erased_rows = new.counter(
            "ordergate_personal_data_erased_total",
            "Rows of personal data erased, by reason (customers/redact, shop/redact, "
            "privacy redact, retention).",
            "reason",
        )

    def _declare_admin(self, new: _Declare) -> None:
        self.admin_calls = new.counter(
            "ordergate_admin_calls_total",
            "Admin API calls by operation and outcome.",
            "operation",
            "outcome",
        )
        self.admin_cost = new.counter(
            "ordergate_admin_cost_points_total",
            "Admin API cost points spent (actual cost, or requested when no actual is given).",
            "operation",
        )
        self.admin_available = new.gauge(
            "ordergate_admin_cost_available_points",
            "Cost points left in the shop's bucket at the last Admin response.",
        )
        self.admin_seconds = new.histogram(
            "ordergate_admin_call_duration_seconds", "Admin API call latency.", "operation"
        )
        self.admin_throttle_waits = new.histogram(
            "ordergate_admin_throttle_wait_seconds",
            "Time Admin calls waited for cost points in the shared bucket.",
        )

    def _declare_audit(self, new: _Declare) -> None:
        self.audit_queue_depth = new.gauge(
            "ordergate_audit_queue_depth", "Audit events waiting for the background writer."
        )
        self.audit_flush_seconds = new.histogram(
            "ordergate_audit_flush_duration_seconds", "Time to write one batch of audit events."
        )
        self.audit_events_written = new.counter(
            "ordergate_audit_events_written_total",
            "Audit events written by the background writer.",
        )

    def _declare_mail(self, new: _Declare) -> None:
        self.mail_sent_total = new.counter(
            "ordergate_mail_sent_total", "Customer e-mails delivered, by kind.", "kind"
        )
        self.mail_failed_total = new.counter(
            "ordergate_mail_failed_total",
            "Failed attempts to deliver a customer e-mail, by kind and error (retried).",
            "kind",
            "error",
        )
        self.mail_pending = new.gauge(
            "ordergate_mail_pending", "Customer e-mails queued and not yet delivered."
        )
        self.mail_oldest_pending_seconds = new.gauge(
            "ordergate_mail_oldest_pending_seconds",
            "How long the oldest undelivered customer e-mail has waited.",
        )

    def _declare_webhooks(self, new: _Declare) -> None:
        self.webhooks_received = new.counter(
            "ordergate_webhooks_received_total",
            "Signed Shopify webhooks received, by topic (`unknown` for topics not handled).",
            "topic",
        )
        self.webhooks_rejected = new.counter(
            "ordergate_webhooks_rejected_total",
            "Webhook deliveries refused and not stored, by reason "
            "(unconfigured, too_large, shop, timeout, signature, unavailable).",
            "reason",
        )
        self.webhooks_ignored = new.counter(
            "ordergate_webhooks_ignored_total",
            "Signed webhooks acknowledged but not stored, by reason "
            "(unknown_topic, malformed, no_order).",
            "reason",
        )
        self.webhooks_duplicate = new.counter(
            "ordergate_webhooks_duplicate_total",
            "Redelivered webhooks acknowledged and not stored again, by topic.",
            "topic",
        )
        self.webhooks_processed = new.counter(
            "ordergate_webhooks_processed_total", "Stored webhooks processed."
        )
        self.webhooks_parked = new.counter(
            "ordergate_webhooks_parked_total",
            "Stored webhooks given up on after too many failed attempts.",
        )
        self.webhook_lag_seconds = new.histogram(
            "ordergate_webhook_processing_lag_seconds",
            "Time from a webhook's receipt to the end of its processing (per batch, the "
            "oldest delivery's).",
        )
        self.webhook_oldest_waiting_seconds = new.gauge(
            "ordergate_webhook_oldest_waiting_seconds",
            "How long the oldest stored webhook not yet processed (nor parked) has waited.",
        )

    def webhook_received(self, topic: str) -> None:
        """A delivery passed the signature and shop checks (the intake's report)."""
        self.webhooks_received.labels(topic).inc()

    def webhook_rejected(self, reason: str) -> None:
        """A delivery was refused and nothing was stored."""
        self.webhooks_rejected.labels(reason).inc()

    def webhook_ignored(self, reason: str) -> None:
        """A signed delivery was acknowledged without being stored."""
        self.webhooks_ignored.labels(reason).inc()

    def webhook_duplicate(self, topic: str) -> None:
        """A redelivery was acknowledged and not stored again."""
        self.webhooks_duplicate.labels(topic).inc()

    def webhook_processed(self, count: int, lag_seconds: float) -> None:
        """The worker finished `count` stored webhooks, the oldest `lag_seconds` after its
        receipt (the worker's `on_processed`)."""
        self.webhooks_processed.inc(count)
        self.webhook_lag_seconds.observe(max(0.0, lag_seconds))

    def personal_data_erased(self, reason: str, rows: int) -> None:
        """An erasure touched `rows` rows of personal data (`Privacy`'s `on_erased`)."""
        self.erased_rows.labels(reason).inc(rows)

    def webhook_parked(self) -> None:
        """The worker gave up on a stored webhook after too many failed attempts."""
        self.webhooks_parked.inc()

    def webhook_backlog(self, oldest_waiting_seconds: float) -> None:
        """The inbox as the worker last saw it (`webhook_inbox.lag`)."""
        self.webhook_oldest_waiting_seconds.set(oldest_waiting_seconds)

    def mail_sent(self, kind: str) -> None:
        """A customer e-mail was delivered (the outbox worker's report)."""
        self.mail_sent_total.labels(kind).inc()

    def mail_failed(self, kind: str, error: str) -> None:
        """An attempt to deliver a customer e-mail failed; it will be retried."""
        self.mail_failed_total.labels(kind, error).inc()

    def backlog(self, stats: OutboxStats) -> None:
        """The outbox as the worker last saw it, across replicas."""
        self.mail_pending.set(stats.pending)
        self.mail_oldest_pending_seconds.set(stats.oldest_pending_age_seconds)

    def observe_order_cache(self, event: str) -> None:
        """Record one cache lookup."""
        self.order_cache.labels(event).inc()

    def redis_availability(self, available: bool) -> None:
        """Record that Redis is used again (True) or not (False)."""
        self.redis_available.set(1 if available else 0)

    def redis_fallback(self, use: str) -> None:
        """Record one operation served in process instead of Redis."""
        self.redis_fallbacks.labels(use).inc()

    def observe_throttle_wait(self, seconds: float) -> None:
        """Record a wait for cost points."""
        self.admin_throttle_waits.observe(seconds)

    def observe_admin_call(self, call: AdminCall) -> None:
        """Record one Admin API call (hooked into the Admin client)."""
        self.admin_calls.labels(call.operation, call.outcome).inc()
        self.admin_seconds.labels(call.operation).observe(call.duration_seconds)
        spent = call.actual_cost if call.actual_cost is not None else call.requested_cost
        if spent:
            self.admin_cost.labels(call.operation).inc(spent)
        if call.throttle is not None:
            self.admin_available.set(call.throttle.currently_available)

    def observe_audit_flush(self, count: int, seconds: float) -> None:
        """Record one batch written by the audit writer."""
        self.audit_events_written.inc(count)
        self.audit_flush_seconds.observe(seconds)

    def track_audit_queue(self, depth: Callable[[], int]) -> None:
        """Read the audit queue depth at scrape time."""
        self.audit_queue_depth.set_function(lambda: float(depth()))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
