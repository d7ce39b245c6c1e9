"""Waiting for sockets inside Tcl's event loop.

tcllib waits for the server with ``vwait``, so Tk redraws, ``after`` timers
and other file events (e.g. a tcllib ``smtpd`` in the same interpreter) run
during a send.  :class:`TclReactor` does the same: it registers a Tcl file
handler for the socket and an ``after`` timer, then ``vwait``s on a private
variable.  The wait costs no CPU while idle (Tcl's notifier blocks in
``select``/``epoll``).
"""
from __future__ import annotations

import select
import socket
import time

import tkinter  # the bridge is the one layer allowed to use it

from .context import Context

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Optional


#: A server on the same host usually answers within a millisecond: wait
#: that long in ``select`` first (no Tcl round trips) ...
QUICK_WAIT = 0.001
#: ... as long as Tcl's event loop got its turn within this many seconds, so
#: timers and other file events are never held back longer than that.
EVENT_LOOP_EVERY = 0.010


class TclReactor:
    """:class:`pysmtp_tcl.smtp.connection.Reactor` backed by a Tcl interpreter."""

    #: A plain socket's recv/send may block this long in the kernel before
    #: it comes here (the quick wait, without a select of its own).  The
    #: kernel rounds it up to its tick (4 ms at HZ=250), so the event loop
    #: may wait that much longer than EVENT_LOOP_EVERY for its turn.
    kernel_wait = QUICK_WAIT
    #: ... but not later than this after the last wait here (a server
    #: dripping a reply or draining a message steadily never lets a call
    #: fail with EAGAIN): the event loop and -maxsecs are then seen to.
    kernel_budget = EVENT_LOOP_EVERY

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._serviced = time.monotonic()

    def wait(self, sock: socket.socket, writable: bool, timeout: Optional[float]) -> bool:
        now = time.monotonic()
        if now - self._serviced < EVENT_LOOP_EVERY:
            quick = QUICK_WAIT if timeout is None else min(QUICK_WAIT, timeout)
            r, w, _ = select.select([] if writable else [sock], [sock] if writable else [], [], quick)
            if r or w:
                return True
            if timeout is not None:
                timeout = max(0.0, timeout - quick)
        try:
            return self._wait_in_tcl(sock, writable, timeout)
        finally:
            self._serviced = time.monotonic()

    def _wait_in_tcl(self, sock: socket.socket, writable: bool, timeout: Optional[float]) -> bool:
        tk = self.ctx.tk
        var = self.ctx.unique_var("wait")
        outcome = []

        def ready(_fd: Any, _mask: Any) -> None:
            outcome.append(True)
            tk.call("set", var, "1")

        mask = tkinter.WRITABLE if writable else tkinter.READABLE
        fd = sock.fileno()
        tk.createfilehandler(fd, mask, ready)
        try:
            ms = -1 if timeout is None else max(0, int(timeout * 1000))
            tk.call("::pysmtp_tcl::wait", var, ms)
        finally:
            tk.deletefilehandler(fd)
        return bool(outcome)


class TclTimers:
    """:class:`pysmtp_tcl.smtp.pool.Timers` on Tcl's event loop: ``after``
    timers and file handlers (so kept connections are watched and closed
    while a script waits in ``vwait``, Tk's main loop, or during a send).
    Callbacks never let an exception reach Tcl (it would be stashed by
    tkinter and raised in some later, unrelated call)."""

    COMMAND = "::pysmtp_tcl::_timer"

    def __init__(self, ctx: Context) -> None:
        self.tk = ctx.tk
        self._pending: dict = {}
        self._seq = 0
        self.tk.createcommand(self.COMMAND, self._fire)

    def call_later(self, seconds: float, fn: Any) -> Any:
        self._seq += 1
        n = self._seq
        after_id = self.tk.call("after", max(0, int(seconds * 1000)), (self.COMMAND, n))
        self._pending[n] = (fn, after_id)
        return n

    def cancel(self, handle: Any) -> None:
        entry = self._pending.pop(handle, None)
        if entry is not None:
            try:
                self.tk.call("after", "cancel", entry[1])
            except tkinter.TclError:
                pass

    def _fire(self, n: Any) -> str:
        entry = self._pending.pop(int(n), None)
        if entry is not None:
            _safely(entry[0])
        return ""

    def watch(self, sock: socket.socket, fn: Any) -> None:
        self.tk.createfilehandler(sock.fileno(), tkinter.READABLE, lambda _fd, _mask: _safely(fn))

    def unwatch(self, sock: socket.socket) -> None:
        try:
            self.tk.deletefilehandler(sock.fileno())
        except (OSError, ValueError, tkinter.TclError):
            pass

    def close(self) -> None:
        """Cancel every timer and forget the Tcl command (uninstall)."""
        for n in list(self._pending):
            self.cancel(n)
        try:
            self.tk.deletecommand(self.COMMAND)
        except tkinter.TclError:
            pass


def _safely(fn: Any) -> None:
    try:
        fn()
    except Exception as e:  # a bug of ours: log it, never raise into Tcl
        from ..smtp.failures import LOG

        LOG.error("internal error in a kept connection's event handler", exc_info=(type(e), e, e.__traceback__))
