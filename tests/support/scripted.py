"""A scripted SMTP server on 127.0.0.1 for tests: replies are configured per
verb, and it can misbehave (421 greeting, stall, drop, refuse STARTTLS).

It records, per connection, every client line exactly as received (bytes,
CRLF included) and each DATA payload exactly as it crossed the wire
(dot-stuffing and line ends untouched).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Union

Reply = Union[Sequence[str], Callable[[str], Optional[Sequence[str]]], None]
STALL = "__stall__"      # a reply of [STALL]: never answer (until stop)
CLOSE = "__close__"      # a reply of [CLOSE]: drop the connection


@dataclass
class Conn:
    lines: List[bytes] = field(default_factory=list)
    datas: List[bytes] = field(default_factory=list)
    aborted: List[bytes] = field(default_factory=list)  # DATA cut off by EOF
    tls: bool = False
    auth: Optional[str] = None
    reads: List[bytes] = field(default_factory=list)  # each recv() as it came (PIPELINING: one write)
    #: the client reset the connection (it closed it with our replies
    #: unread, so its kernel sent RST and dropped what it had not sent yet)
    reset: bool = False

    @property
    def commands(self) -> List[str]:
        return [l.decode("latin-1").rstrip("\r\n") for l in self.lines]


class ScriptedServer:
    """Configure with keyword arguments:

    greeting, ehlo, helo, mail, rcpt (verb reply, or a dict substring->reply
    checked first via ``rcpt_map``), data, data_end, rset, quit, starttls,
    auth_users ({user: password}) -- each reply is a list of lines.
    ``tls_context`` enables STARTTLS (server side); ``implicit_tls`` wraps
    every connection at once.
    """

    def __init__(self, **cfg) -> None:
        self.cfg = {
            "greeting": ["220 test.example ESMTP scripted"],
            "ehlo": ["250-test.example", "250 HELP"],
            "helo": ["250 test.example"],
            "mail": ["250 2.1.0 Ok"],
            "rcpt": ["250 2.1.5 Ok"],
            "data": ["354 End data with <CR><LF>.<CR><LF>"],
            "data_end": ["250 2.0.0 Ok: queued"],
            "rset": ["250 2.0.0 Ok"],
            "quit": ["221 2.0.0 Bye"],
            "noop": ["250 2.0.0 Ok"],
            "starttls": ["220 2.0.0 Ready to start TLS"],
            "ehlo_tls": None,
            "rcpt_map": {},
            "auth_users": {},
            "tls_context": None,
            "implicit_tls": None,
            "verbs": {},          # replies for any other verb, e.g. {"QUED": [...]}
            # Answer as a real server does (Postfix's texts) where no reply
            # was configured for the situation: RCPT without an accepted
            # MAIL gets 503, DATA without an accepted RCPT 503/554 (what a
            # pipelining client meets after a refusal, RFC 2920 §3.1).
            "transaction_state": False,
            "port": 0,            # 0: any free port (the rule); a test may ask for
                                  # one it found free (e.g. a named service's)
        }
        unknown = set(cfg) - set(self.cfg)
        if unknown:
            raise TypeError("unknown options: %s" % unknown)
        self.cfg.update(cfg)
        self.conns: List[Conn] = []
        self._stop = threading.Event()
        # connections being served and not stalled (settle() waits for 0)
        self._busy = 0
        self._idle = threading.Condition()
        self._local = threading.local()
        self._sentinel: Optional[tuple] = None
        self._sentinel_seen = threading.Event()
        self._threads: List[threading.Thread] = []
        self._socks: List[socket.socket] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.cfg["port"]))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    # -- lifecycle --------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        for s in list(self._socks):
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

    def say(self, text: str) -> None:
        """Write ``text`` (CRLF added) to every open client connection now,
        unasked (a server's idle-timeout notice, a late reply)."""
        for s in list(self._socks):
            try:
                s.sendall(text.encode("latin-1") + b"\r\n")
            except OSError:
                pass

    def hang_up(self) -> None:
        """Close every open client connection (a server's idle time-out);
        the server keeps accepting new ones."""
        for s in list(self._socks):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "ScriptedServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait until every client connection so far has ended (the client
        closed it) or stalls (a ``STALL`` reply: it reads nothing more), so
        that what the client sent last is recorded.  Event-based: a
        connection still in the listen queue is accepted first (a sentinel
        connection marks the end of the queue), then each connection's end
        is awaited, for at most ``timeout`` seconds in all.

        :returns: whether every connection ended or stalls in time.
        """
        deadline = time.monotonic() + timeout
        if not self._stop.is_set():
            self._accept_queued(deadline)
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, max(0.0, deadline - time.monotonic()))

    def _accept_queued(self, deadline: float) -> None:
        """Return once the accept thread has taken every connection made
        before this call (FIFO: the sentinel's comes after them)."""
        c = socket.socket()
        try:
            c.bind(("127.0.0.1", 0))
            self._sentinel = c.getsockname()
            self._sentinel_seen.clear()
            c.settimeout(max(0.1, deadline - time.monotonic()))
            c.connect(("127.0.0.1", self.port))
            self._sentinel_seen.wait(max(0.0, deadline - time.monotonic()))
        except OSError:
            pass
        finally:
            self._sentinel = None
            c.close()

    def _not_busy(self) -> None:
        """This connection's handler has ended or stalls (once per connection)."""
        if getattr(self._local, "busy", False):
            self._local.busy = False
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    @property
    def datas(self) -> List[bytes]:
        return [d for c in self.conns for d in c.datas]

    @property
    def commands(self) -> List[str]:
        return [x for c in self.conns for x in c.commands]

    # -- serving ----------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                s, addr = self.sock.accept()
            except OSError:
                return
            if self._sentinel is not None and addr == self._sentinel:
                s.close()  # settle()'s: every connection before it is accepted
                self._sentinel_seen.set()
                continue
            with self._idle:
                self._busy += 1
            self._socks.append(s)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, s: socket.socket) -> None:
        self._local.busy = True
        try:
            self._serve_conn(s)
        finally:
            self._not_busy()

    def _serve_conn(self, s: socket.socket) -> None:
        conn = Conn()
        self._local.conn = conn
        self.conns.append(conn)
        try:
            if self.cfg["implicit_tls"] is not None:
                s = self.cfg["implicit_tls"].wrap_socket(s, server_side=True)
                self._socks.append(s)
                conn.tls = True
            f = _LineReader(s, conn.reads)
            if not self._reply(s, self.cfg["greeting"], ""):
                return
            mail_ok, rcpt_ok = False, 0  # the transaction state (transaction_state)
            strict = self.cfg["transaction_state"]
            while not self._stop.is_set():
                line = f.readline()
                if not line:
                    return
                conn.lines.append(line)
                text = line.decode("latin-1").rstrip("\r\n")
                verb, _, arg = text.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    mail_ok, rcpt_ok = False, 0
                    rep = self.cfg["ehlo_tls"] if conn.tls and self.cfg["ehlo_tls"] is not None else self.cfg["ehlo"]
                    if (isinstance(rep, list) and not conn.tls and self.cfg["tls_context"] is not None
                            and not any("STARTTLS" in r for r in rep)):
                        rep = [r[:3] + "-" + r[4:] for r in rep] + ["250 STARTTLS"]
                    ok = self._reply(s, rep, arg)
                elif verb == "STARTTLS" and self.cfg["tls_context"] is not None and not conn.tls:
                    ok = self._reply(s, self.cfg["starttls"], arg)
                    if ok and self.cfg["starttls"] and self.cfg["starttls"][0].startswith("220"):
                        s = self.cfg["tls_context"].wrap_socket(s, server_side=True)
                        self._socks.append(s)
                        conn.tls = True
                        f = _LineReader(s, conn.reads)
                elif verb == "AUTH":
                    ok = self._auth(s, f, conn, arg)
                elif verb == "RCPT":
                    rep = self.cfg["rcpt"]
                    for k, v in self.cfg["rcpt_map"].items():
                        if k in arg:
                            rep = v
                    if strict and not mail_ok:
                        rep = ["503 5.5.1 Error: need MAIL command"]
                    elif strict:
                        rep = rep(arg) if callable(rep) else rep
                        rcpt_ok += _code(rep) in (250, 251)
                    ok = self._reply(s, rep, arg)
                elif verb == "DATA":
                    rep = self.cfg["data"]
                    if strict and not mail_ok:
                        rep = ["503 5.5.1 Error: need RCPT command"]
                    elif strict and not rcpt_ok:
                        rep = ["554 5.5.1 Error: no valid recipients"]
                    mail_ok, rcpt_ok = False, 0
                    ok = self._reply(s, rep, arg)
                    if ok and rep and not callable(rep) and str(rep[0]).startswith("354"):
                        payload = bytearray()
                        while True:
                            l = f.readline()
                            if not l:
                                conn.aborted.append(bytes(payload))
                                return
                            if l in (b".\r\n", b".\n"):
                                break
                            payload += l
                        conn.datas.append(bytes(payload))
                        ok = self._reply(s, self.cfg["data_end"], "")
                elif verb in self.cfg["verbs"]:
                    ok = self._reply(s, self.cfg["verbs"][verb], arg)
                elif verb.lower() in ("helo", "mail", "rset", "quit", "noop"):
                    rep = self.cfg[verb.lower()]
                    if verb == "MAIL" and strict:
                        rep = rep(arg) if callable(rep) else rep
                        mail_ok, rcpt_ok = _code(rep) == 250, 0
                    elif verb in ("RSET", "HELO"):
                        mail_ok, rcpt_ok = False, 0
                    ok = self._reply(s, rep, arg)
                    if verb == "QUIT":
                        return
                else:
                    ok = self._reply(s, ["502 5.5.2 Error: command not recognized"], arg)
                if not ok:
                    return
        except (OSError, ssl.SSLError) as e:
            conn.reset = conn.reset or isinstance(e, ConnectionResetError)
            return
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _reply(self, s: socket.socket, rep: Reply, arg: str) -> bool:
        if callable(rep):
            rep = rep(arg)
        if rep is None:
            return True
        rep = list(rep)
        if rep and rep[0] == STALL:
            self._not_busy()  # reads nothing more: settled
            self._stop.wait(3600)
            return False
        if rep and rep[0] == CLOSE:
            return False
        s.sendall(b"".join(r.encode("latin-1") + b"\r\n" for r in rep))
        return True

    def _auth(self, s, f, conn: Conn, arg: str) -> bool:
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        users = self.cfg["auth_users"]

        def ask(challenge: bytes) -> Optional[bytes]:
            s.sendall(b"334 " + base64.b64encode(challenge) + b"\r\n")
            line = f.readline()
            if not line:
                return None
            conn.lines.append(line)
            if line.strip() == b"*":
                return None
            return base64.b64decode(line.strip())

        ok = False
        user = None
        if mech == "PLAIN":
            resp = base64.b64decode(initial) if initial else ask(b"")
            if resp is not None:
                _, user, pw = resp.split(b"\0", 2)
                user = user.decode()
                ok = users.get(user) == pw.decode()
        elif mech == "LOGIN":
            u = ask(b"Username:")
            p = ask(b"Password:") if u is not None else None
            if p is not None:
                user = u.decode()
                ok = users.get(user) == p.decode()
        elif mech == "CRAM-MD5":
            chal = b"<12345.67890@test.example>"
            resp = ask(chal)
            if resp is not None:
                user, _, digest = resp.decode().partition(" ")
                pw = users.get(user)
                ok = pw is not None and hmac.new(pw.encode(), chal, hashlib.md5).hexdigest() == digest
        elif mech == "XOAUTH2":
            resp = base64.b64decode(initial) if initial else ask(b"")
            if resp is not None:
                fields = dict(f.split("=", 1) for f in resp.decode().split("\x01") if "=" in f)
                user = fields.get("user")
                ok = user in users and fields.get("auth") == "Bearer " + users[user]
        else:
            return self._reply(s, ["504 5.5.4 Unrecognized authentication type"], arg)
        if ok:
            conn.auth = user
            return self._reply(s, ["235 2.7.0 Authentication successful"], arg)
        return self._reply(s, ["535 5.7.8 Authentication credentials invalid"], arg)


def _code(rep) -> int:
    """The reply code a client reads from ``rep`` (0: none)."""
    if not rep or not isinstance(rep[0], str) or not rep[0][:3].isdigit():
        return 0
    return int(rep[0][:3])


class _LineReader:
    def __init__(self, s: socket.socket, reads: Optional[List[bytes]] = None) -> None:
        self.s = s
        self.buf = b""
        self.reads = reads

    def readline(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if self.reads is not None and chunk:
                self.reads.append(chunk)
            if not chunk:
                out, self.buf = self.buf, b""
                return out
            self.buf += chunk
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out
