"""pysmtp-tcl: tcllib's ``mime`` and ``smtp`` Tcl packages, implemented in Python.

Importing this package does not import tkinter; the pure-Python cores live in
:mod:`pysmtp_tcl.mime` and :mod:`pysmtp_tcl.smtp`, the Tcl bridge in
:mod:`pysmtp_tcl.bridge` (loaded on first use).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any

__version__ = "0.1.0"
__all__ = ["install", "uninstall", "Interpreter", "__version__"]


def install(interp: Any, **kwargs: Any) -> Any:
    """Register the ``mime`` and ``smtp`` packages into a Tcl interpreter.

    :param interp: a ``tkinter.Tcl()`` / ``tkinter.Tk()`` object (or its
        ``.tk`` tkapp).
    :param route: optional ``pysmtp_tcl.bridge.context.Route(host, port)``:
        send every ``smtp::sendmessage`` there, whatever its ``-servers``;
        or ``pysmtp_tcl.delivery.SendmailRoute(path)``: hand every message
        to the local MTA's ``sendmail`` program.
    :param config: an msmtprc file (str or path): every message goes
        through the account chosen by its envelope sender.  ``None`` (the
        default): the file named by ``$PYSMTP_TCL_CONFIG``, if set and no
        ``route`` is given; ``False``: none.
    :param reuse: keep a connection open after ``smtp::sendmessage`` for
        the next send with the same server, port, client name, TLS settings
        and credentials (tcllib connects for every message): ``True`` (kept
        while idle for 30 s), a number of seconds (int or float above 0), or
        ``False`` (tcllib's connection per send; the default).  Idle
        connections get QUIT from the Tcl event loop when their time is up
        and at exit.
    :returns: the bridge :class:`~pysmtp_tcl.bridge.context.Context`.
    :raises pysmtp_tcl.delivery.ConfigError: the file cannot be used
        (``str(e)`` names the file, line and command).
    :raises ValueError: ``reuse`` is none of the above.

    Afterwards ``package require mime`` / ``smtp`` in that interpreter give
    ours even when Debian's tcllib is installed (also after any later
    ``package unknown`` scan).  As in tclsh, neither is present before its
    ``package require``; one already loaded (tcllib's) is replaced at once.
    """
    from .bridge.install import install as _install

    return _install(interp, **kwargs)


def uninstall(interp: Any) -> None:
    """Remove what :func:`install` registered, so the interpreter can be
    freed (an installed interpreter is otherwise kept alive)."""
    from .bridge.install import uninstall as _uninstall

    _uninstall(interp)


def __getattr__(name: str) -> Any:
    if name == "Interpreter":
        from .bridge.install import Interpreter

        return Interpreter
    raise AttributeError(name)
