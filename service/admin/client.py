"""The Shopify Admin GraphQL client: allow-listed operations, token renewal, throttle retries."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from service.admin.auth import TokenProvider
from service.admin.cost import QueryCost, ThrottleStatus, parse_cost, seconds_until_available
from service.admin.errors import ErrorKind, UpstreamUnavailable
from service.admin.operations import OperationRegistry
from service.admin.throttle import Gate

logger = logging.getLogger("ordergate.admin")

OUTCOME_OK = "ok"
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)
# Retrying a throttled call costs Shopify nothing, but a loop that never waits must still end.
_MAX_THROTTLE_RETRIES = 5
_MIN_THROTTLE_WAIT = 0.05
# Before an operation has reported its cost once, the gate assumes this many points.
_UNKNOWN_COST = 50
_NOTICEABLE_WAIT = 0.001


@dataclass(frozen=True, slots=True)
class AdminCall:
    """One HTTP attempt at an Admin operation, for metrics and the audit log."""

    operation: str
    requested_cost: int | None
    actual_cost: int | None
    throttle: ThrottleStatus | None
    duration_seconds: float
    outcome: str


@dataclass(frozen=True, slots=True)
class AdminResponse:
    """The `data` of a successful operation and the attempt that produced it."""

    data: dict[str, Any]
    call: AdminCall


@dataclass(frozen=True, slots=True)
class _Exchange:
    """What one HTTP attempt brought back: a parsed body, or the way it failed."""

    status: int | None
    payload: Any
    failure: ErrorKind | None
    duration: float


def _error_codes(errors: object) -> list[object]:
    if not isinstance(errors, list):
        return []
    codes: list[object] = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict):
            codes.append(extensions.get("code"))
    return codes


def _classify(exchange: _Exchange) -> ErrorKind | None:
    """None for a usable answer, otherwise why it is not one."""
    if exchange.failure is not None:
        return exchange.failure
    if exchange.status == 401:
        return ErrorKind.UNAUTHORIZED
    if exchange.status == 429:
        return ErrorKind.THROTTLED
    if exchange.status != 200:
        return ErrorKind.HTTP_STATUS
    payload = exchange.payload
    if not isinstance(payload, dict):
        return ErrorKind.MALFORMED
    if payload.get("errors"):
        throttled = "THROTTLED" in _error_codes(payload["errors"])
        return ErrorKind.THROTTLED if throttled else ErrorKind.GRAPHQL_ERRORS
    return None if isinstance(payload.get("data"), dict) else ErrorKind.MALFORMED


def _cost(exchange: _Exchange) -> QueryCost | None:
    payload = exchange.payload
    return parse_cost(payload.get("extensions")) if isinstance(payload, dict) else None


class AdminClient:
    """Sends allow-listed operations to one shop's Admin GraphQL endpoint."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        endpoint: str,
        auth: TokenProvider,
        operations: OperationRegistry,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        on_call: Callable[[AdminCall], None] | None = None,
        throttle_wait_limit: float = 5.0,
        gate: Gate | None = None,
        on_throttle_wait: Callable[[float], None] | None = None,
        expected_costs: dict[str, int] | None = None,
    ) -> None:
        self._session = session
        self._endpoint = endpoint
        self._auth = auth
        self._operations = operations
        self._timeout = timeout
        self._on_call = on_call
        self._throttle_wait_limit = throttle_wait_limit
        self._gate = gate
        self._on_throttle_wait = on_throttle_wait
        # The requested cost each operation last reported, shared by every copy of the
        # client: the gate needs it before the first answer tells.
        self._expected_costs = expected_costs if expected_costs is not None else {}

    def __repr__(self) -> str:
        return f"AdminClient(endpoint={self._endpoint!r})"

    def observed_by(self, observer: Callable[[AdminCall], None]) -> AdminClient:
        """The same client, also reporting each call to `observer` (e.g. one request's audit)."""
        on_call = self._on_call

        def both(call: AdminCall) -> None:
            if on_call is not None:
                on_call(call)
            observer(call)

        return AdminClient(
            self._session,
            endpoint=self._endpoint,
            auth=self._auth,
            operations=self._operations,
            timeout=self._timeout,
            on_call=both,
            throttle_wait_limit=self._throttle_wait_limit,
            gate=self._gate,
            on_throttle_wait=self._on_throttle_wait,
            expected_costs=self._expected_costs,
        )

    async def execute(
        self, name: str, variables: Mapping[str, object], *, for_action: bool = False
    ) -> AdminResponse:
        """Runs operation `name`; UpstreamUnavailable for every way Shopify can fail.

        Mutations, and reads `for_action` (the fresh read a cancellation decides on), may
        spend the points that other reads leave in the bucket for them.
        """
        operation = self._operations.get(name)
        body = {"query": operation.document, "variables": dict(variables), "operationName": name}
        token = await self._auth.token()
        renewed = False
        waited = 0.0
        throttle_retries = 0
        deadline = time.monotonic() + self._throttle_wait_limit
        while True:
            await self._admit(
                name, is_mutation=operation.is_mutation or for_action, deadline=deadline
            )
            exchange = await self._exchange(body, token)
            kind = _classify(exchange)
            cost = _cost(exchange)
            await self._learn(name, cost)
            call = self._report(name, exchange, cost, kind)
            if kind is None:
                return AdminResponse(data=exchange.payload["data"], call=call)
            if kind is ErrorKind.UNAUTHORIZED and not renewed:
                renewed = True
                token = await self._auth.renew(rejected=token)
                continue
            if kind is ErrorKind.THROTTLED and throttle_retries < _MAX_THROTTLE_RETRIES:
                if self._gate is not None:
                    throttle_retries += 1
                    continue  # the gate, told the bucket is empty, waits as long as it needs
                wait = self._throttle_wait(cost, waited=waited)
                if wait is not None:
                    throttle_retries += 1
                    waited += wait
                    await asyncio.sleep(wait)
                    continue
            raise self._failure(name, kind, exchange)

    async def _admit(self, name: str, *, is_mutation: bool, deadline: float) -> None:
        if self._gate is None:
            return
        started = time.monotonic()
        await self._gate.acquire(
            cost=self._expected_costs.get(name, _UNKNOWN_COST),
            is_mutation=is_mutation,
            max_wait=max(0.0, deadline - started),
            operation=name,
        )
        waited = time.monotonic() - started
        if waited > _NOTICEABLE_WAIT and self._on_throttle_wait is not None:
            self._on_throttle_wait(waited)

    async def _learn(self, name: str, cost: QueryCost | None) -> None:
        if cost is None:
            return
        if cost.requested is not None:
            self._expected_costs[name] = cost.requested
        if cost.throttle is not None and self._gate is not None:
            await self._gate.update(cost.throttle)

    def _throttle_wait(self, cost: QueryCost | None, *, waited: float) -> float | None:
        """Seconds to wait before retrying a throttled call, or None when that exceeds the limit."""
        if cost is None or cost.throttle is None or cost.requested is None:
            return None
        wait = max(
            seconds_until_available(cost.throttle, needed=cost.requested), _MIN_THROTTLE_WAIT
        )
        return wait if waited + wait <= self._throttle_wait_limit else None

    @staticmethod
    def _failure(name: str, kind: ErrorKind, exchange: _Exchange) -> UpstreamUnavailable:
        payload = exchange.payload
        errors = payload.get("errors") if isinstance(payload, dict) else None
        codes = _error_codes(errors) if kind is ErrorKind.GRAPHQL_ERRORS else []
        status = exchange.status if exchange.status not in (None, 200) else None
        return UpstreamUnavailable(kind, operation=name, status=status, codes=codes)

    async def _exchange(self, body: Mapping[str, object], token: str) -> _Exchange:
        headers = {
            "X-Shopify-Access-Token": token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        started = time.perf_counter()
        status: int | None = None
        try:
            async with self._session.post(
                self._endpoint, data=json.dumps(body), headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            return _Exchange(status, None, ErrorKind.TIMEOUT, time.perf_counter() - started)
        except aiohttp.ClientError:
            return _Exchange(status, None, ErrorKind.CONNECTION, time.perf_counter() - started)
        duration = time.perf_counter() - started
        try:
            return _Exchange(status, json.loads(raw), None, duration)
        except ValueError:
            # A non-JSON error page is still an HTTP error first.
            failure = ErrorKind.MALFORMED if status == 200 else None
            return _Exchange(status, None, failure, duration)

    def _report(
        self, name: str, exchange: _Exchange, cost: QueryCost | None, kind: ErrorKind | None
    ) -> AdminCall:
        call = AdminCall(
            operation=name,
            requested_cost=cost.requested if cost else None,
            actual_cost=cost.actual if cost else None,
            throttle=cost.throttle if cost else None,
            duration_seconds=exchange.duration,
            outcome=OUTCOME_OK if kind is None else kind.value,
        )
        logger.info(
            "admin call",
            extra={
                "operation": call.operation,
                "outcome": call.outcome,
                "cost_requested": call.requested_cost,
                "cost_actual": call.actual_cost,
                "duration_ms": round(call.duration_seconds * 1000, 1),
            },
        )
        if self._on_call is not None:
            self._on_call(call)
        return call
