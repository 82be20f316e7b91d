"""AdminClient against a scripted Shopify over loopback HTTP: success, every failure, throttling."""

from __future__ import annotations

import json
import logging
import time

import aiohttp
import pytest

from service.admin.client import AdminCall
from service.admin.cost import ThrottleStatus
from service.admin.errors import ErrorKind, OperationNotAllowed, UpstreamUnavailable
from service.logs import JsonFormatter
from tests.admin.scripted_server import (
    GRAPHQL_PATH,
    STATIC_TOKEN,
    ClientFactory,
    Reply,
    ScriptedServer,
)
from tests.admin.shopify_bodies import JOB_ID, ok, throttled

SECRET_TEXT = "sk_live_51HnotReallyASecretButLooksLikeOne"
LEAKY_ERROR = f"[API] Invalid API key or access token {STATIC_TOKEN} {SECRET_TEXT}"
JOB = ok({"job": {"id": JOB_ID, "done": True}}, requested=1, actual=1)


def assert_safe(error: UpstreamUnavailable) -> None:
    """The exception carries neither the token nor any of the server's error text."""
    for text in (str(error), repr(error), *map(str, error.args)):
        assert STATIC_TOKEN not in text
        assert SECRET_TEXT not in text
        assert "Invalid API key" not in text
    # No chained aiohttp exception either: theirs can carry the request headers.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


async def test_success_returns_data_and_cost(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=JOB))

    response = await make_client().execute("Job", {"id": JOB_ID})

    assert response.data == {"job": {"id": JOB_ID, "done": True}}
    assert response.call.requested_cost == 1
    assert response.call.actual_cost == 1
    assert response.call.throttle == ThrottleStatus(2000.0, 1988.0, 100.0)
    assert response.call.outcome == "ok"


async def test_every_attempt_is_reported_through_on_call(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=JOB))

    response = await make_client().execute("Job", {"id": JOB_ID})

    assert make_client.calls == [response.call]


async def test_request_carries_document_variables_operation_name_and_token(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=JOB))
    client = make_client()

    await client.execute("Job", {"id": JOB_ID})

    (request,) = server.requests_to(GRAPHQL_PATH)
    body = request.json()
    assert body["operationName"] == "Job"
    assert body["variables"] == {"id": JOB_ID}
    assert body["query"] == make_client.registry.get("Job").document
    assert request.headers["X-Shopify-Access-Token"] == STATIC_TOKEN
    assert request.headers["Content-Type"] == "application/json"


async def test_unknown_operation_sends_nothing(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    with pytest.raises(OperationNotAllowed):
        await make_client().execute("productDelete", {})

    assert server.requests == []


async def test_static_token_rejected_is_unauthorized(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(status=401, body={"errors": LEAKY_ERROR}))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert_safe(caught.value)
    assert len(server.requests_to(GRAPHQL_PATH)) == 1


async def test_server_error_is_http_status(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(status=500, body={"errors": LEAKY_ERROR}))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.HTTP_STATUS
    assert caught.value.status == 500
    assert_safe(caught.value)


async def test_html_error_page_is_http_status(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(status=502, body=f"<html>{LEAKY_ERROR}</html>"))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.HTTP_STATUS
    assert_safe(caught.value)


async def test_slow_answer_is_a_timeout(server: ScriptedServer, make_client: ClientFactory) -> None:
    server.script(GRAPHQL_PATH, Reply(body=JOB, delay=1.0))
    client = make_client(timeout=aiohttp.ClientTimeout(total=0.1))

    with pytest.raises(UpstreamUnavailable) as caught:
        await client.execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert_safe(caught.value)
    assert make_client.calls[0].outcome == "timeout"


async def test_refused_connection_is_a_connection_error(
    make_client: ClientFactory, refused_url: str
) -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client(endpoint=refused_url).execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.CONNECTION
    assert_safe(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        f"not json {LEAKY_ERROR}",
        ["a", "list"],
        {"extensions": {"note": LEAKY_ERROR}},
        {"data": None},
        {"data": [LEAKY_ERROR]},
    ],
)
async def test_body_without_usable_data_is_malformed(
    server: ScriptedServer, make_client: ClientFactory, body: object
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=body))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.MALFORMED
    assert_safe(caught.value)


