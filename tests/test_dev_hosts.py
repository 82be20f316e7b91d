"""DNS rebinding against `ordergate dev`: a page on another site whose name comes to resolve to
127.0.0.1 sends its own name as Host; dev answers only loopback names and ORDERGATE_HOST, so
such a page cannot read /dev/mail (one-time codes, addresses). Production leaves Host to the
gateway."""

from __future__ import annotations

from typing import Any

import aiohttp

from service.app import create_app
from service.sandbox.server import SandboxShop
from tests.api.conftest import sandbox_settings, serving
from tests.web.test_routes import PRODUCTION

REBINDING = "rebind.attacker.example"


async def _statuses(url: str, hosts: list[str], path: str = "/dev/mail") -> dict[str, int]:
    """The status of `path` requested under each Host header."""
    port = url.rsplit(":", 1)[1]
    statuses = {}
    async with aiohttp.ClientSession() as http:
        for host in hosts:
            headers = {"Host": host.format(port=port)}
            async with http.get(f"{url}{path}", headers=headers) as answer:
                statuses[host] = answer.status
    return statuses


async def _serve_statuses(settings: Any, hosts: list[str], path: str = "/dev/mail") -> set[int]:
    async with serving(create_app(settings)) as url:
        return set((await _statuses(url, hosts, path)).values())


async def test_dev_answers_loopback_names_and_refuses_any_other(
    database_url: str, sandbox: SandboxShop
) -> None:
    settings = sandbox_settings(database_url, sandbox, ORDERGATE_HOST="devbox.lan")
    loopback = [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "[::1]:{port}",
        "LOCALHOST",
        "devbox.lan:{port}",
    ]
    others = [
        f"{REBINDING}:{{port}}",
        REBINDING,
        "localhost.attacker.example",
        "192.0.2.10:{port}",
        "",
    ]

    async with serving(create_app(settings)) as url:
        admitted = await _statuses(url, loopback)
        refused = await _statuses(url, others)

    assert set(admitted.values()) == {200}, admitted
    assert set(refused.values()) == {400}, refused


async def test_dev_on_all_interfaces_also_answers_ip_addresses(
    database_url: str, sandbox: SandboxShop
) -> None:
    settings = sandbox_settings(database_url, sandbox, ORDERGATE_HOST="0.0.0.0")

    assert await _serve_statuses(settings, ["192.0.2.10:{port}", "127.0.0.1:{port}"]) == {200}
    assert await _serve_statuses(settings, [f"{REBINDING}:{{port}}"]) == {400}


async def test_production_leaves_the_host_to_the_gateway(
    database_url: str, sandbox: SandboxShop
) -> None:
    settings = sandbox_settings(database_url, sandbox, **PRODUCTION)

    assert await _serve_statuses(settings, [f"{REBINDING}:{{port}}"], path="/healthz") == {200}
