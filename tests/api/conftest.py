"""Runs the real app under uvicorn on loopback, against the sandbox shop and a real database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from starlette.applications import Starlette

from service.app import create_app
from service.cli import server_config
from service.config import Settings
from service.connections import ConnectionLimits
from service.mail.dev_mailbox import DevMailbox
from service.sandbox.server import SandboxShop
from tests.conftest import DatabaseFactory


@dataclass
class Answer:
    """One HTTP answer from the running app."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    text: str


@asynccontextmanager
async def serving(
    app: Starlette, *, connections: ConnectionLimits | None = None
) -> AsyncIterator[str]:
    """The app under a real uvicorn server on a free loopback port; yields its base URL."""
    # IPPROTO_TCP named, as uvicorn's own bind does: asyncio turns Nagle off only on sockets
    # that say they are TCP, and with Nagle on every kept-alive answer waited 40 ms for the
    # client's delayed ACK.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(server_config(app, connections=connections))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the app stopped during start-up")
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


def free_port() -> int:
    """A loopback port nothing listens on right now, for a listener the app opens itself."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


CONTACT_ONLY_POLICY = Path(__file__).resolve().parents[1] / "policies" / "contact_only.yaml"


def sandbox_settings(database_url: str, sandbox: SandboxShop, **overrides: Any) -> Settings:
    """Settings that point the app at a test database and a sandbox shop over HTTP.

    The metrics listener is off: many apps run in one process, and a fixed port would collide.
    The policy needs no one-time code for a cancellation (tests/policies/contact_only.yaml);
    tests of the code step pass `policy=Policy()` to `create_app`.
    A test of it passes ORDERGATE_METRICS_PORT=free_port().
    """
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SHOPIFY_ADMIN_ENDPOINT": sandbox.endpoint,
        "SHOPIFY_ADMIN_TOKEN": sandbox.admin_token,
        "SHOPIFY_SHOP": "demo.myshopify.com",
        "ORDERGATE_METRICS_PORT": 0,
        "ORDERGATE_POLICY_FILE": str(CONTACT_ONLY_POLICY),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


GraphQLCall = Callable[..., Awaitable[Answer]]


@pytest.fixture
def clock() -> Callable[[], datetime] | None:
    """Tests override this to freeze the app's clock; None is the wall clock."""
    return None


@pytest.fixture
async def fresh_database_url(make_database: DatabaseFactory) -> str:
    """A database of its own, so requests made by one test never meet another's."""
    return await make_database()


@pytest.fixture
async def app_url(
    fresh_database_url: str, sandbox: SandboxShop, clock: Callable[[], datetime] | None
) -> AsyncIterator[str]:
    """Base URL of a running app wired to the sandbox."""
    settings = sandbox_settings(fresh_database_url, sandbox)
    app = create_app(settings, clock=clock) if clock else create_app(settings)
    async with serving(app) as url:
        yield url


@pytest.fixture
async def mailbox() -> AsyncIterator[DevMailbox]:
    """A real SMTP server on loopback that keeps what it receives (customer e-mail)."""
    box = DevMailbox()
    await box.start()
    yield box
    await box.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


async def post_graphql(
    http: aiohttp.ClientSession,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST one GraphQL request and read the whole answer."""
    async with http.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    ) as response:
        text = await response.text()
        body = await response.json(content_type=None) if text else {}
        return Answer(response.status, dict(response.headers), body, text)


@pytest.fixture
def graphql(http: aiohttp.ClientSession, app_url: str) -> GraphQLCall:
    """Send a GraphQL document to the running app."""

    async def call(
        query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        return await post_graphql(http, app_url, query, variables, headers)

    return call
