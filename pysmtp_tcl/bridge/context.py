"""Per-interpreter state shared by the command implementations."""
from __future__ import annotations

from collections import namedtuple

from .host import Host
from .values import call_string
from .tokens import TokenRegistry

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Optional, Tuple


Route = namedtuple("Route", "host port plain", defaults=(False,))
Route.__doc__ = """An override for every send: ``host`` (str), ``port`` (int);
``plain`` (bool, default False) also turns off implicit TLS (capture mode's
server speaks plain SMTP).  (Immutable; a ``collections.namedtuple`` rather
than a dataclass or ``typing.NamedTuple``: ``dataclasses`` imports
``inspect`` and ``typing`` costs ~4 ms, time that ``package require`` need
not pay.)"""


class Context:
    """What a command implementation gets as ``ctx``.

    :ivar tk: the tkinter ``tkapp`` object (``tkinter.Tcl().tk``); every call
        must stay on the interpreter's thread.
    :ivar tokens: ``::mime::N`` token registry.
    :ivar route: where every ``smtp::sendmessage`` goes whatever its
        ``-servers``/``-ports`` say (``--route``, capture mode), or ``None``.
    :ivar delivery: a :class:`pysmtp_tcl.delivery.Delivery` (accounts from a
        configuration file, ``--route sendmail``) or ``None``: tcllib's
        behaviour.
    :ivar pool: a :class:`pysmtp_tcl.smtp.pool.Pool` of kept connections
        (opt-in reuse) or ``None``.
    :ivar host: the interpreter's Tcl version and what depends on it.
    """

    def __init__(self, tk: Any) -> None:
        self.tk = tk
        self.host = Host(tk)
        self.tokens = TokenRegistry()
        self.route: Optional[Route] = None
        self.delivery: Optional[Any] = None
        #: kept connections (``--reuse``, ``install(reuse=…)``), or ``None``
        #: (tcllib's connection per send)
        self.pool: Optional[Any] = None
        #: the event-loop services of the pool (:class:`.reactor.TclTimers`)
        self.timers: Optional[Any] = None
        self._seq = 0
        self._hostname: Optional[str] = None
        #: per-interpreter memos of the send path (smtp_commands.py)
        self.memo: dict = {}

    def call(self, *args: Any) -> Any:
        """``tk.call``: runs at level #0 and returns typed values."""
        return self.tk.call(*args)

    def hostname(self) -> str:
        """``info hostname``.  Tcl works it out once per process and keeps
        it (``Tcl_GetHostName``), so it is asked once; a non-ASCII name is
        asked every time (its Tcl string follows the system encoding)."""
        name = self._hostname
        if name is None:
            name = call_string(self.tk, "info", "hostname")
            if name.isascii():
                self._hostname = name
        return name

    def run_callback(self, prefix: str, *args: Any) -> Tuple[int, Any, Any]:
        """Evaluate ``prefix arg ...`` at level #0 (``uplevel #0 $prefix
        $args``, so ``prefix`` may be a multi-word script prefix).

        :returns: ``(code, result, options)``: Tcl return code (int), the
            result and the return-options dict; never raises for Tcl errors.
        """
        out = self.tk.call("::pysmtp_tcl::callback", prefix, *args)
        code, result, options = out
        return int(code), result, options

    def write_stderr(self, line: str) -> None:
        """``puts stderr $line; flush stderr`` on Tcl's own stderr channel
        (so a script's ``-debug`` output interleaves as with tcllib)."""
        self.tk.call("puts", "stderr", line)
        self.tk.call("flush", "stderr")

    def unique_var(self, stem: str = "w") -> str:
        """A fresh global Tcl variable name for private use (vwait etc.)."""
        self._seq += 1
        return "::pysmtp_tcl::%s%d" % (stem, self._seq)
