"""Tcl commands ``mime::initialize`` ... ``mime::uniqueID`` (tcllib 1.21
``mime`` 1.7.0 semantics) on top of :mod:`pysmtp_tcl.mime`.

Only argument handling, tokens and Tcl I/O live here; the MIME work is in
the pure-Python core.  Error texts are tcllib's, including the Tcl-level
ones a script sees for a bad token (``can't read "state(header)": no such
variable``).  The text helpers (qp_*, word_*, field_decode, parseaddress,
parsedatetime) are in ``mime_text_commands.py``.
"""
from __future__ import annotations

import tkinter
from typing import Any, List, Optional, Sequence

from ..mime import Entity, HeaderValueError, MimeError, build_message, generate
from ..mime import mapencoding, reversemapencoding, unique_id
from ..mime.body import BodyError, body_pieces, decode_string_body
from ..mime.contenttype import format_content_type
from ..mime.parser import _parse_lines, parse_file, parse_string
from ..mime.tclarray import array_order
from .registry import TclError, TclReturn, tclcommand, to_tcl

__all__: List[str] = []


# --- tokens -------------------------------------------------------------------

def _new_token(ctx: Any) -> str:
    # tcllib takes the number before parsing, so a failed initialize still
    # uses one up
    token = ctx.tokens.new(None)
    ctx.tokens.drop(token)
    return token


def _adopt(ctx: Any, token: str, entity: Entity) -> None:
    """Register ``entity`` and name its parsed subordinates as tcllib does
    (``TOKEN-1``, ``TOKEN-1-2`` ...)."""
    entity.token = token
    ctx.tokens.register(token, entity)
    if entity.dynamic:
        for i, child in enumerate(entity.parts, 1):
            _adopt(ctx, "%s-%d" % (token, i), child)


def token_of(ctx: Any, entity: Entity) -> str:
    """The token naming ``entity``; one is made for entities built in
    Python (e.g. by the smtp layer) that have none yet."""
    if entity.token is None or ctx.tokens.lookup(entity.token) is not entity:
        _adopt(ctx, ctx.tokens.new(entity), entity)
    return entity.token


def _entity(ctx: Any, token: str, var: str) -> Entity:
    e = ctx.tokens.lookup(token)
    if not isinstance(e, Entity):
        raise TclError('can\'t read "state(%s)": no such variable' % var)
    return e


# --- helpers --------------------------------------------------------------------

def _split(ctx: Any, value: Any) -> tuple:
    """A Tcl list's elements, NUL-safe.

    ``tk.splitlist`` refuses a str holding U+0000 (``TypeError: splitlist()
    argument must be encoded string without null bytes``), so the list is
    split by Tcl itself (``lrange $value 0 end``), which tkinter hands back
    as a tuple with NULs intact (an empty list comes back as ``""``).
    """
    if isinstance(value, tuple):
        return value
    try:
        items = ctx.tk.call("lrange", value, 0, "end")
    except tkinter.TclError as e:
        raise TclError(str(e))
    if not isinstance(items, tuple):
        if items == "" or items is None:
            return ()
        items = (items,)  # pragma: no cover - lrange gives a list object
    # elements of a list parsed from a string are strings; keep any other
    # object (nested list, number) in its Tcl string form
    return tuple(x if isinstance(x, str) else str(ctx.tk.call("string", "range", x, 0, "end"))
                 for x in items)


def _options(ctx: Any, args: Sequence[str]) -> dict:
    """``array set options $args``: pairs, later ones win."""
    if len(args) % 2:
        raise TclError("list must have an even number of elements")
    return dict(zip(args[0::2], args[1::2]))


def _guard(fn):
    """Turn core errors into Tcl errors with their message."""
    def run(ctx: Any, *args: str) -> Any:
        try:
            return fn(ctx, *args)
        except (MimeError, HeaderValueError) as e:
            raise TclError(str(e))
        except tkinter.TclError as e:
            raise TclError(str(e))
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


