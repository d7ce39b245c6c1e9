"""A loopback TCP proxy that delays every chunk, in each direction, by a
fixed time (10 ms each way = 20 ms round trip), keeping the order: network
latency without ``netem`` (these kernels have none).

It also records the flow as *flights*: runs of client-to-server chunks with
no server-to-client chunk between them.  A lock-step SMTP client makes one
flight per command; a pipelining client one per batch; so ``flights`` counts
the round trips a dialogue needed, whatever the timing.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import List, Optional, Tuple


class DelayProxy:
    """``DelayProxy(upstream_port)``: listens on 127.0.0.1:``port`` and
    forwards each connection to 127.0.0.1:``upstream_port``, every chunk
    ``delay`` seconds late.  ``stop()`` closes everything (also as a
    context manager).

    :ivar events: ``(direction, octets)`` per chunk, in the order they were
        read (direction ``">"`` client to server, ``"<"`` back).
    """

    def __init__(self, upstream_port: int, delay: float = 0.010, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self.events: List[Tuple[str, int]] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.AbstractServer] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("delay proxy did not start")
        assert self._server is not None
        self.port = self._server.sockets[0].getsockname()[1]

    # -- what went through -----------------------------------------------------
    def flights(self) -> int:
        """Client-to-server flights so far (see the module text)."""
        n, last = 0, "<"
        with self._lock:
            for direction, _ in self.events:
                if direction == ">" and last == "<":
                    n += 1
                last = direction
        return n

    def reset(self) -> None:
        with self._lock:
            self.events.clear()
            self.connections = 0

    # -- lifecycle -------------------------------------------------------------
    def stop(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "DelayProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        try:
            sreader, swriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(self._pipe(creader, swriter, ">"), self._pipe(sreader, cwriter, "<"),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        queue: "asyncio.Queue[Tuple[float, bytes]]" = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    try:
                        writer.write_eof()
                    except (OSError, RuntimeError):
                        writer.close()
                    return
                writer.write(data)
                try:
                    await writer.drain()
                except OSError:
                    return

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except OSError:
                    data = b""
                if data:
                    with self._lock:
                        self.events.append((direction, len(data)))
                queue.put_nowait((time.monotonic() + self.delay, data))
                if not data:
                    break
            await sender
        finally:
            sender.cancel()
            writer.close()
