"""The whole rate-limited path in one place (CONTRACT §1): the per-client limit at the door,
the per-order limit a use case raises as `RateLimited`, and the one HTTP 429 both become."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from service.api.guard import error_body
from service.messages import negotiate
from service.ratelimit import CLIENT_LIMIT, ClientCount, LimitsUnavailable, RateLimited
from service.runtime import Runtime


def body(*, retry_after: int, message: str) -> dict[str, Any]:
    """The RATE_LIMITED body of CONTRACT §1."""
    extensions = {"code": "RATE_LIMITED", "retryAfter": retry_after}
    return {"errors": [{"message": message, "extensions": extensions}]}


def _message(request: Request, *, limit: str, retry_after: int) -> str:
    """Counts the rejection and says it in the customer's language."""
    runtime = Runtime.of(request)
    runtime.metrics.rate_limited.labels(limit).inc()
    locale = negotiate(request.headers.get("accept-language"))
    return runtime.messages.rate_limited(locale, retry_after_seconds=retry_after)


async def admit(request: Request) -> Response | None:
    """The per-client limit, decided before anything else happens for the request, unless
    this replica last saw the client with room to spare: then the request's count rides with
    its first per-order check (one Redis round trip for both), or is taken when it ends."""
    limits = Runtime.of(request).limits
    count = limits.client_count(request.state.client_address or "unknown")
    request.state.client_count = count
    if limits.may_defer(count):
        return None
    return await settle(request)


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A request refused by its per-client count, before or after its document ran."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


async def settle(request: Request) -> Response | None:
    """Take the request's per-client count if it is still pending: the 429 (or, with Redis
    unreachable and no fallback, the 503) when that refuses the request, else None."""
    refusal = await _settled(request)
    if refusal is None:
        return None
    return JSONResponse(refusal.body, status_code=refusal.status, headers=refusal.headers)


async def settled_result(request: Request, sub_response: Response) -> GraphQLHTTPResponse | None:
    """`settle` for a request whose document ran without taking its count: the refusal's
    status, headers and body in place of the result, else None."""
    refusal = await _settled(request)
    return None if refusal is None else _in_place_of_result(sub_response, refusal)


def _in_place_of_result(sub_response: Response, refusal: _Refusal) -> GraphQLHTTPResponse:
    """The refusal's status and headers on the response, its body for Strawberry to write:
    not a GraphQL result but CONTRACT §1's body, which Strawberry serialises all the same."""
    sub_response.status_code = refusal.status
    sub_response.headers.update(refusal.headers)
    return cast(GraphQLHTTPResponse, refusal.body)


def _too_many(request: Request, *, limit: str, retry_after: int) -> _Refusal:
    """The 429 of CONTRACT §1 for `limit`, counted and in the customer's language."""
    message = _message(request, limit=limit, retry_after=retry_after)
    headers = {"Retry-After": str(retry_after)}
    return _Refusal(429, body(retry_after=retry_after, message=message), headers)


async def _settled(request: Request) -> _Refusal | None:
    count: ClientCount | None = getattr(request.state, "client_count", None)
    if count is None:
        return None
    try:
        verdict = await Runtime.of(request).limits.settle(count)
    except LimitsUnavailable:
        return _Refusal(
            503, error_body("Service temporarily unavailable.", "UPSTREAM_UNAVAILABLE"), {}
        )
    if verdict.allowed:
        return None
    return _too_many(request, limit=CLIENT_LIMIT, retry_after=verdict.retry_after)


def is_rate_limited(error: GraphQLError) -> bool:
    """A resolver's error that must become the 429, not a masked "Unexpected error"."""
    return isinstance(error.original_error, RateLimited)


def raised_in(result: ExecutionResult) -> RateLimited | None:
    """The limit a use case hit while the document executed, if any."""
    for error in result.errors or ():
        if isinstance(error.original_error, RateLimited):
            return error.original_error
    return None


def answer(request: Request, sub_response: Response, limited: RateLimited) -> GraphQLHTTPResponse:
    """Turn the GraphQL response into the 429: status, `Retry-After`, and its body."""
    refusal = _too_many(request, limit=limited.limit, retry_after=limited.retry_after)
    return _in_place_of_result(sub_response, refusal)