# --- initialize / finalize --------------------------------------------------------

@tclcommand("mime::initialize")
@_guard
def initialize(ctx: Any, *args: str) -> str:
    """``mime::initialize ?-canonical type/subtype? ?-param {k v}?...
    ?-encoding e? ?-header {k v}?... (-file f | -string s | -parts {t...})``."""
    token = _new_token(ctx)
    e = Entity()
    canonical = None
    given = {}
    user_header = False
    i = 0
    while i < len(args):
        option = args[i]
        if i + 1 >= len(args):
            raise TclError("missing argument to %s" % option)
        value = args[i + 1]
        i += 2
        if option == "-canonical":
            e.set_content(value)  # refuses non-tokens (header injection)
            canonical = e.content
        elif option == "-param":
            pair = _split(ctx, value)
            if len(pair) != 2:
                raise TclError("-param expects a key and a value, not %s" % value)
            e.add_param(str(pair[0]), str(pair[1]))
        elif option == "-encoding":
            e.set_encoding(value)
        elif option == "-header":
            pair = _split(ctx, value)
            if len(pair) != 2:
                raise TclError("-header expects a key and a value, not %s" % value)
            lower = str(pair[0]).lower()
            if lower == "content-type":
                raise TclError("use -canonical instead of -header %s" % value)
            if lower == "content-transfer-encoding":
                raise TclError("use -encoding instead of -header %s" % value)
            e.add_init_header(str(pair[0]), str(pair[1]))
            user_header = True
        elif option in ("-file", "-string", "-parts"):
            given[option] = value
        elif option == "-lineslist":  # tcllib-internal, kept for old callers
            given["-lineslist"] = value
        else:
            raise TclError("unknown option %s" % option)

    if len(given) != 1 and "-string" not in given and "-lineslist" not in given:
        # tcllib skips this check once -string was seen (it tests for the
        # line list -string makes), and then prefers -string for canonical
        # parts and -file for parsing
        raise TclError("specify exactly one of -file, -parts, or -string")
    kind = next(k for k in ("-string", "-parts", "-file", "-lineslist") if k in given)
    if canonical is None and "-file" in given and "-parts" not in given:
        kind = "-file"
    value = given[kind]

    if canonical is not None:
        e.canonical = True
        e.content = canonical
        if kind == "-string":
            e.value, e.string = "string", value
        elif kind == "-file":
            e.value, e.file = "file", value
        else:
            e.value = "parts"
            e.parts = [_part(ctx, t) for t in _split(ctx, value)]
        e.finish_canonical()
        _adopt(ctx, token, e)
        return token

    if e.params:
        raise TclError("-param requires -canonical")
    if e.encoding:
        raise TclError("-encoding requires -canonical")
    if user_header:
        raise TclError("-header requires -canonical")
    if kind == "-parts":
        raise TclError("-parts requires -canonical")
    if kind == "-file":
        parsed = parse_file(value)
    elif kind == "-lineslist":
        parsed = _parse_lines([str(x) for x in _split(ctx, value)])
    else:
        parsed = parse_string(value)
    _adopt(ctx, token, parsed)
    return token


def _part(ctx: Any, token: str) -> Entity:
    e = ctx.tokens.lookup(str(token))
    if not isinstance(e, Entity):
        raise TclError('can\'t read "state(header)": no such variable')
    return e


@tclcommand("mime::finalize")
@_guard
def finalize(ctx: Any, token: str, *args: str) -> str:
    """``mime::finalize token ?-subordinates all|dynamic|none?``."""
    opts = {"-subordinates": "dynamic"}
    opts.update(_options(ctx, args))
    which = opts["-subordinates"]
    if which not in ("all", "dynamic", "none"):
        raise TclError("unknown value for -subordinates %s" % which)
    e = ctx.tokens.lookup(token)
    if not isinstance(e, Entity):
        if which == "none":
            raise TclError('can\'t unset "%s": no such variable' % token)
        raise TclError('can\'t read "state(%s)": no such variable'
                       % ("value" if which == "all" else "cid"))
    _finalize(ctx, token, e, which, args)
    return ""


