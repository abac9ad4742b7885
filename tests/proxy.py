"""A loopback TCP proxy the tests put between the service and PostgreSQL or Redis, to fail them on cue.

``TcpProxy(host, port).start()`` listens on a free 127.0.0.1 port, in a thread with its own event
loop, and forwards every connection to ``host:port``. ``blackhole()`` stops forwarding: bytes in
either direction are read and dropped, and new connections are accepted and never answered, as
a dead network path behaves. ``refuse()`` closes the listener and every connection, so the port
refuses. ``forward()`` resets the connections made before it (as a long partition leaves them) and
forwards again. ``stop()`` ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Literal

from tests.helpers import free_port

Mode = Literal["forward", "blackhole", "refuse"]


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.mode: Mode = "forward"
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def forward(self) -> None:
        self._call(self._close_all())
        self.mode = "forward"
        self._call(self._listen())

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def refuse(self) -> None:
        self.mode = "refuse"
        self._call(self._close_all())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._close_all())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode != "forward":
                await self._pump(reader, None)  # accepted, never answered
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            self._writers.add(up_writer)
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        except OSError:
            pass
        finally:
            writer.close()
            self._writers.discard(writer)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                if writer is not None and self.mode == "forward":
                    writer.write(chunk)
                    await writer.drain()
        if writer is not None:
            writer.close()
