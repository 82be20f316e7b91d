"""A loopback TCP proxy a test can cut, blackhole and restore: a real network failure, not a
mock. Cut refuses and breaks connections; a blackhole accepts and reads, and answers nothing."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlsplit, urlunsplit


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a Postgres server given by DSN (TCP or Unix socket)."""

    def __init__(self, target_dsn: str) -> None:
        parts = urlsplit(target_dsn)
        query = parse_qs(parts.query)
        self._dsn = parts
        self._socket_dir = query.get("host", [None])[0]
        self._host = parts.hostname or "127.0.0.1"
        self._port = int(query.get("port", [parts.port or 5432])[0])
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._blackholed = False
        self._swallowed: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def dsn(self) -> str:
        """The target DSN, pointed at the proxy."""
        user = self._dsn.username or "postgres"
        return urlunsplit(("postgresql", f"{user}@127.0.0.1:{self.port}", self._dsn.path, "", ""))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._socket_dir and self._socket_dir.startswith("/"):
            return await asyncio.open_unix_connection(f"{self._socket_dir}/.s.PGSQL.{self._port}")
        return await asyncio.open_connection(self._host, self._port)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self._blackholed:
                    # Dropped: the stream is broken for good, as when a network loses packets.
                    self._swallowed.add(writer)
                    continue
                writer.write(data)
                await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Accept and read, never connect on and never answer: a silent server."""
        self._swallowed.add(writer)
        with contextlib.suppress(ConnectionError, OSError):
            while await reader.read(65536):
                pass
        writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self._blackholed:
            await self._swallow(client_r, client_w)
            return
        server_r, server_w = await self._connect()
        self._writers |= {client_w, server_w}
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))

    def blackhole(self) -> None:
        """From now on, accept and read but never forward or answer, on open connections too."""
        self._blackholed = True

    async def restore(self) -> None:
        """Forward again. A connection that lost bytes in the blackhole is broken: close it,
        as a peer that gave up meanwhile would find (open ones that lost nothing carry on)."""
        self._blackholed = False
        swallowed, self._swallowed = self._swallowed, set()
        await self._close(swallowed)
        if self._server is None:
            await self.start()

    @staticmethod
    async def _close(writers: set[asyncio.StreamWriter]) -> None:
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def start(self) -> None:
        """Listen (again) on the same port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and break every open one."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._blackholed = False
        writers, self._writers = self._writers | self._swallowed, set()
        self._swallowed = set()
        await self._close(writers)