def _finalize(ctx: Any, token: str, e: Entity, which: str, args: Sequence[str]) -> None:
    if which == "all" or (which == "dynamic" and e.dynamic):
        for child in reversed(e.parts) if which == "dynamic" else e.parts:
            t = child.token
            if t is not None and ctx.tokens.lookup(t) is child:
                _finalize(ctx, t, child, which, args)
    ctx.tokens.drop(token)
    if e.token == token:
        e.token = None


# --- properties and headers --------------------------------------------------------

def _has_parts(e: Entity) -> bool:
    return e.value == "parts" and (e.canonical or bool(e.parts) or e.parts_listed)


@tclcommand("mime::getproperty")
@_guard
def getproperty(ctx: Any, token: str, *prop: str) -> Any:
    """``mime::getproperty token ?property|-names?``."""
    e = _entity(ctx, token, "content")
    p = prop[0] if prop else ""
    if p == "":
        props = {"content": e.content, "encoding": e.encoding,
                 "params": _flat(e.params), "size": e.size()}
        if _has_parts(e):
            props["parts"] = tuple(token_of(ctx, c) for c in e.parts)
        out: List[Any] = []
        for k in array_order(["content", "encoding", "params", "size", "parts"]):
            if k in props:
                out += [k, props[k]]
        return tuple(out)
    if p == "-names":
        return ("content", "encoding", "params") + (("parts",) if _has_parts(e) else ())
    if p == "content":
        return e.content
    if p == "encoding":
        return e.encoding
    if p == "params":
        return _flat(e.params)
    if p == "parts":
        if not _has_parts(e):
            raise TclError("MIME part is a leaf")
        return tuple(token_of(ctx, c) for c in e.parts)
    if p == "size":
        return e.size()
    raise TclError("unknown property %s" % p)


def _flat(pairs) -> tuple:
    return tuple(x for kv in pairs for x in kv)


@tclcommand("mime::getheader")
@_guard
def getheader(ctx: Any, token: str, *key: str) -> Any:
    """``mime::getheader token ?key|-names?``."""
    e = _entity(ctx, token, "header")
    k = key[0] if key else ""
    if k == "":
        out = ["MIME-Version", e.version]
        for name, value in e.headers.items():
            out += [name, value]
        te = e.checked_transfer_encoding()
        if te:
            out += ["Content-Transfer-Encoding", te]
        out += ["Content-Type", format_content_type(e)]
        return tuple(out)
    if k == "-names":
        return tuple(e.header_names())
    lower = k.lower()
    if lower == "content-transfer-encoding":
        return e.checked_transfer_encoding()  # a plain string in tcllib
    try:
        return tuple(e.get_header(lower))
    except KeyError:
        raise TclError("key %s not in header" % k)


@tclcommand("mime::setheader")
@_guard
def setheader(ctx: Any, token: str, key: str, value: str, *args: str) -> Any:
    """``mime::setheader token key value ?-mode write|append|delete?``;
    returns the previous values."""
    opts = {"-mode": "write"}
    opts.update(_options(ctx, args))
    e = _entity(ctx, token, "header")
    return tuple(e.set_header(key, value, opts["-mode"]))


# --- bodies and output ------------------------------------------------------------

