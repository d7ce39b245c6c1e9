"""Python implementations of Tcl commands, and how their outcomes reach Tcl.

A Python exception escaping a tkinter ``createcommand`` callback reaches Tcl
with an empty message (DESIGN.md §2), so implementations never let one
escape: they *raise* :class:`TclError` / :class:`TclReturn`, and the single
dispatcher registered as ``::pysmtp_tcl::_call`` turns every outcome into a
two-element Tcl list ``{options result}`` that the Tcl trampoline
``::pysmtp_tcl::invoke`` hands on with ``return -options``.  Tcl therefore sees
exactly the return code, ``-errorcode`` and message the command produced,
including tcllib's return code 7.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Callable, Dict, List, Optional, Sequence
    Impl = Callable[..., Any]

__all__ = ["TclError", "TclReturn", "tclcommand", "COMMANDS", "to_tcl", "defer", "NESTING_TEXT"]

#: Tcl's own text (and ``-errorcode {TCL LIMIT STACK}``) when nesting is too
#: deep: what tcllib's recursive procs give for a message nested ~500 deep.
NESTING_TEXT = "too many nested evaluations (infinite loop?)"


class TclError(Exception):
    """A Tcl error (return code 1) with tcllib's message text.

    :param message: the Tcl result (what ``catch`` stores).
    :param errorcode: optional ``-errorcode`` list (sequence of str).
    """

    def __init__(self, message: str, errorcode: Optional[Sequence[str]] = None):
        super().__init__(message)
        self.message = message
        self.errorcode = tuple(errorcode) if errorcode else None


class TclReturn(Exception):
    """A non-error, non-ok Tcl return code (e.g. 3 ``break``, 7 for smtp).

    :param code: Tcl return code (int).
    :param result: the Tcl result value (anything :func:`to_tcl` accepts).
    :param options: extra return options as ``(key, value, ...)`` pairs.
    """

    def __init__(self, code: int, result: Any = "", options: Sequence[Any] = ()):
        super().__init__(code, result)
        self.code = code
        self.result = result
        self.options = tuple(options)


#: Tcl-visible name (e.g. ``"mime::getheader"``) -> implementation
#: ``fn(ctx, *args: str)``.
COMMANDS: Dict[str, Impl] = {}


#: Modules whose commands are registered on first use, by Tcl namespace
#: (``"smtp"`` -> ``["pysmtp_tcl.bridge.smtp_commands"]``): ``package
#: require smtp`` need not load the SMTP core, TLS and all, before a script
#: sends anything.
_DEFERRED: Dict[str, List[str]] = {}


def defer(namespace: str, module: str) -> None:
    """Import ``module`` (which registers commands with :func:`tclcommand`)
    when a command ``namespace::...`` is first dispatched, or any command
    no imported module implements."""
    if module not in _DEFERRED.setdefault(namespace, []):
        _DEFERRED[namespace].append(module)


def _lookup(name: str) -> Optional[Impl]:
    fn = COMMANDS.get(name)
    if fn is None and _DEFERRED:
        import importlib

        # the modules of the command's namespace first; then, if it is
        # still unknown (a module may implement commands of several
        # namespaces), all the others
        for namespace in [name.split("::", 1)[0]] + list(_DEFERRED):
            for module in _DEFERRED.pop(namespace, ()):
                importlib.import_module(module)
            fn = COMMANDS.get(name)
            if fn is not None:
                break
    return fn


def tclcommand(name: str) -> Callable[[Impl], Impl]:
    """Register ``fn(ctx, *args)`` as the implementation behind ``name``.

    The Tcl shim calls ``::pysmtp_tcl::invoke NAME arg ...``; arguments
    arrive as ``str`` exactly as given in Tcl (a Tcl byte array arrives as a
    ``str`` of U+0000-U+00FF chars).  The return value is converted with
    :func:`to_tcl`.
    """

    def register(fn: Impl) -> Impl:
        if name in COMMANDS:
            raise ValueError("duplicate Tcl command implementation: " + name)
        COMMANDS[name] = fn
        return fn

    return register


def to_tcl(value: Any, tk: Any = None) -> Any:
    """Convert a Python result to something tkinter turns into the right
    Tcl value: ``str``, ``bytes`` (byte array), ``int``, nested tuples (lists).

    ``str`` with U+0000 is corrupted by tkinter on Python < 3.13 (DESIGN.md
    §2), so such strings go as byte arrays when they fit in 8 bits, else
    through Tcl's own UTF-8 decoder.
    """
    if isinstance(value, str):
        if "\x00" not in value:
            return value
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            if tk is None:
                raise
            from .host import from_utf8   # rare path; host imports this module
            return from_utf8(tk, _utf8(value))
    if isinstance(value, (list, tuple)):
        return tuple(to_tcl(v, tk) for v in value) if value else ()
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return ""
    return value


def _utf8(value: str) -> bytes:
    """The UTF-8 Tcl holds ``value`` in.  tkinter hands a Tcl string
    holding a lone surrogate (Tcl 8.6 reads CESU-8 ``ED B3 BF`` as U+DCFF)
    to Python as one U+DC80-U+DCFF char per octet (surrogateescape): those
    go back as their octets; other lone surrogates as CESU-8."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


_OK = ("-code", 0)


def dispatch(ctx: Any, name: str, *args: str) -> tuple:
    """Run one command; always returns ``(options, result)``, never raises."""
    try:
        fn = COMMANDS.get(name) or _lookup(name)
        if fn is None:
            raise TclError('invalid command name "%s"' % name)
        result = fn(ctx, *args)
        if result.__class__ is str and "\x00" not in result:
            return _OK, result  # what to_tcl gives for it (the usual result)
        return _OK, to_tcl(result, ctx.tk)
    except TclError as e:
        opts: tuple = ("-code", 1)
        if e.errorcode:
            opts += ("-errorcode", e.errorcode)
        return opts, to_tcl(e.message, ctx.tk)
    except TclReturn as e:
        return ("-code", e.code) + to_tcl(e.options, ctx.tk), to_tcl(e.result, ctx.tk)
    except RecursionError:
        # a part tree nested deeper than the Python stack allows (a hostile
        # message, or -parts nested in a loop): tcllib's recursive procs
        # meet Tcl's nesting limit at about the same depth (~500 levels)
        return ("-code", 1, "-errorcode", ("TCL", "LIMIT", "STACK")), NESTING_TEXT
    except Exception as e:  # a bug of ours: no Python text for the script
        # the text and logger of smtp::sendmessage's (imported here, not at
        # start-up: the smtp core is loaded when first used)
        from ..smtp.failures import INTERNAL_TEXT, LOG

        LOG.error("internal error in %s", name, exc_info=(type(e), e, e.__traceback__))
        return ("-code", 1, "-errorcode", ("PYSMTP_TCL", "INTERNAL")), INTERNAL_TEXT
