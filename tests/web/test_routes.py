"""What the app serves to browsers: the element in every mode; the demo page and GraphiQL, from
the wheel's own assets, only in dev."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service.app import create_app
from service.customer_input import (
    CANCELLATION_COMMENT_LIMIT,
    CONTACT_LIMIT,
    NOT_RECEIVED_COMMENT_LIMIT,
    ORDER_NUMBER_LIMIT,
)
from service.sandbox.demo import DEMO_ORDERS
from service.sandbox.server import SandboxShop
from service.web_assets import ELEMENT_SCRIPT, FAVICON_LINK
from tests.api.conftest import sandbox_settings, serving
from tests.conftest import DatabaseFactory
from tests.web.conftest import WEB

PRODUCTION = {
    "ORDERGATE_ENV": "production",
    "SHOPIFY_SHOP": "demo.myshopify.com",
    "ORDERGATE_SECRET_KEY": "k" * 32,
    "SMTP_URL": "smtp://127.0.0.1:9",  # nothing connects at start-up
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def dev(database_url: str, sandbox: SandboxShop) -> AsyncIterator[str]:
    async with serving(create_app(sandbox_settings(database_url, sandbox))) as url:
        yield url


@pytest.fixture
async def production(make_database: DatabaseFactory, sandbox: SandboxShop) -> AsyncIterator[str]:
    settings = sandbox_settings(await make_database(), sandbox, **PRODUCTION)
    async with serving(create_app(settings)) as url:
        yield url


async def test_the_element_is_served_as_a_cacheable_module(
    dev: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{dev}/elements/ordergate.js", headers={"Origin": "https://shop"}) as r:
        body = await r.read()
        headers = r.headers
    assert r.status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert "ETag" in headers
    assert headers["Access-Control-Allow-Origin"] == "*"  # a module script is fetched with CORS
    assert body == ELEMENT_SCRIPT.read_bytes()
    assert b"ordergate-order" in body


async def test_a_revalidation_of_a_current_copy_is_304_without_the_file(
    dev: str, http: aiohttp.ClientSession
) -> None:
    for path in ("/elements/ordergate.js", "/graphiql/graphiql.min.js"):
        async with http.get(f"{dev}{path}") as first:
            etag = first.headers["ETag"]
        async with http.get(f"{dev}{path}", headers={"If-None-Match": etag}) as again:
            assert again.status == 304, path
            assert again.headers["ETag"] == etag
            assert await again.read() == b""
        async with http.get(f"{dev}{path}", headers={"If-None-Match": '"stale"'}) as stale:
            assert stale.status == 200, path


async def test_production_serves_the_element_and_nothing_for_developers(
    production: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{production}/elements/ordergate.js") as element:
        assert element.status == 200
    for path in ("/", "/graphiql/graphiql.min.js", "/graphiql/graphiql-start.js", "/dev/mail"):
        async with http.get(f"{production}{path}") as response:
            assert response.status == 404, path
    async with http.get(f"{production}/graphql", headers={"Accept": "text/html"}) as ide:
        assert "graphiql" not in (await ide.text()).lower()


async def test_demo_page_lists_every_demo_order_beside_the_element(
    dev: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{dev}/?lang=nb&order=1008") as response:
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert '<html lang="nb">' in page
    assert '<script type="module" src="/elements/ordergate.js"></script>' in page
    assert (
        '<ordergate-order endpoint="/graphql" order-number="#1008" '
        'contact="henrik.olsen@example.com">' in page
    )
    assert all(order.number in page and order.contact in page for order in DEMO_ORDERS)
    assert "script-src" not in policy
    assert "default-src 'self'" in policy
    # The README's words for each order (tests/web/test_readme_tables.py), code spans as <code>.
    assert "VERIFICATION_REQUIRED, a code at <code>/dev/mail</code>; with it, cancelled" in page
    for order in DEMO_ORDERS:
        assert order.what_to_try.split("`")[0].replace("'", "&#x27;") in page
    # Its own icon, which the policy allows, so the browser asks for no /favicon.ico.
    assert FAVICON_LINK in page
    assert "img-src 'self' data:" in policy


def test_the_elements_inputs_stop_at_the_servers_limits() -> None:
    """maxlength in the element is the server's own limit, so a paste is cut, never refused."""
    source = (WEB / "src" / "views.ts").read_text()
    limits = {name: int(value) for name, value in re.findall(r"const (\w+_MAX) = (\d+);", source)}
    assert limits == {
        "ORDER_NUMBER_MAX": ORDER_NUMBER_LIMIT,
        "CONTACT_MAX": CONTACT_LIMIT,
        "CANCEL_COMMENT_MAX": CANCELLATION_COMMENT_LIMIT,
        "REPORT_COMMENT_MAX": NOT_RECEIVED_COMMENT_LIMIT,
    }


