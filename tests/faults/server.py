"""A raw-socket SMTP server that misbehaves at one chosen stage.

Lower level than ``tests/support/scripted.py``: every reply is written as raw
bytes, so it can send what no well-behaved server library can: a line that
never ends, continuation lines that never end, bare-CR or unterminated
replies, binary garbage, bytes before the greeting or after the ``220`` to
STARTTLS, a reset (``SO_LINGER 0``), a half-close, a stall, a reply dripped
byte by byte, or simply stop reading while the client writes the message.

One :class:`FaultServer` serves one :class:`Fault` on ``127.0.0.1``.  The
dialogue is normal (greeting, EHLO, MAIL, RCPT, DATA, body, final reply,
QUIT) except at ``fault.stage``, where ``fault.action`` replaces the reply.
Non-terminal actions (a malformed or slow reply) let the dialogue go on
normally afterwards; terminal ones (drop, reset, stall, endless output) end
the connection.

It records every client line (``lines``), whether it ever answered the final
dot with a 2xx (``final_2xx``: the only thing that makes a send a success),
and what happened (``events``).
"""
from __future__ import annotations

import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import List, Optional

STAGES = ("greeting", "ehlo", "helo", "starttls", "auth", "mail", "rcpt", "data", "body", "final", "quit")

GREETING = b"220 fault.example ESMTP ready\r\n"
GREETING_TEXT = "fault.example ESMTP ready"

# The normal reply to each stage (what "slow" and "bare_lf" send, reshaped).
NORMAL = {
    "greeting": GREETING,
    "ehlo": b"250-fault.example\r\n250 8BITMIME\r\n",
    "helo": b"250 fault.example\r\n",
    "starttls": b"220 2.0.0 Ready to start TLS\r\n",
    "auth": b"334 \r\n",
    "mail": b"250 2.1.0 Ok\r\n",
    "rcpt": b"250 2.1.5 Ok\r\n",
    "data": b"354 End data with <CR><LF>.<CR><LF>\r\n",
    "final": b"250 2.0.0 Ok: queued as F00\r\n",
    "quit": b"221 2.0.0 Bye\r\n",
}

#: Longest a stalled server waits for :meth:`FaultServer.release`.
STALL_CAP = 120.0
#: Most octets an endless action writes (a bound for the test machine, far
#: beyond any sane client limit: 256 MiB).
ENDLESS_CAP = 256 << 20


@dataclass(frozen=True)
class Fault:
    """What goes wrong, and where.

    :ivar stage: one of :data:`STAGES`.
    :ivar action: see :meth:`FaultServer._act` (``stall``, ``drop``,
        ``half_close``, ``reset``, ``endless_line``, ``wide_cont``, ``endless_cont``,
        ``drip_line``, ``drip_cont``, ``slow``, ``reply``, ``reply_close``,
        ``bare_lf``) and the stage-specific ones (``pre_greeting``,
        ``greeting_inject``, ``tls_inject``, ``tls_close``, ``tls_garbage``,
        ``tls_stall``, ``stop_reading``, ``early_reply``, ``early_reply_at``)
        and the out-of-step ones (``double``: the normal reply twice in one
        write; ``stray_then``: at the final dot, a stray 2xx and then
        ``payload`` as the real reply, ``late_after`` seconds later).
    :ivar payload: raw bytes for ``reply``/``reply_close`` and friends.
    :ivar tls: offer STARTTLS (the server needs a TLS context).
    :ivar auth: offer ``AUTH PLAIN``.
    :ivar release_after: for stalls: the server itself gives up after this
        many seconds (used when the client cannot call :meth:`release`,
        e.g. real tcllib in a ``tclsh`` subprocess).
    :ivar pipelining: advertise PIPELINING (RFC 2920).  The server still
        answers every command in turn (RCPT and DATA as after an accepted
        MAIL, whatever it said to MAIL: a non-conforming server); it notes
        ``MAIL batched`` in ``events`` when more commands had arrived with
        MAIL.
    """

    stage: str
    action: str
    payload: bytes = b""
    tls: bool = False
    auth: bool = False
    release_after: Optional[float] = None
    late_after: float = 0.0
    pipelining: bool = False


