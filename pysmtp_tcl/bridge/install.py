"""Installing the packages into a Tcl interpreter."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Optional

from .context import Context, Route
from .registry import dispatch

# Packages we provide, with tcllib 1.21's versions so `package require mime
# 1.4` etc. keep working.
PACKAGES = (("mime", "1.7.0", "mime.tcl"), ("smtp", "1.5.1", "smtp.tcl"))


def tcl_dir() -> Path:
    """The directory holding ``pkgIndex.tcl`` and the shims.

    In a source checkout that is ``<repo>/tcl``; an installed wheel carries
    the same files as the package ``pysmtp_tcl._tcl`` (pyproject maps it).
    """
    repo = Path(__file__).resolve().parents[2] / "tcl"
    if (repo / "pkgIndex.tcl").is_file():
        return repo
    spec = importlib.util.find_spec("pysmtp_tcl._tcl")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / "pkgIndex.tcl").is_file():
                return Path(loc)
    raise RuntimeError("pysmtp-tcl: Tcl package files (pkgIndex.tcl) not found")


def _load_command_modules() -> None:
    # Importing a `*_commands` module registers its implementations in
    # registry.COMMANDS; every such module of this package is loaded.
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if mod.name.endswith("_commands"):
            importlib.import_module(__package__ + "." + mod.name)


def install(interp: Any, route: Optional[Route] = None) -> Context:
    """See :func:`pysmtp_tcl.install`."""
    tk = getattr(interp, "tk", interp)
    existing = context_of(tk)
    ctx = existing or Context(tk)
    ctx.route = route if route is not None else ctx.route
    if existing is None:
        _load_command_modules()
        tk.createcommand("::pysmtp_tcl::_call", lambda *a: dispatch(ctx, *a))
        # tkapp objects take neither attributes nor weak references.
        _CONTEXTS[id(tk)] = ctx
    d = tcl_dir()
    tk.call("source", str(d / "pysmtp_tcl.tcl"))
    # Our dir first on auto_path, so a later `package unknown` scan (which
    # lets the first auto_path entry win) does not swap tcllib back in ...
    auto_path = [p for p in tk.splitlist(tk.call("set", "::auto_path")) if str(p) != str(d)]
    tk.call("set", "::auto_path", (str(d),) + tuple(auto_path))
    # ... and provide the packages eagerly, so nothing has to be scanned.
    for name, version, fname in PACKAGES:
        tk.call("package", "forget", name)
        tk.call("package", "ifneeded", name, version, "source " + _tcl_quote(str(d / fname)))
        tk.call("package", "require", name, version)
    return ctx


_CONTEXTS: dict = {}


def context_of(tk: Any) -> Optional[Context]:
    """The context :func:`install` made for ``tk`` (or ``None``)."""
    ctx = _CONTEXTS.get(id(getattr(tk, "tk", tk)))
    return ctx if ctx is not None and ctx.tk is getattr(tk, "tk", tk) else None


def uninstall(interp: Any) -> None:
    """Undo :func:`install`: the Python commands go, tokens are forgotten,
    and the interpreter can be freed (the bridge otherwise keeps it alive:
    Tcl holds our command, which holds the context, which holds the
    interpreter).  ``mime``/``smtp`` procs left behind then fail clearly."""
    tk = getattr(interp, "tk", interp)
    ctx = _CONTEXTS.pop(id(tk), None)
    if ctx is not None:
        try:
            tk.deletecommand("::pysmtp_tcl::_call")
        except Exception:  # already gone with the interpreter
            pass


def _tcl_quote(s: str) -> str:
    return "{" + s + "}" if not any(c in s for c in "{}\\") else '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("[", "\\[") + '"'


class Interpreter:
    """A ``tkinter.Tcl()`` interpreter with the packages installed.

    >>> interp = Interpreter()
    >>> interp.eval('mime::initialize -canonical text/plain -string hi')
    '::mime::1'

    :param route: optional :class:`~pysmtp_tcl.bridge.context.Route`: send
        every message there whatever ``-servers``/``-ports`` say.
    """

    def __init__(self, route: Optional[Route] = None) -> None:
        import tkinter

        self.tcl = tkinter.Tcl()
        self.tcl.tk.call("encoding", "system", "utf-8")
        self.context = install(self.tcl, route=route)

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
