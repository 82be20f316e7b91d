"""`ordergate dev` restarted on the same database: the sandbox shop starts afresh, and no
request of the earlier run contradicts it (issue 14: #1001 showed `cancelledAt: null` beside
a CANCELLED request)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.api.conftest import CONTACT_ONLY_POLICY, free_port
from tests.conftest import DatabaseFactory

CANCEL = (
    'mutation { requestCancellation(input: {orderNumber: "1001", '
    'contact: "ada.lovelace@example.com", reason: CHANGED_MIND}) { request { status } } }'
)
LOOK = (
    '{ orderStatus(orderNumber: "1001", contact: "ada.lovelace@example.com") '
    "{ order { cancelledAt requests { status } cancellation { eligible } } } }"
)


async def _dev_once(env: dict[str, str], port: int, query: str) -> dict[str, Any]:
    """Start `ordergate dev`, send one document when it is ready, stop it; the answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", "dev", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(1200):  # up to a minute on a busy machine
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
                        if ready.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            async with http.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": query}
            ) as answer:
                body: dict[str, Any] = json.loads(await answer.text())
                return body
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


async def test_a_restarted_dev_never_shows_a_request_its_fresh_shop_contradicts(
    make_database: DatabaseFactory, tmp_path: Path
) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(
        ("ORDERGATE_", "SHOPIFY_", "DATABASE_URL", "REDIS_URL", "SMTP_URL"))}  # fmt: skip
    env |= {
        "DATABASE_URL": await make_database(),
        "ORDERGATE_DATA_DIR": str(tmp_path),
        "ORDERGATE_PORT": str(port),
        "ORDERGATE_METRICS_PORT": "0",
        "ORDERGATE_POLICY_FILE": str(CONTACT_ONLY_POLICY),
    }
    cancelled = await _dev_once(env, port, CANCEL)
    assert cancelled["data"]["requestCancellation"]["request"]["status"] == "CANCELLED"

    after_restart = await _dev_once(env, port, LOOK)

    order = after_restart["data"]["orderStatus"]["order"]
    assert order["cancelledAt"] is None
    assert order["requests"] == []
    assert order["cancellation"]["eligible"] is True
