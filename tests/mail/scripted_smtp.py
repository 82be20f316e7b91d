"""A scripted SMTP server on loopback, for answers a real mailbox does not give."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Script:
    """How the server behaves: silent, refusing recipients, or slow to accept a message."""

    silent: bool = False
    rcpt_reply: str = "250 ok"
    data_delay: float = 0.0
    accepted: int = 0


@contextlib.asynccontextmanager
async def scripted_smtp(script: Script) -> AsyncIterator[int]:
    """Serves `script` on an ephemeral loopback port, which it yields."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            if not script.silent:
                await _converse(script, reader, writer)
            else:
                await reader.read()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def _converse(
    script: Script, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    async def reply(text: str) -> None:
        writer.write(f"{text}\r\n".encode())
        await writer.drain()

    await reply("220 scripted ESMTP")
    while line := await reader.readline():
        command = line.decode().split(" ", 1)[0].strip().upper()
        if command == "RCPT":
            await reply(script.rcpt_reply)
        elif command == "DATA":
            await reply("354 go ahead")
            while (await reader.readline()).rstrip(b"\r\n") != b".":
                pass
            await asyncio.sleep(script.data_delay)
            script.accepted += 1
            await reply("250 accepted")
        elif command == "QUIT":
            await reply("221 bye")
            return
        else:
            await reply("250 ok")
