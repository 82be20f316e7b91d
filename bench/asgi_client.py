"""Calls an ASGI app directly, in process: its lifespan, then JSON POSTs; no sockets, no HTTP
parser, so what is timed is the app alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.types import ASGIApp, Message

CLIENT = ("127.0.0.1", 50000)


@asynccontextmanager
async def running(app: ASGIApp) -> AsyncIterator[None]:
    """The app between its lifespan's startup and shutdown."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def lifespan() -> None:
        await app(scope, inbox.get, outbox.put)

    task = asyncio.create_task(lifespan())
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started.get('message')}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def post_json(app: ASGIApp, path: str, body: object) -> tuple[int, Any]:
    """One POST with a JSON body; the status and the decoded JSON answer."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"ordergate.test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": CLIENT,
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    requests = [{"type": "http.request", "body": raw, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> Message:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # a client that never leaves
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, json.loads(b"".join(chunks))
