"""Where and how each message goes: msmtp-style accounts, secrets
(``passwordeval``), the send log, and the hand-off to the system MTA.

Between the bridge and the SMTP core (bridge -> delivery -> smtp -> mime);
never imports tkinter.  Modules: :mod:`.msmtprc` (the configuration file),
:mod:`.secrets` (passwords and OAuth 2 tokens), :mod:`.sendlog` (log lines,
file, syslog), :mod:`.sendmail` (the local MTA), :mod:`.process` (running
helpers without blocking the event loop), :mod:`.deliver` (the router).

Importing this package is cheap; the modules load when a configuration or
a sendmail route is in force (start-up time matters to short scripts).
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Optional

#: Environment variable naming a configuration file.
CONFIG_ENV = "PYSMTP_TCL_CONFIG"

__all__ = ["Account", "Config", "ConfigError", "Delivery", "DeliveryError", "ScriptSide",
           "SendmailRoute", "CONFIG_ENV", "load", "make_delivery"]

_LAZY = {"Delivery": "deliver", "DeliveryError": "deliver", "ScriptSide": "deliver",
         "Account": "msmtprc", "Config": "msmtprc", "ConfigError": "msmtprc", "load": "msmtprc"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
    raise AttributeError(name)


class SendmailRoute:
    """``--route sendmail[:PATH]``: every message goes to the local MTA's
    ``sendmail`` program (``None``: the system's, see
    :func:`.sendmail.default_path`).  Immutable.  (A plain class, not a
    dataclass: ``dataclasses`` imports ``inspect``, ~6 ms at every start;
    not a tuple: the launcher takes tuples for HOST:PORT routes.)"""

    __slots__ = ("path",)

    def __init__(self, path: Optional[str] = None) -> None:
        object.__setattr__(self, "path", path)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SendmailRoute is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is SendmailRoute and other.path == self.path  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((SendmailRoute, self.path))

    def __repr__(self) -> str:
        return "SendmailRoute(path=%r)" % (self.path,)


def make_delivery(config: Any = None, route: Any = None) -> Any:
    """The :class:`.deliver.Delivery` for an ``install()`` call, or ``None``
    when nothing changes tcllib's behaviour.

    :param config: a file path, ``None`` (then ``$PYSMTP_TCL_CONFIG`` if set
        and no ``route`` is given) or ``False`` (no configuration at all).
    :param route: a :class:`SendmailRoute`, anything else (a host route,
        handled by the bridge) or ``None``.
    :raises ConfigError: the file cannot be used.
    :raises ValueError: a route and a configuration file were both given.
    """
    if isinstance(route, SendmailRoute):
        if config:
            raise ValueError("a sendmail route and a configuration file exclude each other")
        from .deliver import Delivery
        from .sendmail import default_path

        return Delivery(sendmail=route.path or default_path())
    if config is None and route is None:
        config = os.environ.get(CONFIG_ENV) or None
    if not config:
        return None
    if route is not None:
        raise ValueError("a route and a configuration file exclude each other")
    from .deliver import Delivery
    from .msmtprc import ConfigError, load

    try:
        return Delivery(config=load(os.fspath(config)))
    except ConfigError as e:
        _log_config_error(e)
        raise


def _log_config_error(e: Any) -> None:
    """Write a configuration error to the send logs in force where it was
    found (``ConfigError.log``): an admin auditing the log sees why nothing
    went, as for any other failure (msmtp itself logs only failed sends).
    ``logfile -`` is standard output; a log that cannot be written is
    reported on stderr."""
    if not e.log:
        return
    import sys

    from . import sendlog

    info = sendlog.format_info(sendlog.Record(host="", tls=False, auth=False, user=None, sender="",
                                              recipients=(), exitcode="EX_CONFIG", errormsg=str(e),
                                              account=e.account))

    def out(stream: Any) -> Any:
        return lambda line: (stream.write(line + "\n"), stream.flush())

    for t in e.log:
        sendlog.write(t.logfile, t.logfile_time_format, t.syslog, info, True, out(sys.stdout), out(sys.stderr))