async def test_graphql_errors_are_reported_by_code_only(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    errors = [
        {"message": LEAKY_ERROR, "extensions": {"code": "ACCESS_DENIED"}},
        {"message": "x", "extensions": {"code": f"free text {SECRET_TEXT}"}},
    ]
    server.script(GRAPHQL_PATH, Reply(body={"data": {"job": None}, "errors": errors}))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.GRAPHQL_ERRORS
    assert caught.value.codes == ("ACCESS_DENIED",)
    assert_safe(caught.value)


async def test_throttled_call_is_retried_after_the_bucket_refills(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    # 50 points missing at 100 points per second: half a second.
    server.script(
        GRAPHQL_PATH,
        Reply(body=throttled(requested=52, available=2.0)),
        Reply(body=JOB),
    )
    started = time.monotonic()

    response = await make_client(throttle_wait_limit=2.0).execute("Job", {"id": JOB_ID})

    assert response.data["job"]["done"] is True
    assert 0.45 <= time.monotonic() - started < 1.5
    assert [call.outcome for call in make_client.calls] == ["throttled", "ok"]


async def test_throttled_call_needing_more_than_the_limit_fails_at_once(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    # 950 points missing at 50 points per second: 19 s, past the 1 s limit.
    server.script(
        GRAPHQL_PATH, Reply(body=throttled(requested=1000, available=50.0, restore_rate=50.0))
    )

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client(throttle_wait_limit=1.0).execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.THROTTLED
    assert len(server.requests_to(GRAPHQL_PATH)) == 1


async def test_throttled_retries_stop_when_their_waits_add_up_past_the_limit(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    # Each answer asks for 0.3 s: the first two fit a 0.7 s limit, the third does not.
    still_throttled = Reply(body=throttled(requested=40, available=10.0))
    server.script(GRAPHQL_PATH, still_throttled, still_throttled, still_throttled, Reply(body=JOB))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client(throttle_wait_limit=0.7).execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.THROTTLED
    assert len(server.requests_to(GRAPHQL_PATH)) == 3


async def test_throttled_without_a_throttle_status_is_not_retried(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    body = throttled(requested=10, available=0.0)
    del body["extensions"]
    server.script(GRAPHQL_PATH, Reply(body=body), Reply(body=JOB))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.THROTTLED
    assert len(server.requests_to(GRAPHQL_PATH)) == 1


async def test_http_429_is_throttled(server: ScriptedServer, make_client: ClientFactory) -> None:
    server.script(GRAPHQL_PATH, Reply(status=429, body={"errors": LEAKY_ERROR}))

    with pytest.raises(UpstreamUnavailable) as caught:
        await make_client().execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.THROTTLED
    assert_safe(caught.value)


async def test_each_call_is_logged_with_cost_and_without_token_or_variables(
    server: ScriptedServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=ok({"orders": {"nodes": []}}, requested=52, actual=3)))
    caplog.set_level(logging.INFO, logger="ordergate.admin")

    await make_client().execute("OrderLookup", {"query": "email:kari@example.com"})

    (record,) = [r for r in caplog.records if r.name == "ordergate.admin"]
    line = JsonFormatter().format(record)
    logged = json.loads(line)
    assert logged["operation"] == "OrderLookup"
    assert logged["outcome"] == "ok"
    assert (logged["cost_requested"], logged["cost_actual"]) == (52, 3)
    assert "kari@example.com" not in line
    assert STATIC_TOKEN not in line


async def test_failed_call_log_omits_shopify_error_text(
    server: ScriptedServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    errors = [{"message": LEAKY_ERROR, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    server.script(GRAPHQL_PATH, Reply(body={"errors": errors}))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(UpstreamUnavailable):
        await make_client().execute("Job", {"id": JOB_ID})

    lines = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert '"outcome": "graphql_errors"' in lines
    assert SECRET_TEXT not in lines
    assert STATIC_TOKEN not in lines


def test_admin_call_is_immutable() -> None:
    call = AdminCall("Job", 1, 1, None, 0.01, "ok")

    with pytest.raises(AttributeError):
        call.outcome = "changed"  # type: ignore[misc]


async def test_observed_client_reports_to_its_observer_and_the_original(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=JOB))
    observed: list[AdminCall] = []

    response = await make_client().observed_by(observed.append).execute("Job", {"id": JOB_ID})

    assert observed == [response.call]
    assert make_client.calls == [response.call]
