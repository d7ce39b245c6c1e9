"""Connections kept open between sends (opt-in reuse).

tcllib opens, greets and closes a connection for every
``smtp::sendmessage``; that stays the default.  With reuse on
(``pysmtp-tclsh --reuse[=SECONDS]``, ``install(interp, reuse=…)``) a session
whose send ended with the connection in a known state is kept here, and
the next send whose connection settings are the same (:func:`pool_key`:
servers, ports, client name, TLS settings, credentials, account) starts its
transaction on it instead of connecting again.

- A kept session is idle only between the final reply of one send and the
  MAIL of the next; after an aborted transaction the next one opens with
  RSET (pipelined with MAIL where the server allows it).
- A connection the server closed (or spoke on: a 421, a late reply) while
  idle is never used: :meth:`Pool.take` checks it without waiting, and a
  watcher closes it as soon as the server speaks when the host has an event
  loop (:class:`Timers`).
- An idle session is closed with QUIT after ``idle`` seconds (from the
  host's event loop when it has one, else when next asked for) and by
  :meth:`Pool.close_all` at exit.
- QUIT's reply after a delivered message must be 221 or 421; anything else
  means the replies may have been out of step (COMPATIBILITY.md S16): the
  send that reported success is over by then, so a warning says so.

Pure Python; the Tcl bridge supplies :class:`Timers` backed by ``after``
and file handlers.
"""
from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Callable, Dict, List, Optional, Tuple

from . import commands as cmds
from .connection import SelectorReactor, SMTPIOError
from .replies import Reply, ReplyAssembler

#: Seconds an idle connection is kept (``--reuse`` without a value).
DEFAULT_IDLE = 30.0
#: Seconds to wait for the reply to QUIT when closing a kept connection.
QUIT_WAIT = 5.0


class Timers:
    """Event-loop services for the pool (the Tcl bridge's are ``after``
    timers and file handlers).  Callbacks run on the loop's thread.  An
    interface only (any object with these methods; a ``typing.Protocol``
    would import typing at run time)."""

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Any:
        """Run ``fn`` once after ``seconds``; returns a handle for cancel."""
        ...

    def cancel(self, handle: Any) -> None:
        ...

    def watch(self, sock: Any, fn: Callable[[], None]) -> None:
        """Run ``fn`` whenever ``sock`` is readable (until unwatch)."""
        ...

    def unwatch(self, sock: Any) -> None:
        ...


def pool_key(opts: Any) -> Tuple[Any, ...]:
    """What a kept connection must match to carry a send with ``opts``
    (:class:`~.session.SessionOptions`): the servers and ports asked for,
    the client name, every TLS setting (a ``-tlspolicy`` by its command), the
    credentials (the password as a digest) and AUTH settings, the account,
    ``-queue`` and the account's time-out.  ``-debug``, ``-maxsecs`` and
    ``-pipelining`` may differ from send to send.  (The key of the last
    options object asked about is kept: the bridge passes the same frozen
    options object while a script's options repeat.)"""
    last = _LAST_KEY
    if last and last[0] is opts:
        return last[1]
    key = _pool_key(opts)
    if opts.tlspolicy is None:  # (a -tlspolicy callback may hold an interpreter)
        _LAST_KEY[:] = [opts, key]
    return key


_LAST_KEY: List[Any] = []


def _pool_key(opts: Any) -> Tuple[Any, ...]:
    password = opts.password or ""
    import hashlib  # only with reuse on: a plain send never needs it (start-up)

    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest() if password else ""
    return (tuple(opts.servers), tuple(str(p) for p in opts.ports), opts.client, opts.client_is_default,
            opts.usetls, opts.tlsimport, opts.tlspolicy_name, opts.tlspolicy is not None,
            opts.tls_verify, opts.tls_require, opts.cafile,
            id(opts.tls_context) if opts.tls_context is not None else None, opts.tls_fingerprint,
            opts.username, digest, opts.auth_mechanism, tuple(opts.auth_preference or ()),
            opts.auth_required, opts.auth_needs_verified_tls, opts.insecure_auth, opts.account,
            opts.queue, opts.io_timeout)


