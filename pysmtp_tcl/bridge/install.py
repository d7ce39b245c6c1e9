"""Installing the packages into a Tcl interpreter."""
from __future__ import annotations

import functools
import os

from .context import Context, Route
from .registry import defer, dispatch
from .values import call_string, split_list

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Optional

# Packages we provide, with tcllib 1.21's versions so `package require mime
# 1.4` etc. keep working.
PACKAGES = (("mime", "mime.tcl"), ("smtp", "smtp.tcl"))


def tcl_dir() -> str:
    """The directory holding ``pkgIndex.tcl`` and the shims.

    In a source checkout that is ``<repo>/tcl``; an installed wheel carries
    the same files as the package ``pysmtp_tcl._tcl`` (pyproject maps it).
    """
    # (os.path, not pathlib: start-up time)
    repo = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "tcl")
    if os.path.isfile(os.path.join(repo, "pkgIndex.tcl")):
        return repo
    import importlib.util

    spec = importlib.util.find_spec("pysmtp_tcl._tcl")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if os.path.isfile(os.path.join(loc, "pkgIndex.tcl")):
                return str(loc)
    raise RuntimeError("pysmtp-tcl: Tcl package files (pkgIndex.tcl) not found")


def _load_command_modules() -> None:
    # Importing a `*_commands` module registers its implementations in
    # registry.COMMANDS; every such module of this package is imported when
    # a command of its namespace (`mime_text_commands` -> mime::) is first
    # called: start-up imports only what the script uses.  (os.listdir:
    # pkgutil.iter_modules imports inspect, ~5 ms.)
    for entry in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
        name, ext = os.path.splitext(entry)
        if name.endswith("_commands") and ext in (".py", ".pyc"):
            defer(name.split("_", 1)[0], __package__ + "." + name)


# Keeps `package require mime|smtp` ours without loading anything early, so
# `package present` / `package provide` answer as in tclsh (not present
# until required).  A `package unknown` scan sources every pkgIndex.tcl on
# auto_path, and tcllib's registers its own mime/smtp (the same versions as
# ours, or newer ones with tcllib 2.0); so after every scan, a package not
# yet loaded is forgotten and only our version is registered again.  A
# package in the middle of being loaded is never forgotten (its load would
# lose its record), hence the `loading` marker around our ifneeded script.
_GUARD_TCL = r"""
namespace eval ::pysmtp_tcl {
    variable packages {}
    variable loading
}
proc ::pysmtp_tcl::load {name file} {
    variable loading
    set loading($name) 1
    try {
        uplevel #0 [list source $file]
    } finally {
        unset -nocomplain loading($name)
    }
}
proc ::pysmtp_tcl::reassert {{only *}} {
    variable packages
    variable loading
    foreach {name version script} $packages {
        if {![string match $only $name]} {
            continue
        }
        if {[package provide $name] eq "" && ![info exists loading($name)]
                && [package versions $name] ne [list $version]} {
            package forget $name
        }
        if {[package ifneeded $name $version] ne $script} {
            package ifneeded $name $version $script
        }
    }
}
proc ::pysmtp_tcl::unknown {next args} {
    try {
        if {[llength $next]} {
            uplevel #0 $next $args
        }
    } finally {
        ::pysmtp_tcl::reassert
    }
}
"""


def reuse_seconds(reuse: Any) -> Optional[float]:
    """The idle limit for ``install(reuse=…)``: ``True`` is
    :data:`~pysmtp_tcl.smtp.pool.DEFAULT_IDLE` (30 s), a number is seconds,
    ``False`` is off (``None``).

    :raises ValueError: anything else (a number must be finite and > 0).
    """
    import math

    if reuse is True:
        from ..smtp.pool import DEFAULT_IDLE

        return DEFAULT_IDLE
    if reuse is False:
        return None
    if isinstance(reuse, (int, float)) and math.isfinite(reuse) and reuse > 0:
        return float(reuse)
    raise ValueError("reuse must be True, False or a number of seconds above 0, not %r" % (reuse,))


def install(interp: Any, route: Any = None, config: Any = None, reuse: Any = None) -> Context:
    """See :func:`pysmtp_tcl.install`."""
    from ..delivery import SendmailRoute, make_delivery

    idle = reuse_seconds(reuse) if reuse is not None else None  # refused before anything is done
    tk = getattr(interp, "tk", interp)
    existing = context_of(tk)
    if existing is None or route is not None or config is not None:
        # before anything is registered: a bad file leaves nothing half-done
        delivery = make_delivery(config, route)
    else:
        delivery = existing.delivery
    ctx = existing or Context(tk)
    if isinstance(route, SendmailRoute):
        ctx.route = None
    elif route is not None:
        ctx.route = route
    ctx.delivery = delivery
    if existing is None:
        _load_command_modules()
        tk.createcommand("::pysmtp_tcl::_call", functools.partial(dispatch, ctx))  # (no Python frame of its own)
        # tkapp objects take neither attributes nor weak references.
        _CONTEXTS[id(tk)] = ctx
    d = tcl_dir()
    tk.call("source", os.path.join(d, "pysmtp_tcl.tcl"))
    # Versions as the host Tcl's tcllib has them (bridge/host.py); the shims
    # provide these.
    versions = ctx.host.package_versions
    for name, _file in PACKAGES:
        tk.call("set", "::pysmtp_tcl::version(%s)" % name, versions[name])
    tk.eval(_GUARD_TCL)
    # Our dir first on auto_path: a scan then meets our pkgIndex.tcl last.
    auto_path = [p for p in split_list(tk, call_string(tk, "set", "::auto_path")) if p != d]
    tk.call("set", "::auto_path", (d,) + tuple(auto_path))
    packages = []
    for name, fname in PACKAGES:
        version = versions[name]
        packages += [name, version, "::pysmtp_tcl::load %s %s" % (name, _tcl_quote(os.path.join(d, fname)))]
    tk.call("set", "::pysmtp_tcl::packages", tuple(packages))
    handler = call_string(tk, "package", "unknown")
    if not str(handler).startswith("::pysmtp_tcl::unknown"):
        tk.call("package", "unknown", ("::pysmtp_tcl::unknown", handler))
    # A package already loaded (tcllib's, or ours by an earlier install())
    # is replaced by ours at once; one already found by a scan is made ours;
    # the others are left for the next scan, as tclsh would find them.
    loaded = [(n, versions[n]) for n, _ in PACKAGES if call_string(tk, "package", "provide", n)]
    for name, _version in loaded:
        tk.call("package", "forget", name)
    for name, _file in PACKAGES:
        if name in dict(loaded) or call_string(tk, "package", "versions", name):
            tk.call("::pysmtp_tcl::reassert", name)
    for name, version in loaded:
        tk.call("package", "require", name, version)
    if reuse is not None:
        _set_reuse(ctx, idle)
    return ctx