class FaultServer:
    def __init__(self, fault: Fault, tls_context: Optional[ssl.SSLContext] = None,
                 rcvbuf: Optional[int] = None) -> None:
        if fault.stage not in STAGES:
            raise ValueError("unknown stage %r" % fault.stage)
        if fault.tls and tls_context is None:
            raise ValueError("a STARTTLS fault needs a server TLS context")
        self.fault = fault
        self.tls_context = tls_context
        self.lines: List[bytes] = []
        self.events: List[str] = []
        self.final_2xx = False
        self.bodies: List[bytes] = []
        self._released = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns: List["_Peer"] = []
        self._threads: List[threading.Thread] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            # Inherited by accepted sockets: a small window makes the
            # client's writes block soon after the server stops reading.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept, name="fault-accept", daemon=True)
        t.start()
        self._threads.append(t)
        if fault.release_after is not None:
            self._timer = threading.Timer(fault.release_after, self.release)
            self._timer.daemon = True
            self._timer.start()
        else:
            self._timer = None

    # -- control ----------------------------------------------------------------
    def release(self, reset: bool = False) -> None:
        """End every stall and close every client connection (the client
        then sees EOF, or a reset with ``reset=True``).  Thread-safe."""
        if self._released.is_set() and not reset:
            return
        self.events.append("released" + (" (reset)" if reset else ""))
        self._released.set()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            if reset:
                _set_linger0(c.sock)
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        """Release, close everything and join the threads."""
        self._stopping.set()
        if self._timer is not None:
            self._timer.cancel()
        self.release()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for t in self._threads:
            t.join(10)
        with self._lock:
            for c in self._conns:
                c.close()
            self._conns.clear()

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def commands(self) -> List[str]:
        return [l.decode("latin-1").rstrip("\r\n") for l in self.lines]

    # -- serving ----------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            peer = _Peer(s)
            with self._lock:
                self._conns.append(peer)
            t = threading.Thread(target=self._serve_safely, args=(peer,), name="fault-conn", daemon=True)
            t.start()
            self._threads.append(t)

    def _serve_safely(self, p: "_Peer") -> None:
        try:
            self._serve(p)
        except (OSError, ssl.SSLError, ValueError) as e:
            self.events.append("server: %s" % type(e).__name__)
        finally:
            p.close()

    def _serve(self, p: "_Peer") -> None:
        f = self.fault
        tls_on = False
        if f.stage == "greeting":
            if not self._act(p, "greeting"):
                return
        else:
            p.send(GREETING)
        while True:
            line = p.readline()
            if not line:
                self.events.append("client closed")
                return
            self.lines.append(line)
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                if f.stage == "helo":
                    p.send(b"502 5.5.2 EHLO not implemented\r\n")
                    continue
                if f.stage == "ehlo":
                    if not self._act(p, "ehlo"):
                        return
                    continue
                keys = [b"fault.example"]
                if f.tls and not tls_on:
                    keys.append(b"STARTTLS")
                if f.auth:
                    keys.append(b"AUTH PLAIN")
                if f.pipelining:
                    keys.append(b"PIPELINING")
                keys.append(b"8BITMIME")
                p.send(b"".join(b"250" + (b" " if i == len(keys) - 1 else b"-") + k + b"\r\n"
                                for i, k in enumerate(keys)))
            elif verb == b"HELO":
                if f.stage == "helo":
                    if not self._act(p, "helo"):
                        return
                    continue
                p.send(NORMAL["helo"])
            elif verb == b"STARTTLS" and f.tls and not tls_on:
                if f.stage == "starttls":
                    r = self._act(p, "starttls")
                    if r == "tls":
                        tls_on = True
                    elif not r:
                        return
                    continue
                p.send(NORMAL["starttls"])
                p.start_tls(self.tls_context)
                tls_on = True
            elif verb == b"AUTH" and f.auth:
                if f.stage == "auth":
                    if not self._act(p, "auth"):
                        return
                    continue
                p.send(b"334 \r\n")
                resp = p.readline()
                if not resp:
                    return
                self.lines.append(resp)
                p.send(b"235 2.7.0 Authentication successful\r\n")
            elif verb == b"MAIL":
                if p.buf:
                    self.events.append("MAIL batched")
                if f.stage == "mail":
                    if not self._act(p, "mail"):
                        return
                    continue
                p.send(NORMAL["mail"])
            elif verb == b"RCPT":
                if f.stage == "rcpt":
                    if not self._act(p, "rcpt"):
                        return
                    continue
                p.send(NORMAL["rcpt"])
            elif verb == b"DATA":
                if f.stage == "data":
                    if not self._act(p, "data"):
                        return
                    continue
                p.send(NORMAL["data"])
                if f.stage == "body":
                    if not self._act(p, "body"):
                        return
                    continue
                if not self._read_body(p):
                    return
                if f.stage == "final":
                    if not self._act(p, "final"):
                        return
                    continue
                self._final(p, NORMAL["final"])
            elif verb == b"RSET":
                p.send(b"250 2.0.0 Ok\r\n")
            elif verb == b"NOOP":
                p.send(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                if f.stage == "quit":
                    self._act(p, "quit")
                    return
                p.send(NORMAL["quit"])
                return
            else:
                p.send(b"502 5.5.2 Error: command not recognized\r\n")

    def _read_body(self, p: "_Peer") -> bool:
        body = bytearray()
        while True:
            l = p.readline()
            if not l:
                self.events.append("EOF in body")
                return False
            if l == b".\r\n":
                self.bodies.append(bytes(body))
                return True
            body += l

    def _final(self, p: "_Peer", reply: bytes) -> None:
        """Send ``reply`` to the final dot, noting whether it is a 2xx."""
        if re.match(rb"2[0-9][0-9]( |\r?\n)", reply):
            self.final_2xx = True
        p.send(reply)

    def _stall(self, limit: float = STALL_CAP) -> None:
        self.events.append("stalling")
        self._released.wait(limit)

    # -- the faults ---------------------------------------------------------------
    def _act(self, p: "_Peer", stage: str):
        """Do ``fault.action`` instead of the normal reply.  Returns False
        when the connection is over, True to go on with the dialogue (and
        ``"tls"`` when STARTTLS completed)."""
        a, payload = self.fault.action, self.fault.payload
        normal = NORMAL.get(stage, b"")
        self.events.append("fault %s:%s" % (stage, a))
        final = stage == "final"
        if a == "stall":
            self._stall()
            return False
        if a == "drop":
            return False
        if a == "reset":
            _set_linger0(p.sock)
            return False
        if a == "half_close":
            p.sock.shutdown(socket.SHUT_WR)
            p.drain(self._released)
            return False
        if a == "endless_line":
            p.endless(b"250 ", b"A" * 65536, self._released)
            return False
        if a == "wide_cont":
            # complete lines far over the cap, each in a write of its own:
            # the client reads each with its line end (up to 64 KiB a read)
            for _ in range(1000):
                if self._released.is_set():
                    break
                try:
                    p.send(b"250-" + b"w" * 60000 + b"\r\n")
                except OSError:
                    break
                time.sleep(0.001)
            return False
        if a == "endless_cont":
            p.endless(b"", b"250-" + b"x" * 60 + b"\r\n" * 1, self._released, repeat=1024)
            return False
        if a == "drip_line":
            p.drip([b"2", b"5", b"0", b" "] + [b"z"] * 100000, 0.2, self._released)
            return False
        if a == "drip_cont":
            p.drip([b"250-drip\r\n"] * 100000, 0.2, self._released)
            return False
        if a == "slow":
            for i in range(len(normal)):
                p.send(normal[i:i + 1])
                time.sleep(0.012)
            if final:
                self.final_2xx = True
            return self._after_normal(p, stage)
        if a == "code_only":
            # "250", "354", "220" … with no text: a complete, valid reply
            # (RFC 5321 §4.2); the dialogue goes on as after the normal one.
            bare = normal[:3] + b"\r\n"
            if final:
                self._final(p, bare)
            else:
                p.send(bare)
            return self._after_normal(p, stage)
        if a == "bare_lf":
            lf = normal.replace(b"\r\n", b"\n")
            if final:
                self._final(p, lf)
            else:
                p.send(lf)
            return self._after_normal(p, stage)
        if a == "reply":
            if final:
                self._final(p, payload)
            else:
                p.send(payload)
            return True
        if a == "reply_close":
            # e.g. "250-" as the last line, a bare-CR or unterminated reply,
            # then EOF: a reply that never completes.
            p.send(payload)
            time.sleep(0.2)
            return False
        # stage-specific ones
        if a == "pre_greeting":
            p.send(payload + GREETING)
            return True
        if a == "greeting_inject":
            p.send(GREETING + payload)
            return True
        if a == "tls_inject":
            # The plaintext "220" plus injected lines in one write (CVE-2011-0411
            # shape): what follows the 220 must never be read as a reply.
            p.send(NORMAL["starttls"] + payload)
            p.start_tls(self.tls_context)
            return "tls"
        if a == "tls_close":
            p.send(NORMAL["starttls"])
            p.sock.settimeout(5)
            try:
                p.sock.recv(100)  # part of the ClientHello
            except OSError:
                pass
            return False
        if a == "tls_garbage":
            p.send(NORMAL["starttls"])
            p.send(b"this is not a TLS ServerHello\r\n" * 4)
            self._stall(10)
            return False
        if a == "tls_stall":
            p.send(NORMAL["starttls"])
            self._stall()
            return False
        if a == "stop_reading":
            self._stall()
            return False
        if a in ("body_drop", "body_reset"):
            got = p.read_some(256 * 1024)
            self.events.append("read %d body octets" % got)
            if a == "body_reset":
                _set_linger0(p.sock)
            return False
        if a == "double":
            # One reply too many, in the same write as the right one: every
            # later reply is read one command late.
            if final:
                self._final(p, normal)
                p.send(normal)
            else:
                p.send(normal + normal)
            return self._after_normal(p, stage)
        if a == "stray_then":
            # A stray 2xx (not an answer to the dot), then the real reply.
            p.send(b"250 2.0.0 Ok: stray\r\n")
            if self.fault.late_after:
                time.sleep(self.fault.late_after)
            self._final(p, payload)
            return True
        if a == "early_reply_at":
            # The issue-7 server: 250 as soon as it has read the body's last
            # line (payload), i.e. before the final dot, then 554 to the dot.
            while True:
                l = p.readline()
                if not l:
                    return False
                if l == b".\r\n":
                    break
                if l == payload:
                    p.send(b"250 2.0.0 Ok: queued early\r\n")
            self._final(p, b"554 5.6.0 message refused after all\r\n")
            return True
        if a == "early_reply":
            # A 2xx before the client has even sent the message: it is not
            # the reply to the final dot (which is refused below).
            p.send(payload or b"250 2.0.0 Ok: queued early\r\n")
            if not self._read_body(p):
                return False
            self._final(p, b"554 5.6.0 message refused after all\r\n")
            return True
        raise ValueError("unknown action %r" % a)

    def _after_normal(self, p: "_Peer", stage: str):
        """Continue after a normal-but-odd reply (slow, bare LF)."""
        if stage == "greeting":
            return True
        if stage == "starttls":
            p.start_tls(self.tls_context)
            return "tls"
        if stage == "auth":
            resp = p.readline()
            if not resp:
                return False
            self.lines.append(resp)
            p.send(b"235 2.7.0 Authentication successful\r\n")
            return True
        if stage == "data":
            if not self._read_body(p):
                return False
            self._final(p, NORMAL["final"])
            return True
        if stage == "quit":
            return False
        return True


class _Peer:
    """The server's end of one connection: raw writes, a line reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = sock
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        for s in (self.sock, self.raw):
            try:
                s.close()
            except OSError:
                pass

    def readline(self) -> bytes:
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError):
                chunk = b""
            if not chunk:
                out, self.buf = self.buf, b""
                return out
            self.buf += chunk
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_some(self, n: int) -> int:
        got = len(self.buf)
        self.buf = b""
        while got < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        return got

    def drain(self, released: threading.Event) -> None:
        self.sock.settimeout(0.2)
        while not released.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def start_tls(self, ctx: ssl.SSLContext) -> None:
        self.buf = b""
        self.sock.settimeout(10)
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.sock.settimeout(None)

    def endless(self, head: bytes, chunk: bytes, released: threading.Event, repeat: int = 1) -> None:
        block = chunk * repeat
        sent = 0
        self.send(head)
        while sent < ENDLESS_CAP and not released.is_set():
            try:
                self.sock.sendall(block)
            except OSError:
                return
            sent += len(block)

    def drip(self, pieces, delay: float, released: threading.Event) -> None:
        for piece in pieces:
            try:
                self.sock.sendall(piece)
            except OSError:
                return
            if released.wait(delay):
                return


def _set_linger0(s: socket.socket) -> None:
    """Make ``close`` send a RST (SO_LINGER on, 0 s)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