class _Idle:
    __slots__ = ("session", "since")

    def __init__(self, session: Any, since: float) -> None:
        self.session = session
        self.since = since  # monotonic seconds


class Pool:
    """Idle sessions by :func:`pool_key` (at most one per key).

    :param idle: seconds an idle connection is kept.
    :param timers: the host's event loop, or ``None`` (idle connections are
        then checked when next asked for, and at :meth:`close_all`).
    :param warn: writes one line for the user (the script's stderr).
    """

    def __init__(self, idle: float = DEFAULT_IDLE, timers: Optional[Timers] = None,
                 warn: Optional[Callable[[str], None]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = float(idle)
        self.timers = timers
        self.warn = warn
        self.clock = clock
        self._idle: Dict[Tuple[Any, ...], _Idle] = {}
        self._closing: List[Any] = []  # sessions sent QUIT, reply awaited
        #: the one pending timer that closes expired idle sessions (not one
        #: timer per kept session: a send over a kept connection then costs
        #: no ``after``/``after cancel`` round trips to the event loop)
        self._sweep: Any = None

    def __len__(self) -> int:
        return len(self._idle)

    # -- use ------------------------------------------------------------------
    def take(self, key: Tuple[Any, ...]) -> Optional[Any]:
        """The idle session for ``key`` if it is still usable (it leaves
        the pool), else ``None`` (a stale one is closed)."""
        entry = self._idle.pop(key, None)
        if entry is None:
            return None
        session = entry.session
        self._unhook(entry)
        if self.clock() - entry.since > self.idle:
            self._quit(session, wait=True)
            return None
        if session.conn.poll_input():
            # EOF, or the server spoke while idle (a 421 before closing, or
            # a late reply): the connection cannot carry a transaction.
            self._server_spoke(session)
            return None
        return session

    def put(self, key: Tuple[Any, ...], session: Any) -> None:
        """Keep ``session`` (idle from now) for the next send with ``key``;
        an older idle session for the same key is closed."""
        old = self._idle.pop(key, None)
        if old is not None:
            self._unhook(old)
            self._quit(old.session, wait=self.timers is None)
        # Waits while idle never run the host's event loop.
        session.conn.reactor = SelectorReactor()
        entry = _Idle(session, self.clock())
        self._idle[key] = entry
        if self.timers is not None and session.conn.sock is not None:
            if self._sweep is None:
                self._sweep = self.timers.call_later(self.idle, self._expire_idle)
            self.timers.watch(session.conn.sock, lambda: self._spoke_while_idle(key, entry))

    def close_all(self) -> None:
        """QUIT every idle session and wait (briefly) for the replies: at
        exit, or when reuse is turned off.  Never raises."""
        entries, self._idle = list(self._idle.values()), {}
        if self._sweep is not None and self.timers is not None:
            try:
                self.timers.cancel(self._sweep)
            except Exception:
                pass
        self._sweep = None
        for entry in entries:
            try:
                self._unhook(entry)
                self._quit(entry.session, wait=True)
            except Exception:  # e.g. the interpreter behind -debug is gone at exit
                pass
            entry.session.conn.close()
        for session in list(self._closing):
            try:
                self._finish(session, None)
            except Exception:
                pass
            session.conn.close()
        self._closing.clear()

    # -- idle housekeeping ------------------------------------------------------
    def _unhook(self, entry: _Idle) -> None:
        if self.timers is None:
            return
        if entry.session.conn.sock is not None:
            self.timers.unwatch(entry.session.conn.sock)

    def _expire_idle(self) -> None:
        """The sweep timer: QUIT every session idle for ``idle`` seconds
        (:data:`_TIMER_SLACK` early at most: the event loop's timers count
        whole milliseconds), then wait for the next one to expire."""
        self._sweep = None
        now = self.clock()
        due: Optional[float] = None
        for key, entry in list(self._idle.items()):
            left = entry.since + self.idle - now
            if left <= _TIMER_SLACK:
                del self._idle[key]
                self._unhook(entry)
                self._quit(entry.session, wait=False)
            elif due is None or left < due:
                due = left
        if due is not None and self.timers is not None:
            self._sweep = self.timers.call_later(due + _TIMER_SLACK, self._expire_idle)

    def _spoke_while_idle(self, key: Tuple[Any, ...], entry: _Idle) -> None:
        if self._idle.get(key) is not entry:
            return
        if not entry.session.conn.poll_input():
            # readable without data for us: TLS housekeeping (a session
            # ticket, a key update) was taken in; the connection stays idle
            return
        del self._idle[key]
        self._unhook(entry)
        self._server_spoke(entry.session)

    def _server_spoke(self, session: Any) -> None:
        """The server closed the idle connection or sent something: show
        it (``-debug``), warn about a reply that may belong to the last
        message (S16), and close."""
        say = session.debug
        try:
            reply = session.hear(0)
        except Exception:  # never raise from the event loop
            reply = Reply.failure("unreadable")
        if say:
            say("    ... %s ..." % ("the server closed the idle connection" if reply.local
                                    else "the server spoke on the idle connection"))
        if session.delivered and reply.code not in (221, 421) and reply.well_formed:
            self._warn_out_of_step(session, "the idle connection got", reply)
        session.conn.close()

    def _quit(self, session: Any, wait: bool) -> None:
        """QUIT (RFC 5321 §4.1.1.10) and close; ``wait``: read the reply
        now (at most :data:`QUIT_WAIT` s), else from the event loop."""
        conn = session.conn
        conn.reactor = SelectorReactor()
        if session.debug:
            session.debug("--> QUIT (wait upto %s seconds)" % _secs(QUIT_WAIT))
        try:
            conn.send(cmds.render(cmds.QUIT), QUIT_WAIT)
        except SMTPIOError:
            conn.close()
            return
        if wait or self.timers is None or conn.sock is None:
            self._finish(session, session.hear(QUIT_WAIT))
            return
        self._closing.append(session)
        asm = ReplyAssembler()
        sock = conn.sock
        state: Dict[str, Any] = {}

        def readable() -> None:
            # Complete lines only; never wait inside the event loop.
            while True:
                if not conn.poll_input():
                    return
                try:
                    line = conn.read_line(0)
                except SMTPIOError as e:
                    if e.timeout:
                        return  # a partial line: wait for more
                    self._finish(session, Reply.failure(e.message))
                    return
                if session.debug:
                    session.debug("<-- " + line)
                reply = asm.add(line)
                if reply is not None:
                    self._finish(session, reply, shown=True)
                    return

        def give_up() -> None:
            state.pop("timer", None)
            self._finish(session, Reply.failure("read from server timed out"))

        def unhook() -> None:
            assert self.timers is not None
            if "timer" in state:
                self.timers.cancel(state.pop("timer"))
            self.timers.unwatch(sock)

        session._pool_unhook = unhook
        state["timer"] = self.timers.call_later(QUIT_WAIT, give_up)
        self.timers.watch(sock, readable)

    def _finish(self, session: Any, reply: Optional[Reply], shown: bool = False) -> None:
        unhook = getattr(session, "_pool_unhook", None)
        if unhook is not None:
            session._pool_unhook = None
            try:
                unhook()
            except Exception:
                pass
        if session in self._closing:
            self._closing.remove(session)
        if reply is None:  # close_all while a QUIT reply was awaited
            reply = session.hear(QUIT_WAIT) if session.conn.sock is not None else Reply.failure("closed")
        if session.delivered and reply.code not in (221, 421) and reply.well_formed:
            self._warn_out_of_step(session, "QUIT was answered", reply)
        session.conn.close()

    def _warn_out_of_step(self, session: Any, what: str, reply: Reply) -> None:
        if self.warn is None:
            return
        try:
            self.warn("pysmtp-tcl: %s \"%d %s\" after the last message to %s, not 221: the replies "
                      "may have been out of step, so whether that message was delivered is unknown"
                      % (what, reply.code, reply.diagnostic, session.server))
        except Exception:
            pass


#: Seconds by which the sweep timer may find a session short of its idle
#: limit and still close it (``after`` counts whole milliseconds).
_TIMER_SLACK = 0.002


def _secs(secs: float) -> str:
    return str(int(secs)) if float(secs).is_integer() else str(secs)