@pytest.mark.parametrize(
    ("accept_language", "query", "lang"),
    [("da", "", "da"), ("nl-NL,nl;q=0.9", "", "nl"), ("nb", "?lang=en", "en"), ("fr", "", "en")],
)
async def test_demo_page_speaks_the_four_languages(
    dev: str, http: aiohttp.ClientSession, accept_language: str, query: str, lang: str
) -> None:
    headers = {"Accept-Language": accept_language}
    async with http.get(f"{dev}/{query}", headers=headers) as response:
        assert f'<html lang="{lang}">' in await response.text()


async def test_demo_page_prefills_only_demo_orders(dev: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f'{dev}/?order="><script>alert(1)</script>') as response:
        page = await response.text()
    assert '<ordergate-order endpoint="/graphql">' in page
    assert "<script>alert" not in page


async def test_graphiql_loads_nothing_but_this_origin(
    dev: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{dev}/graphql", headers={"Accept": "text/html"}) as response:
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert response.status == 200
    assert policy.startswith("default-src 'self'")
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    icons = [reference for reference in references if reference.startswith("data:")]
    references = [reference for reference in references if not reference.startswith("data:")]
    assert icons == [FAVICON_LINK.split('href="')[1].rstrip('">')]
    assert "img-src 'self' data:" in policy  # the inline icon is allowed: no /favicon.ico asked
    assert len(references) == 5
    for reference in references:
        assert reference.startswith("/graphiql/"), reference
        async with http.get(f"{dev}{reference}") as asset:
            assert asset.status == 200, reference
            assert b"sourceMappingURL" not in await asset.read()


async def test_graphiql_assets_keep_their_licences_and_stay_in_their_folder(
    dev: str, http: aiohttp.ClientSession
) -> None:
    for name in ("LICENSE-graphiql", "LICENSE-react", "LICENSE-react-dom"):
        async with http.get(f"{dev}/graphiql/{name}") as licence:
            assert "MIT License" in await licence.text()
    for escape in ("..%2Fapp.py", "%2E%2E%2F%2E%2E%2Fpyproject.toml", ".hidden", "nothing.js"):
        async with http.get(f"{dev}/graphiql/{escape}") as response:
            assert response.status == 404, escape


async def _preflight(http: aiohttp.ClientSession, url: str, origin: str) -> str | None:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    async with http.options(f"{url}/graphql", headers=headers) as answer:
        return answer.headers.get("Access-Control-Allow-Origin")


async def test_dev_lets_a_storefront_dev_server_on_loopback_call_graphql(
    dev: str, http: aiohttp.ClientSession
) -> None:
    for origin in ("http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080"):
        assert await _preflight(http, dev, origin) == origin
    assert await _preflight(http, dev, "https://shop.example.com") is None
    assert await _preflight(http, dev, "http://localhost.evil.example") is None


async def test_production_answers_no_origin_it_was_not_given(
    production: str, http: aiohttp.ClientSession
) -> None:
    assert await _preflight(http, production, "http://localhost:3000") is None
