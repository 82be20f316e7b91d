"""What the image holds, proved without Docker: `pip install .` into a clean environment serves.

The image's final stage carries only the environment the wheel was installed into, so a clean
virtual environment outside the source tree, built the same way, stands in for it.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import NamedTuple

import aiohttp
import pytest

from service.sandbox.server import SandboxShop
from tests.deploy.rendering import REPO

READY_WITHIN_SECONDS = 30.0

# A cold pip cache downloads every dependency: allow more than the suite's default timeout.
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with ordergate installed from the source tree, not editable."""
    root = tmp_path_factory.mktemp("image")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=60)
    completed = subprocess.run(
        [
            str(root / "venv" / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return root


def _clean_environment(root: Path, **variables: str) -> dict[str, str]:
    """Only what a container would have: no PYTHONPATH, no source tree, no inherited settings."""
    return {
        "PATH": f"{root / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root),
        "TMPDIR": str(root),
        **variables,
    }


def _run_installed(installed: Path, probe: str) -> str:
    """What `probe` prints, run by the installed package's Python outside the checkout."""
    completed = subprocess.run(
        [str(installed / "venv" / "bin" / "python"), "-c", probe],
        cwd=installed,
        env=_clean_environment(installed),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return completed.stdout


def test_installed_package_finds_schema_and_migrations_inside_itself(installed: Path) -> None:
    probe = (
        "from service import paths;"
        "print(paths.MIGRATIONS_DIR);"
        "print(paths.ADMIN_OPERATIONS_DIR);"
        "print(len(list(paths.MIGRATIONS_DIR.glob('*.sql'))));"
        "print(len(list(paths.ADMIN_OPERATIONS_DIR.glob('*.graphql'))))"
    )
    migrations, operations, sql_files, documents = _run_installed(installed, probe).split()
    site_packages = str(installed / "venv" / "lib")
    assert migrations.startswith(site_packages)
    assert operations.startswith(site_packages)
    assert int(sql_files) > 0
    assert int(documents) > 0


def test_installed_package_carries_the_element_and_graphiql(installed: Path) -> None:
    probe = (
        "from service import paths;"
        "print(paths.STATIC_DIR);"
        "print(sorted(p.name for p in paths.STATIC_DIR.rglob('*') if p.is_file()))"
    )
    static, files = _run_installed(installed, probe).splitlines()
    assert static.startswith(str(installed / "venv" / "lib"))
    for name in ("ordergate.js", "graphiql.min.js", "react.production.min.js", "LICENSE-graphiql"):
        assert f"'{name}'" in files


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Served(NamedTuple):
    """A running `ordergate serve`: its public URL, its metrics URL, the process."""

    url: str
    metrics_url: str
    process: asyncio.subprocess.Process


@pytest.fixture
async def served(
    installed: Path,
    make_database: Callable[[], Awaitable[str]],
    sandbox: SandboxShop,
) -> AsyncIterator[Served]:
    """`ordergate serve` from the clean environment, in production mode, on loopback."""
    port, metrics_port = _free_port(), _free_port()
    environment = _clean_environment(
        installed,
        ORDERGATE_ENV="production",
        ORDERGATE_HOST="127.0.0.1",
        ORDERGATE_PORT=str(port),
        ORDERGATE_METRICS_PORT=str(metrics_port),
        DATABASE_URL=await make_database(),
        SHOPIFY_SHOP="demo.myshopify.com",
        SHOPIFY_ADMIN_ENDPOINT=sandbox.endpoint,
        SHOPIFY_ADMIN_TOKEN=sandbox.admin_token,
        ORDERGATE_SECRET_KEY="installed-package-test-secret-key-0123456789",
        # Production refuses to start without a relay when the policy sends e-mail (the
        # default one does); nothing connects to it at start-up.
        SMTP_URL=f"smtp://127.0.0.1:{_free_port()}",
        ORDERGATE_MAIL_FROM="Demo Shop <orders@shop.example>",
    )
    process = await asyncio.create_subprocess_exec(
        str(installed / "venv" / "bin" / "ordergate"),
        "serve",
        cwd=installed,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    yield Served(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}", process)
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _status(session: aiohttp.ClientSession, url: str) -> int | None:
    try:
        async with session.get(url) as response:
            return response.status
    except aiohttp.ClientConnectionError:
        return None


async def _await_statuses(served: Served, expected: dict[str, int]) -> None:
    """Poll until every URL answers its expected status; fail with the server's stderr if not."""
    process = served.process
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    statuses: dict[str, int | None] = {}
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < deadline and process.returncode is None:
            statuses = {url: await _status(session, url) for url in expected}
            if statuses == expected:
                return
            await asyncio.sleep(0.25)
    if process.returncode is None:
        process.terminate()
    assert process.stderr is not None
    output = (await process.stderr.read()).decode(errors="replace")[-4000:]
    pytest.fail(
        f"not as expected within {READY_WITHIN_SECONDS:.0f}s: {statuses}; "
        f"exit {await process.wait()}; stderr:\n{output}"
    )


async def test_installed_server_answers_health_and_readiness(served: Served) -> None:
    await _await_statuses(served, {f"{served.url}/healthz": 200, f"{served.url}/readyz": 200})


async def test_installed_server_serves_metrics_only_on_the_metrics_port(served: Served) -> None:
    expected = {
        f"{served.url}/healthz": 200,
        f"{served.metrics_url}/metrics": 200,
        f"{served.url}/metrics": 404,
    }
    await _await_statuses(served, expected)
