"""A hand-driven SMTP server on 127.0.0.1 for hostile-server tests: each
connection runs ``handler(conn)``, which sends exactly the lines it wants
(``conn.send``), reads client lines (``conn.line``) and can switch to TLS
(``conn.tls``).  Everything the client sent is kept in ``lines``."""
from __future__ import annotations

import socket
import ssl
import threading
from typing import Callable, List


class HostileConn:
    def __init__(self, sock: socket.socket, lines: List[str]) -> None:
        self.sock = sock
        self.lines = lines
        self._buf = b""

    def send(self, *lines: str) -> None:
        self.sock.sendall(b"".join(l.encode("latin-1") + b"\r\n" for l in lines))

    def line(self) -> str:
        """The client's next line (``EOFError`` when it hung up)."""
        while b"\n" not in self._buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self._buf += data
        i = self._buf.index(b"\n") + 1
        raw, self._buf = self._buf[:i], self._buf[i:]
        text = raw.decode("latin-1").rstrip("\r\n")
        self.lines.append(text)
        return text

    def tls(self, context: ssl.SSLContext) -> None:
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self._buf = b""


class HostileServer:
    def __init__(self, handler: Callable[[HostileConn], None]) -> None:
        self.handler = handler
        self.lines: List[str] = []
        self.errors: List[BaseException] = []
        self._threads: List[threading.Thread] = []
        self._socks: List[socket.socket] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self) -> None:
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            self._socks.append(s)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, s: socket.socket) -> None:
        conn = HostileConn(s, self.lines)
        try:
            self.handler(conn)
        except (EOFError, OSError):
            pass
        except BaseException as e:  # a test bug: make it visible
            self.errors.append(e)
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    def stop(self) -> None:
        for s in [self.sock] + self._socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(5)
