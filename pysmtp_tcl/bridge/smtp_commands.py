"""``smtp::sendmessage``: option parsing (tcllib's texts), services from the
``mime`` layer, and mapping the core's outcome to Tcl (result, error or
return code 7)."""
from __future__ import annotations

import functools
import operator
import tkinter

from ..smtp import envelope as envmod
from ..smtp.commands import CommandError
from ..smtp.failures import INTERNAL_TEXT, LOG
from ..smtp.session import (AuthFailure, CredentialsRefused, EnvelopeError, OpenFailure,
                            ProtocolFailure, SessionOptions)
from ..smtp.sendmessage import CallerFailure, InputError, InternalFailure, SendRequest, Services, send
from .context import Context
from .options import (boolean, list_string, refuse_control, refuse_header_injection,
                      split_list)
from .reactor import TclReactor
from .registry import TclError, TclReturn, tclcommand
from . import values
from .values import call_string, tcl_string

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Dict, List, Optional, Tuple

_BOOLEAN = {"-atleastone": "atleastone", "-debug": "debug", "-queue": "queue",
            "-usetls": "usetls", "-tlsimport": "tlsimport",
            # ours (COMPATIBILITY.md): opt-in hardening
            "-tlsverify": "tlsverify", "-tlsrequire": "tlsrequire", "-insecureauth": "insecureauth",
            "-pipelining": "pipelining"}


#: What session_options() reads of the parsed options.
_SESSION_KEYS = ("servers", "ports", "tlsimport", "tlsrequire", "client", "debug", "maxsecs", "queue",
                 "usetls", "tlspolicy", "pipelining", "username", "password", "tlsverify", "cafile",
                 "insecureauth", "authmechanism")
_session_key = operator.itemgetter(*_SESSION_KEYS)
#: SendRequest.session when before_connect supplies the options.
_NO_SESSION = SessionOptions()


def _number(ctx: Context, option: str, value: str) -> float:
    """A number of seconds in any of Tcl's notations (``0x10``, ``1e2``),
    negative meaning 0 as in tcllib."""
    import tkinter

    try:
        n = float(ctx.tk.getdouble(value))
    except (tkinter.TclError, ValueError):
        raise TclError('%s expects a number of seconds, not "%s"' % (option, value)) from None
    return max(0.0, n)


def _check_cafile(path: str) -> None:
    """A -cafile must load now, not fail after STARTTLS was sent."""
    import ssl

    try:
        ssl.create_default_context(cafile=path)
    except OSError as e:
        if isinstance(e, ssl.SSLError):
            raise TclError('-cafile "%s" holds no usable CA certificate (%s)'
                           % (path, e.reason or e)) from None
        text = e.strerror or str(e)
        raise TclError('-cafile "%s": %s' % (path, text[:1].lower() + text[1:])) from None


def parse_options(ctx: Context, args: Tuple[str, ...]) -> Dict[str, Any]:
    """tcllib's option loop: same order of checks and the same texts."""
    if len(args) % 2:
        raise TclError("Each option must have a value!  Invalid option list: "
                       + list_string(ctx, list(args)))
    o: Dict[str, Any] = {"atleastone": False, "debug": False, "queue": False, "usetls": True,
                         "tlsimport": False, "tlsverify": False, "tlsrequire": False,
                         "insecureauth": False, "authmechanism": None, "tlspolicy": "", "pipelining": True,
                         "maxsecs": 120.0, "originator": None, "recipients": "",
                         "servers": "localhost", "ports": "25", "client": "",
                         "username": "", "password": "", "headers": [], "cafile": None}
    for option, value in zip(args[::2], args[1::2]):
        if option in _BOOLEAN:
            o[_BOOLEAN[option]] = boolean(value)
        elif option == "-tlspolicy":
            o["tlspolicy"] = value
        elif option == "-maxsecs":
            o["maxsecs"] = _number(ctx, option, value)
        elif option == "-header":
            kv = split_list(ctx, value)
            if len(kv) != 2:
                raise TclError("-header expects a key and a value, not " + value)
            if kv[0].lower() in envmod.FORBIDDEN:
                raise TclError(envmod.FORBIDDEN_TEXT)
            refuse_header_injection("-header", kv[0], kv[1])
            o["headers"].append((kv[0], kv[1]))
        elif option == "-originator":
            refuse_control(option, value)
            o["originator"] = value
        elif option == "-recipients":
            refuse_control(option, value)
            o["recipients"] = value
        elif option == "-servers":
            o["servers"] = value  # split later, where tcllib does
        elif option == "-ports":
            o["ports"] = value
        elif option == "-client":
            refuse_control(option, value)
            o["client"] = value
        elif option == "-username":
            o["username"] = value
        elif option == "-password":
            o["password"] = value
        elif option == "-cafile":
            _check_cafile(value)
            o["cafile"] = value
        elif option == "-authmechanism":
            from ..smtp.auth import MECHANISMS as AUTH_MECHANISMS

            if value.upper() not in AUTH_MECHANISMS:
                raise TclError('-authmechanism must be one of %s, not "%s"'
                               % (", ".join(sorted(AUTH_MECHANISMS)), value))
            o["authmechanism"] = value.upper()
        else:
            raise TclError("unknown option " + option)
    o["headers"] = tuple(o["headers"])
    return o


