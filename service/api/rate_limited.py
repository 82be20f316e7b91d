"""The whole rate-limited path in one place (CONTRACT §1): the per-client limit at the door,
the per-order limit a use case raises as `RateLimited`, and the one HTTP 429 both become."""

from __future__ import annotations

from typing import Any, cast

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from service.api.guard import graphql_error
from service.messages import negotiate
from service.ratelimit import CLIENT_LIMIT, LimitsUnavailable, RateLimited
from service.runtime import Runtime


def body(*, retry_after: int, message: str) -> dict[str, Any]:
    """The RATE_LIMITED body of CONTRACT §1."""
    extensions = {"code": "RATE_LIMITED", "retryAfter": retry_after}
    return {"errors": [{"message": message, "extensions": extensions}]}


def response(*, retry_after: int, message: str) -> JSONResponse:
    """HTTP 429 with `Retry-After` and the RATE_LIMITED body."""
    return JSONResponse(
        body(retry_after=retry_after, message=message),
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


def _message(request: Request, *, limit: str, retry_after: int) -> str:
    """Counts the rejection and says it in the customer's language."""
    runtime = Runtime.of(request)
    runtime.metrics.rate_limited.labels(limit).inc()
    locale = negotiate(request.headers.get("accept-language"))
    return runtime.messages.rate_limited(locale, retry_after_seconds=retry_after)


async def admit(request: Request) -> Response | None:
    """The per-client limit, decided before anything else happens for the request."""
    runtime = Runtime.of(request)
    address = request.state.client_address
    try:
        verdict = await runtime.limits.hit_client(address or "unknown")
    except LimitsUnavailable:
        return graphql_error(503, "Service temporarily unavailable.", "UPSTREAM_UNAVAILABLE")
    if verdict.allowed:
        return None
    message = _message(request, limit=CLIENT_LIMIT, retry_after=verdict.retry_after)
    return response(retry_after=verdict.retry_after, message=message)


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
    sub_response.status_code = 429
    sub_response.headers["Retry-After"] = str(limited.retry_after)
    message = _message(request, limit=limited.limit, retry_after=limited.retry_after)
    # Not a GraphQL result but CONTRACT §1's body, which Strawberry serialises all the same.
    return cast(GraphQLHTTPResponse, body(retry_after=limited.retry_after, message=message))
