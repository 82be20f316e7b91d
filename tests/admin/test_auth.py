"""Token providers: the client-credentials grant, caching, renewal on 401 and ahead of expiry."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from pydantic import SecretStr

from service.admin.auth import ClientCredentials, StaticToken, renew_after, token_url_for
from service.admin.errors import ErrorKind, UpstreamUnavailable
from tests.admin.scripted_server import (
    GRAPHQL_PATH,
    TOKEN_PATH,
    ClientFactory,
    Recorded,
    Reply,
    ScriptedServer,
)
from tests.admin.shopify_bodies import JOB_ID, ok

CLIENT_ID = "3f1c0d9e2b7a4c6d8e0f1a2b3c4d5e6f"
CLIENT_SECRET = "shpss_0123456789abcdef0123456789abcdef"
JOB = ok({"job": {"id": JOB_ID, "done": False}}, requested=1, actual=1)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def issue_tokens(server: ScriptedServer, *, expires_in: int = 86399) -> None:
    """The token endpoint hands out shpat_1, shpat_2, ... in order."""

    def respond(_: Recorded) -> Reply:
        number = len(server.requests_to(TOKEN_PATH))
        body = {"access_token": f"shpat_{number}", "scope": "read_orders", "expires_in": expires_in}
        return Reply(body=body)

    server.responders[TOKEN_PATH] = respond


def accept_only(server: ScriptedServer, token: str) -> None:
    """The Admin endpoint answers 401 to every token but `token`."""

    def respond(request: Recorded) -> Reply:
        if request.headers.get("X-Shopify-Access-Token") != token:
            return Reply(status=401, body={"errors": "[API] Invalid API key or access token"})
        return Reply(body=JOB)

    server.responders[GRAPHQL_PATH] = respond


def credentials(
    session: aiohttp.ClientSession, server: ScriptedServer, clock: FakeClock | None = None
) -> ClientCredentials:
    return ClientCredentials(
        session,
        server.token_url,
        CLIENT_ID,
        SecretStr(CLIENT_SECRET),
        clock=clock or FakeClock(),
    )


def test_token_url_is_on_the_admin_endpoints_origin() -> None:
    endpoint = "https://my-shop.myshopify.com/admin/api/2026-10/graphql.json"

    assert token_url_for(endpoint) == "https://my-shop.myshopify.com/admin/oauth/access_token"


def test_token_url_needs_an_absolute_endpoint() -> None:
    with pytest.raises(ValueError, match="absolute"):
        token_url_for("/admin/api/2026-10/graphql.json")


@pytest.mark.parametrize(
    ("lifetime", "margin", "expected"),
    [
        (86399, 300, 77759.1),  # a day: 90% comes long before the last five minutes
        (1000, 300, 700),  # the margin comes first
        (1000, 50, 900),  # 90% comes first
        (100, 300, 50),  # shorter than the margin: at half its life
    ],
)
def test_renew_after(lifetime: float, margin: float, expected: float) -> None:
    assert renew_after(lifetime, margin=margin) == pytest.approx(expected)


async def test_client_credentials_posts_the_grant_as_a_form(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    issue_tokens(server)

    token = await credentials(session, server).token()

    (request,) = server.requests_to(TOKEN_PATH)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert token == "shpat_1"


async def test_token_is_cached(server: ScriptedServer, session: aiohttp.ClientSession) -> None:
    issue_tokens(server)
    provider = credentials(session, server)

    tokens = [await provider.token() for _ in range(3)]

    assert tokens == ["shpat_1"] * 3
    assert len(server.requests_to(TOKEN_PATH)) == 1


async def test_concurrent_first_calls_fetch_one_token(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    server.script(
        TOKEN_PATH, Reply(body={"access_token": "shpat_1", "expires_in": 3600}, delay=0.1)
    )
    provider = credentials(session, server)

    tokens = await asyncio.gather(*(provider.token() for _ in range(10)))

    assert set(tokens) == {"shpat_1"}
    assert len(server.requests_to(TOKEN_PATH)) == 1


async def test_token_is_renewed_ahead_of_expiry(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    issue_tokens(server, expires_in=1000)
    clock = FakeClock()
    provider = credentials(session, server, clock)
    await provider.token()

    clock.now += 699
    before = await provider.token()
    clock.now += 2
    after = await provider.token()

    assert (before, after) == ("shpat_1", "shpat_2")


async def test_failed_renewal_keeps_a_token_that_has_not_expired(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    server.script(
        TOKEN_PATH,
        Reply(body={"access_token": "shpat_1", "expires_in": 1000}),
        Reply(status=503, body="maintenance"),
    )
    clock = FakeClock()
    provider = credentials(session, server, clock)
    await provider.token()
    clock.now += 800

    assert await provider.token() == "shpat_1"


async def test_failed_renewal_of_an_expired_token_is_upstream_unavailable(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    server.script(
        TOKEN_PATH,
        Reply(body={"access_token": "shpat_1", "expires_in": 1000}),
        Reply(status=503, body="maintenance"),
    )
    clock = FakeClock()
    provider = credentials(session, server, clock)
    await provider.token()
    clock.now += 1001

    with pytest.raises(UpstreamUnavailable) as caught:
        await provider.token()

    assert caught.value.kind is ErrorKind.HTTP_STATUS


async def test_rejected_credentials_are_unauthorized_and_secret_free(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    leaky = {"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET}"}
    server.script(TOKEN_PATH, Reply(status=400, body=leaky))

    with pytest.raises(UpstreamUnavailable) as caught:
        await credentials(session, server).token()

    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    for text in (str(caught.value), repr(caught.value)):
        assert CLIENT_SECRET not in text
        assert "bad secret" not in text


@pytest.mark.parametrize(
    "body",
    ["not json", {"scope": "read_orders"}, {"access_token": ""}, {"access_token": 42}],
)
async def test_token_answer_without_a_token_is_malformed(
    server: ScriptedServer, session: aiohttp.ClientSession, body: object
) -> None:
    server.script(TOKEN_PATH, Reply(body=body))

    with pytest.raises(UpstreamUnavailable) as caught:
        await credentials(session, server).token()

    assert caught.value.kind is ErrorKind.MALFORMED


async def test_token_without_expires_in_is_kept_until_rejected(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    server.script(TOKEN_PATH, Reply(body={"access_token": "shpat_1"}))
    clock = FakeClock()
    provider = credentials(session, server, clock)
    await provider.token()
    clock.now += 10**9

    assert await provider.token() == "shpat_1"


async def test_renew_replaces_the_rejected_token(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    issue_tokens(server)
    provider = credentials(session, server)
    first = await provider.token()

    renewed = await provider.renew(rejected=first)

    assert renewed == "shpat_2"
    assert await provider.token() == "shpat_2"


async def test_renew_of_an_already_replaced_token_reuses_the_new_one(
    server: ScriptedServer, session: aiohttp.ClientSession
) -> None:
    issue_tokens(server)
    provider = credentials(session, server)
    first = await provider.token()
    second = await provider.renew(rejected=first)

    assert await provider.renew(rejected=first) == second
    assert len(server.requests_to(TOKEN_PATH)) == 2


async def test_401_renews_the_token_and_retries_once(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    issue_tokens(server)
    accept_only(server, "shpat_2")
    client = make_client(auth=credentials(make_client.session, server))

    response = await client.execute("Job", {"id": JOB_ID})

    assert response.data["job"]["id"] == JOB_ID
    sent = [r.headers["X-Shopify-Access-Token"] for r in server.requests_to(GRAPHQL_PATH)]
    assert sent == ["shpat_1", "shpat_2"]
    assert [call.outcome for call in make_client.calls] == ["unauthorized", "ok"]


async def test_401_after_renewal_is_unauthorized(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    issue_tokens(server)
    accept_only(server, "never-issued")
    client = make_client(auth=credentials(make_client.session, server))

    with pytest.raises(UpstreamUnavailable) as caught:
        await client.execute("Job", {"id": JOB_ID})

    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert len(server.requests_to(GRAPHQL_PATH)) == 2
    assert len(server.requests_to(TOKEN_PATH)) == 2


async def test_ten_concurrent_401s_renew_the_token_once(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    issue_tokens(server)
    accept_only(server, "shpat_2")
    client = make_client(auth=credentials(make_client.session, server))

    responses = await asyncio.gather(*(client.execute("Job", {"id": JOB_ID}) for _ in range(10)))

    assert len(responses) == 10
    sent = [r.headers["X-Shopify-Access-Token"] for r in server.requests_to(GRAPHQL_PATH)]
    assert sent.count("shpat_1") == 10
    # One token for the first calls, one renewal for all ten rejections.
    assert len(server.requests_to(TOKEN_PATH)) == 2


async def test_static_token_cannot_be_renewed() -> None:
    provider = StaticToken(SecretStr("shpat_static"))

    with pytest.raises(UpstreamUnavailable) as caught:
        await provider.renew(rejected="shpat_static")

    assert caught.value.kind is ErrorKind.UNAUTHORIZED


async def test_providers_do_not_show_their_secrets(session: aiohttp.ClientSession) -> None:
    static = StaticToken(SecretStr("shpat_static"))
    grant = ClientCredentials(
        session, "https://x/admin/oauth/access_token", CLIENT_ID, SecretStr(CLIENT_SECRET)
    )

    assert "shpat_static" not in repr(static)
    assert CLIENT_SECRET not in repr(grant)