def _options(ctx: Context, args: Tuple[str, ...]) -> Dict[str, Any]:
    """:func:`parse_options`, kept while the argument list repeats: apart
    from ``-cafile`` (the file is read each time) it is a function of the
    words alone.  The result is shared: never modified."""
    last = ctx.memo.get("options")
    if last is not None and last[0] == args:
        return last[1]
    o = parse_options(ctx, args)
    if "-cafile" not in args:
        ctx.memo["options"] = (args, o)
    return o


def _split_list(ctx: Context, value: str) -> List[str]:
    """``-servers``/``-ports`` as Tcl's ``foreach`` reads them: Tcl's error
    text and ``-errorcode`` (``TCL VALUE LIST …``) for a malformed list."""
    try:
        return split_list(ctx, value)
    except TclError as e:
        errorcode = call_string(ctx.tk, "apply", "{v} {catch {llength $v} m o; dict get $o -errorcode}", value)
        raise TclError(e.message, values.split_list(ctx.tk, errorcode)) from None


def _services(ctx: Context) -> Services:
    # The mime layer's Python functions, called directly (no Tcl round trip),
    # with the side effects tcllib's calls have (token numbers, clock).
    # $tcl_platform(user) is read only when it is needed.  Made once per
    # interpreter; the functions hold the context weakly, so the memo puts
    # no reference cycle around the interpreter (one freed by the garbage
    # collector on another thread makes Tcl abort).
    services = ctx.memo.get("services")
    if services is None:
        import weakref

        from ..mime import address, unique_id
        from .mime_text_commands import parse_addresses

        c = weakref.proxy(ctx)
        # parse_addresses is a pure function of its argument (and of the
        # host name, fixed unless it is non-ASCII) apart from the token
        # number each call uses up: then a repeated send may reuse its
        # envelope, using up as many numbers (sendmessage.prepare)
        pure = ctx.hostname().isascii()
        services = ctx.memo["services"] = Services(
            parse_addresses=lambda s: parse_addresses(c, s),
            now_proper=functools.partial(_now_proper_command, c),
            unique_id=unique_id,
            user=lambda: _script_command(c, "set", "::tcl_platform(user)"),
            parse_quietly=lambda s: address.parseaddress(s, c.hostname()),
            spend_parses=(lambda n: c.tokens.skip(n)) if pure else None,
            envelopes={} if pure else None,
        )
    return services


#: the body of tcl/mime.tcl's mime::parsedatetime shim
_PARSEDATETIME_SHIM = "::pysmtp_tcl::invoke mime::parsedatetime [info level 0]"


def _now_proper_command(ctx: Context) -> str:
    """``::mime::parsedatetime -now proper``, as tcllib's sendmessage calls
    it: a script may have redefined the command (fixed dates in its own
    tests).  While it is still our shim, its implementation is called
    directly: the shim is recognised by its body (``info body``) and then
    watched by a command trace, so later sends need no Tcl call at all
    until it is renamed, deleted or redefined (``proc`` deletes the old
    command: the trace fires)."""
    watch = ctx.memo.get("parsedatetime_ours")
    if watch is not None and watch[0]:
        return watch[1](ctx)  # mime_text_commands._now_proper
    from .mime_text_commands import _now_proper
    try:
        body = tcl_string(ctx.tk, ctx.tk.call("info", "body", "::mime::parsedatetime"))
    except tkinter.TclError:  # not a proc (renamed, an alias, a C command)
        body = None
    if body is not None and body.strip() == _PARSEDATETIME_SHIM:
        _watch_parsedatetime(ctx, watch)
        return _now_proper(ctx)
    return _script_command(ctx, "::mime::parsedatetime", "-now", "proper")