@tclcommand("mime::getbody")
@_guard
def getbody(ctx: Any, token: str, *args: str) -> Any:
    """``mime::getbody token ?-decode? ?-command cb ?-blocksize n??``."""
    args = list(args)
    decode = "-decode" in args
    if decode:
        args.remove("-decode")
    opts = _options(ctx, args)
    command = opts.get("-command")
    bs_text = opts.get("-blocksize", "4096")
    try:
        blocksize = int(bs_text, 0)
    except ValueError:
        try:
            blocksize = int(float(bs_text))
        except ValueError:
            raise TclError('can\'t use non-numeric string as operand of "-"')
    if blocksize < 1:
        raise TclError("-blocksize expects a positive integer, not %s" % bs_text)
    e = _entity(ctx, token, "value")

    if command is None:
        try:
            result = _join(body_pieces(e))
        except BodyError:
            raise TclError("error")  # tcllib's getbodyaux: `error $reason`
    else:
        result = _run_callbacks(ctx, e, command, blocksize)

    if decode:
        charset = "US-ASCII"
        for k, v in e.params:
            if k == "charset":
                charset = v
        enc = reversemapencoding(charset)
        if not enc:
            raise TclError("-decode failed: can't reversemap charset %s" % charset)
        result = ctx.call("encoding", "convertfrom", enc, to_tcl(result, ctx.tk))
    return result


def _join(pieces) -> Any:
    items = list(pieces)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if all(isinstance(p, bytes) for p in items):
        return b"".join(items)
    return "".join(p.decode("latin-1") if isinstance(p, bytes) else p for p in items)


def _run_callbacks(ctx: Any, e: Entity, command: str, blocksize: int) -> Any:
    if e.value == "string":
        body = decode_string_body(e)  # errors here bypass the callback (tcllib)
        pieces = iter([body])
    else:
        pieces = body_pieces(e)
        if e.value == "parts":
            next(pieces)  # raises "MIME part isn't a leaf"
    code, result = 0, ""
    pending: Any = None
    try:
        for piece in pieces:
            pending = piece if pending is None else pending + piece
            while len(pending) > blocksize:
                code, result, _ = ctx.run_callback(command, "data", to_tcl(pending[:blocksize], ctx.tk))
                pending = pending[blocksize:]
                if code:
                    break
            if code:
                break
        if not code and pending:
            code, result, _ = ctx.run_callback(command, "data", to_tcl(pending, ctx.tk))
    except BodyError as err:
        code, result = 1, str(err)
    if code:
        code, result, opts = ctx.run_callback(command, "error", result)
    else:
        code, result, opts = ctx.run_callback(command, "end")
    if code:
        raise TclReturn(code, result, _pass_options(ctx, opts))
    return result


def _pass_options(ctx: Any, opts: Any) -> tuple:
    # keep -errorcode / -errorinfo; drop -code and -level (break/continue
    # must reach the caller of getbody as such)
    items = _split(ctx, opts)
    out: list = []
    for k, v in zip(items[0::2], items[1::2]):
        if str(k) in ("-errorcode", "-errorinfo"):
            out += [str(k), v]
    return tuple(out)


@tclcommand("mime::copymessage")
@_guard
def copymessage(ctx: Any, token: str, channel: str) -> str:
    """``mime::copymessage token channel``: write through the channel's own
    translation and encoding (``puts -nonewline``), then flush."""
    e = _entity(ctx, token, "header")

    def write(chunk: Any) -> None:
        ctx.call("puts", "-nonewline", channel, to_tcl(chunk, ctx.tk))

    generate(e, write)
    ctx.call("flush", channel)
    return ""


@tclcommand("mime::buildmessage")
@_guard
def buildmessage(ctx: Any, token: str) -> bytes:
    """``mime::buildmessage token``: the message as CRLF octets (a Tcl
    byte array)."""
    return build_message(_entity(ctx, token, "header"))


# --- small ones -------------------------------------------------------------------

@tclcommand("mime::uniqueID")
def unique_id_cmd(ctx: Any) -> str:
    """``mime::uniqueID``: ``<pid.seconds.n@hostname>``."""
    return unique_id()


@tclcommand("mime::mapencoding")
def mapencoding_cmd(ctx: Any, enc: str) -> str:
    """``mime::mapencoding tclEncoding`` -> MIME charset or ``""``."""
    return mapencoding(enc)


@tclcommand("mime::reversemapencoding")
def reversemapencoding_cmd(ctx: Any, charset: str) -> str:
    """``mime::reversemapencoding charset`` -> Tcl encoding or ``""``."""
    return reversemapencoding(charset)
