"""A running `ordergate dev` and the node tools the browser tests and the audit need.

Nothing here skips: without `web/node_modules` (`npm ci` in web/, which `make test` runs) or
without Chromium (`apt-get install chromium`, which `make test` runs when it is missing) the
tests fail and say what is missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.api.conftest import free_port
from tests.conftest import DatabaseFactory

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
CHROMIUM = Path("/usr/bin/chromium")
START_WITHIN_SECONDS = 30.0
# Requests per minute per address for the dev server: the audit and the browser test send
# about 120 from 127.0.0.1 within a minute.
DEV_CLIENT_LIMIT = 250
# The browser tests and the audit send a few hundred requests from one address in a minute.
GENEROUS_LIMITS = {
    "ORDERGATE_LIMIT_PER_CLIENT": "100000/minute",
    "ORDERGATE_LIMIT_PER_ORDER": "100000/hour",
}


@dataclass(frozen=True)
class Node:
    """`node` and the installed `web/node_modules`."""

    executable: str

    async def run(
        self, script: str, *args: str, env: dict[str, str] | None = None, within: float = 90
    ) -> tuple[int, str, str]:
        """Run `web/<script>`; its exit code, stdout and stderr."""
        process = await asyncio.create_subprocess_exec(
            self.executable, script, *args, cwd=WEB, env={**os.environ, **(env or {})},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(within):
                out, err = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


@pytest.fixture(scope="session")
def node() -> Node:
    """Node with web/'s packages installed; fails loudly, never skips, when they are missing."""
    executable = shutil.which("node")
    assert executable, "node is not installed: the browser tests need Node.js 20+"
    missing = [
        package
        for package in ("playwright-core", "axe-core", "graphql-http", "esbuild")
        if not (WEB / "node_modules" / package / "package.json").is_file()
    ]
    assert not missing, f"web/node_modules lacks {missing}: run `npm ci` in web/ (make test does)"
    return Node(executable)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; the tests never download a browser."""
    assert CHROMIUM.is_file(), f"no {CHROMIUM}: apt-get install chromium (make test does)"
    return CHROMIUM


def clean_environment(**variables: str) -> dict[str, str]:
    """The test's environment without ordergate's own settings, plus `variables`."""
    inherited = ("ORDERGATE_", "SHOPIFY_", "DATABASE_URL", "REDIS_URL", "SMTP_URL")
    env = {key: value for key, value in os.environ.items() if not key.startswith(inherited)}
    env.update({"ORDERGATE_METRICS_PORT": "0", **GENEROUS_LIMITS, **variables})
    return env


@asynccontextmanager
async def running(command: str, env: dict[str, str], log: Path) -> AsyncIterator[str]:
    """`ordergate <command>` in a process of its own until it answers /healthz; its base URL."""
    port = free_port()
    env = {**env, "ORDERGATE_HOST": "127.0.0.1", "ORDERGATE_PORT": str(port)}
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.cli", command, env=env, cwd=REPO,
            stdout=output, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        if not await _healthy(url, process):
            raise AssertionError(f"ordergate {command} did not start:\n{_tail(log)}")
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def _healthy(url: str, process: asyncio.subprocess.Process) -> bool:
    deadline = asyncio.get_running_loop().time() + START_WITHIN_SECONDS
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                break
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return True
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    return False


@pytest.fixture(scope="session")
async def dev_url(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """`ordergate dev` as a developer runs it: sandbox shop, embedded mailbox, GraphiQL, the
    demo page; a fresh database and data folder of its own; no CORS setting (dev answers a
    storefront's dev server on loopback by itself)."""
    data = tmp_path_factory.mktemp("ordergate-dev")
    env = clean_environment(
        DATABASE_URL=await make_database(),
        ORDERGATE_DATA_DIR=str(data),
        # The browser test's 429 check speaks for another address through X-Forwarded-For, and
        # spends that address's whole allowance; everything else counts against 127.0.0.1.
        ORDERGATE_TRUSTED_PROXIES="127.0.0.1/32",
        ORDERGATE_LIMIT_PER_CLIENT=f"{DEV_CLIENT_LIMIT}/minute",
    )
    async with running("dev", env, data / "dev.log") as url:
        yield url