def _script_command(ctx: Context, *words: str) -> str:
    """Run what tcllib runs in the script's interpreter during a send (the
    script may have replaced or removed it); its error reaches the script
    as it is, message and ``errorCode`` (:class:`CallerFailure`).

    :raises CallerFailure: holding the :class:`TclError`.
    """
    try:
        return call_string(ctx.tk, *words)
    except tkinter.TclError as e:
        code = None
        if ctx.tk.call("info", "exists", "::errorCode") in (1, "1", True):
            code = values.split_list(ctx.tk, ctx.tk.call("set", "::errorCode"))
        raise CallerFailure(TclError(str(e), code)) from None


#: the command the trace on our ::mime::parsedatetime shim calls
_REPLACED = "::pysmtp_tcl::_parsedatetime_replaced"


def _watch_parsedatetime(ctx: Context, watch: Optional[List[Any]]) -> None:
    # A trace that fires more often than needed (e.g. when a renamed shim,
    # which keeps its trace, is deleted) only brings the info body check
    # back.  The command holds the flag alone (no reference to ctx).
    if watch is None:
        from .mime_text_commands import _now_proper

        watch = [False, _now_proper]
        ctx.tk.createcommand(_REPLACED, lambda *_: watch.__setitem__(0, False))
        ctx.memo["parsedatetime_ours"] = watch
    try:
        ctx.tk.call("trace", "add", "command", "::mime::parsedatetime", ("rename", "delete"), _REPLACED)
    except tkinter.TclError:
        return
    watch[0] = True


def _tlspolicy(ctx: Context, prefix: str):
    if not prefix:
        return None

    def policy(code: int, diagnostic: str) -> str:
        # tcllib: catch {eval $policy [list $code] [list $diag]} policy
        rc, result, _ = ctx.run_callback(prefix, str(code), diagnostic)
        return tcl_string(ctx.tk, result)

    return policy


def _deliver(ctx: Context, req: SendRequest, o: Dict[str, Any], debug: Any) -> List[Tuple[str, str, str]]:
    """Send through the delivery layer (a configuration file or ``--route
    sendmail``); its own failures become a Tcl error or return code 7."""
    from ..delivery.deliver import DeliveryError, ScriptSide
    from ..delivery.sendmail import HandoffError

    script = call_string(ctx.tk, "apply", "{} {if {[info script] ne {}} {file normalize [info script]}}")
    side = ScriptSide(debug=o["debug"], maxsecs=o["maxsecs"], queue=o["queue"],
                      atleastone=o["atleastone"], client=o["client"], script=script, warn=ctx.write_stderr,
                      pipelining=o["pipelining"],
                      stdout=lambda line: (ctx.call("puts", "stdout", line), ctx.call("flush", "stdout")))
    try:
        return ctx.delivery.send(req, TclReactor(ctx), _services(ctx), side, debug, pool=ctx.pool)
    except DeliveryError as e:
        raise TclError(e.message, e.errorcode) from None
    except HandoffError as e:
        if e.reply is None:
            raise TclError(e.message, ("SMTP", "SENDMAIL")) from None
        raise TclReturn(7, e.reply.as_tcl_list()) from None


@tclcommand("smtp::sendmessage")
def sendmessage(ctx: Context, token: str, *args: str) -> Any:
    """``smtp::sendmessage token ?option value ...?`` (tcllib smtp 1.5.1).

    Returns ``""`` or a list of ``{address code diagnostic}``; raises a Tcl
    error for option, envelope, bad-input (``-errorcode {SMTP BADINPUT
    option}``) and connection failures and returns code 7 for protocol
    failures, with tcllib's texts.  No Python exception text ever reaches
    the script: a bug of ours is a Tcl error with ``-errorcode {SMTP
    INTERNAL}`` (code 7 when it happens during the dialogue), logged to the
    Python logger ``pysmtp_tcl``.
    """
    try:
        return _sendmessage(ctx, token, *args)
    except (TclError, TclReturn):
        raise
    except Exception as e:  # last resort: no Python text reaches the script
        LOG.error("internal error in smtp::sendmessage", exc_info=(type(e), e, e.__traceback__))
        raise TclError(INTERNAL_TEXT, ("SMTP", "INTERNAL")) from None


