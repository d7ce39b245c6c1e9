"""A loopback TCP proxy that delays every chunk by a fixed time each way.

These kernels have no ``netem``; this gives a client a 2 x ``delay`` round
trip to a server on 127.0.0.1.  Each chunk read from one side is written to
the other ``delay`` seconds after it was read, in order; chunks in flight do
not wait for each other (a pipelined burst arrives as a burst).

    proxy = DelayProxy(("127.0.0.1", sink_port), delay=0.010)
    proxy.start()            # serves on 127.0.0.1:proxy.port in a thread
    ...
    proxy.stop()

Also runnable: ``python3 bench/delayproxy.py TARGET_PORT [DELAY_MS]``.
"""
from __future__ import annotations

import asyncio
import sys
import threading
from typing import Optional, Tuple


class DelayProxy:
    """See the module docstring.  ``delay`` in seconds, per direction."""

    def __init__(self, target: Tuple[str, int], delay: float = 0.010) -> None:
        self.target = target
        self.delay = delay
        self.port = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._error: Optional[BaseException] = None

    def start(self) -> "DelayProxy":
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("delay proxy did not start")
        if self._error is not None:
            raise RuntimeError("delay proxy failed: %s" % self._error)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "DelayProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- inside the proxy's thread --------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # reported to start() if it happens early
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
        # connections still open end with the loop

    async def _client(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            s_reader, s_writer = await asyncio.open_connection(*self.target)
        except OSError:
            c_writer.close()
            return
        await asyncio.gather(self._pump(c_reader, s_writer), self._pump(s_reader, c_writer),
                             return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((loop.time() + self.delay, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
        finally:
            writer.close()


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.010
    proxy = DelayProxy(("127.0.0.1", port), delay).start()
    print("127.0.0.1:%d -> 127.0.0.1:%d, %.0f ms each way (Ctrl-C ends)" % (proxy.port, port, delay * 1000))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
