"""Fixtures for the Admin client tests: a scripted Shopify on 127.0.0.1 and clients aimed at it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service.admin.operations import OperationRegistry
from tests.admin.scripted_server import (
    GRAPHQL_PATH,
    ClientFactory,
    ScriptedServer,
    running_scripted_server,
)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    """A fresh scripted server on 127.0.0.1."""
    async with running_scripted_server() as scripted:
        yield scripted


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture(scope="session")
def registry() -> OperationRegistry:
    """The real operation documents."""
    return OperationRegistry.load()


@pytest.fixture
def refused_url() -> str:
    """An endpoint URL on a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{GRAPHQL_PATH}"


@pytest.fixture
def make_client(
    session: aiohttp.ClientSession, server: ScriptedServer, registry: OperationRegistry
) -> ClientFactory:
    """A factory for AdminClients against the scripted server."""
    return ClientFactory(session=session, server=server, registry=registry)