def _sendmessage(ctx: Context, token: str, *args: str) -> Any:
    o = _options(ctx, args)
    entity = ctx.tokens.lookup(token)
    if entity is None:
        raise TclError('can\'t read "state(header)": no such variable', ("TCL", "LOOKUP", "VARNAME"))

    def session_options() -> SessionOptions:
        # The same options as the last send give the same SessionOptions:
        # kept (with the lists already split) rather than made again.
        key = (_session_key(o), ctx.route)
        last = ctx.memo.get("session_options")
        if last is not None and last[0] == key:
            return last[1]
        servers = _split_list(ctx, o["servers"])
        ports = _split_list(ctx, o["ports"])
        tlsimport, tlsrequire = o["tlsimport"], o["tlsrequire"]
        if ctx.route is not None:
            # --route / capture mode: every send goes there (capture: in
            # clear, to the embedded server on loopback).
            servers, ports = [ctx.route.host], [str(ctx.route.port)]
            tlsimport = tlsimport and not ctx.route.plain
            tlsrequire = tlsrequire and not ctx.route.plain
        client = o["client"] or ("localhost" if o["servers"] == "localhost" else ctx.hostname())
        opts = SessionOptions(servers=servers, ports=ports, client=client,
                              client_is_default=not o["client"], debug=o["debug"],
                              maxsecs=o["maxsecs"], queue=o["queue"], usetls=o["usetls"],
                              tlspolicy=_tlspolicy(ctx, o["tlspolicy"]), tlspolicy_name=o["tlspolicy"],
                              tlsimport=tlsimport, pipelining=o["pipelining"],
                              username=o["username"], password=o["password"],
                              # a CA file given means: verify against it
                              tls_verify=o["tlsverify"] or o["cafile"] is not None,
                              tls_require=tlsrequire,
                              cafile=o["cafile"], insecure_auth=o["insecureauth"],
                              auth_mechanism=o["authmechanism"],
                              # Tcl's own port syntax and wording (bridge/host.py)
                              port_parser=ctx.host.port, not_connected=ctx.host.not_connected)
        if not o["tlspolicy"]:  # (its closure holds ctx: see _services)
            ctx.memo["session_options"] = (key, opts)
        return opts

    req = SendRequest(entity=entity, originator=o["originator"], recipients=o["recipients"],
                      headers=o["headers"], atleastone=o["atleastone"], session=_NO_SESSION)
    debug = ctx.write_stderr if o["debug"] else None
    try:
        if ctx.delivery is None:
            refused = send(req, TclReactor(ctx), _services(ctx), debug, before_connect=session_options,
                           pool=ctx.pool)
        else:
            refused = _deliver(ctx, req, o, debug)
    except CallerFailure as e:  # a command of the script's failed (tcllib's text)
        raise e.error from None
    except envmod.EnvelopeError as e:
        raise TclError(str(e)) from None
    except InputError as e:
        # bad input, like tcllib's option errors: a Tcl error, nothing sent
        raise TclError(str(e), ("SMTP", "BADINPUT", e.option)) from None
    except CommandError as e:
        # a value refused by the renderer during the dialogue (the checks
        # before connecting make this rare); the session was aborted
        raise TclError(str(e), ("SMTP", "BADINPUT")) from None
    except InternalFailure:
        raise TclError(INTERNAL_TEXT, ("SMTP", "INTERNAL")) from None
    except EnvelopeError as e:
        raise TclError(str(e), ("SMTP", "SMTPUTF8")) from None
    except CredentialsRefused as e:
        raise TclError(str(e), ("SMTP", "PLAINTEXTAUTH")) from None
    except OpenFailure as e:
        msg = e.message
        raise TclError(msg.as_tcl_list() if not isinstance(msg, str) else msg,  # type: ignore[arg-type]
                       e.errorcode) from None
    except (ProtocolFailure, AuthFailure) as e:
        raise TclReturn(7, e.reply.as_tcl_list()) from None
    return tuple(refused)
