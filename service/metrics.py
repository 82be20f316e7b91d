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

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric ordergate exports; `render()` is the body of `GET /metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "ordergate_requests_total",
            "Storefront operations by operation and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "ordergate_request_duration_seconds",
            "Storefront operation latency.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.admin_calls = Counter(
            "ordergate_admin_calls_total",
            "Admin API calls by operation and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.admin_cost = Counter(
            "ordergate_admin_cost_points_total",
            "Admin API cost points spent (actual cost, or requested when no actual is given).",
            ["operation"],
            registry=self.registry,
        )
        self.admin_available = Gauge(
            "ordergate_admin_cost_available_points",
            "Cost points left in the shop's bucket at the last Admin response.",
            registry=self.registry,
        )
        self.admin_seconds = Histogram(
            "ordergate_admin_call_duration_seconds",
            "Admin API call latency.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audit_queue_depth = Gauge(
            "ordergate_audit_queue_depth",
            "Audit events waiting for the background writer.",
            registry=self.registry,
        )
        self.audit_flush_seconds = Histogram(
            "ordergate_audit_flush_duration_seconds",
            "Time to write one batch of audit events.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audit_events_written = Counter(
            "ordergate_audit_events_written_total",
            "Audit events written by the background writer.",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "ordergate_rate_limited_total",
            "Requests refused by a rate limit, by limit.",
            ["limit"],
            registry=self.registry,
        )

        self.admin_throttle_waits = Histogram(
            "ordergate_admin_throttle_wait_seconds",
            "Time Admin calls waited for cost points in the shared bucket.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.order_cache = Counter(
            "ordergate_order_cache_total",
            "Order snapshot cache lookups by event (hit, miss, coalesced).",
            ["event"],
            registry=self.registry,
        )

    def observe_order_cache(self, event: str) -> None:
        """Record one cache lookup."""
        self.order_cache.labels(event).inc()

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
