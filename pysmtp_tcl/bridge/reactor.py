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
from typing import Any, Optional

import tkinter  # the bridge is the one layer allowed to use it

from .context import Context


#: A server on the same host usually answers within a millisecond: wait
#: that long in ``select`` first (no Tcl round trips) ...
QUICK_WAIT = 0.001
#: ... as long as Tcl's event loop got its turn within this many seconds, so
#: timers and other file events are never held back longer than that.
EVENT_LOOP_EVERY = 0.010


class TclReactor:
    """:class:`pysmtp_tcl.smtp.connection.Reactor` backed by a Tcl interpreter."""

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