def _set_reuse(ctx: Context, idle: Optional[float]) -> None:
    """Turn connection reuse on (``idle`` seconds) or off (``None``); kept
    connections of an earlier setting are closed with QUIT."""
    from ..smtp.pool import Pool
    from .reactor import TclTimers

    if ctx.pool is not None:
        ctx.pool.close_all()
        ctx.pool = None
    if idle is None:
        return
    if ctx.timers is None:
        ctx.timers = TclTimers(ctx)
    ctx.pool = Pool(idle, ctx.timers, warn=ctx.write_stderr)
    _close_pools_at_exit()


_AT_EXIT = []


def _close_pools_at_exit() -> None:
    if not _AT_EXIT:
        import atexit

        atexit.register(close_pools)
        _AT_EXIT.append(True)


def close_pools() -> None:
    """QUIT every kept connection of every installed interpreter (at exit:
    the launcher calls it before Tcl's channels are flushed; ``atexit``
    otherwise).  Never raises."""
    for ctx in list(_CONTEXTS.values()):
        pool = ctx.pool
        if pool is not None:
            try:
                pool.close_all()
            except Exception:
                pass


_CONTEXTS: dict = {}


def context_of(tk: Any) -> Optional[Context]:
    """The context :func:`install` made for ``tk`` (or ``None``)."""
    ctx = _CONTEXTS.get(id(getattr(tk, "tk", tk)))
    return ctx if ctx is not None and ctx.tk is getattr(tk, "tk", tk) else None


def uninstall(interp: Any) -> None:
    """Undo :func:`install`: the Python commands go, tokens are forgotten,
    ``package unknown`` is what it was, and the interpreter can be freed
    (the bridge otherwise keeps it alive: Tcl holds our command, which holds
    the context, which holds the interpreter).  ``mime``/``smtp`` procs left
    behind then fail clearly."""
    tk = getattr(interp, "tk", interp)
    ctx = _CONTEXTS.pop(id(tk), None)
    if ctx is not None:
        if ctx.pool is not None:
            ctx.pool.close_all()
            ctx.pool = None
        if ctx.timers is not None:
            ctx.timers.close()
            ctx.timers = None
        watch = ctx.memo.pop("envwatch", None)
        if watch is not None:
            watch.close()
        try:
            tk.deletecommand("::pysmtp_tcl::_call")
        except Exception:  # already gone with the interpreter
            pass
        try:
            handler = split_list(tk, call_string(tk, "package", "unknown"))
            if len(handler) == 2 and handler[0] == "::pysmtp_tcl::unknown":
                tk.call("package", "unknown", handler[1])
        except Exception:
            pass


def _tcl_quote(s: str) -> str:
    return "{" + s + "}" if not any(c in s for c in "{}\\") else '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("[", "\\[") + '"'


class Interpreter:
    """A ``tkinter.Tcl()`` interpreter with the packages installed and
    loaded (as after ``package require mime; package require smtp``).

    >>> interp = Interpreter()
    >>> interp.eval('mime::initialize -canonical text/plain -string hi')
    '::mime::1'

    :param route: optional :class:`~pysmtp_tcl.bridge.context.Route`: send
        every message there whatever ``-servers``/``-ports`` say (or a
        :class:`pysmtp_tcl.delivery.SendmailRoute`).
    :param config: an msmtprc file (see :func:`pysmtp_tcl.install`).
    :param reuse: keep connections open between sends (see
        :func:`pysmtp_tcl.install`).
    """

    def __init__(self, route: Any = None, config: Any = None, reuse: Any = None) -> None:
        import tkinter

        self.tcl = tkinter.Tcl()
        self.tcl.tk.call("encoding", "system", "utf-8")
        self.context = install(self.tcl, route=route, config=config, reuse=reuse)
        self.tcl.tk.call("package", "require", "smtp")

    def eval(self, script: str) -> str:
        """Evaluate a Tcl script at level #0; returns the result as ``str``.
        Raises ``tkinter.TclError`` on a Tcl error."""
        return self.tcl.eval(script)

    def call(self, *args: Any) -> Any:
        """``tk.call``: one command, arguments not re-parsed."""
        return self.tcl.tk.call(*args)

    def close(self) -> None:
        """Release the interpreter (see :func:`uninstall`)."""
        uninstall(self.tcl)

    def evalfile(self, path: os.PathLike) -> str:
        """``source`` a script file (sets ``info script``)."""
        return self.tcl.tk.evalfile(str(path))
