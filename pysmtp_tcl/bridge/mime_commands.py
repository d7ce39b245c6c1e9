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

from ..mime import Entity, HeaderValueError, MimeError, build_message, generate
from ..mime import mapencoding, reversemapencoding, unique_id
from ..mime.body import BodyError, body_pieces, decode_string_body, reading_charset
from ..mime.generator import open_body_file
from ..mime.parser import parse_file, parse_lines, parse_string
from ..mime.tclarray import array_order
from .options import plain_list
from .registry import TclError, TclReturn, tclcommand, to_tcl
from .values import call_string, split_list, tcl_string

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, List, Optional, Sequence, Tuple

__all__: List[str] = []


# --- tokens -------------------------------------------------------------------

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
    if entity.dead:
        return entity.token  # tcllib's parent lists the stale name
    if entity.token is None or ctx.tokens.lookup(entity.token) is not entity:
        _adopt(ctx, ctx.tokens.new(entity), entity)
    return entity.token


def _entity(ctx: Any, token: str, var: str) -> Entity:
    e = ctx.tokens.lookup(token)
    if not isinstance(e, Entity):
        raise TclError('can\'t read "state(%s)": no such variable' % var)
    return e


# --- helpers --------------------------------------------------------------------

def _split(ctx: Any, value: Any) -> List[str]:
    """A Tcl list's elements, NUL-safe, each as its text (values.py); a
    plain list (``-header {X-Tag one}``) split in Python, as Tcl would."""
    if isinstance(value, str):
        plain = plain_list(value)
        if plain is not None:
            return plain
    return split_list(ctx.tk, value)


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
            raise TclError(ctx.host.reword(str(e)))
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
    # tcllib takes the number before parsing, so a failed initialize still
    # uses one up
    token = ctx.tokens.take()
    e = Entity()
    if len(args) == 4 and args[0] == "-canonical" and args[2] == "-string":
        # the usual call (a script's own message): what the option loop
        # and the canonical -string branch below do for these four words
        e.set_content(args[1])  # refuses non-tokens (header injection)
        e.canonical = True
        e.value, e.string = "string", args[3]
        e.finish_canonical()
        _adopt(ctx, token, e)
        return token
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
            if "-parts" in given:
                # tcllib keeps state(parts) beside the string body (no
                # "exactly one" check once -string was seen): getproperty
                # lists them, the body is the string
                e.parts = [_part(ctx, t) for t in _split(ctx, given["-parts"])]
                e.parts_listed = True
        elif kind == "-file":
            e.value, e.file = "file", value
        elif kind == "-lineslist":
            e.value, e.string = "string", ""  # tcllib sets state(string) {}
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
    if "-parts" in given:
        raise TclError("-parts requires -canonical")
    if kind == "-file":
        parsed = parse_file(value)
    elif kind == "-lineslist":
        parsed = parse_lines([str(x) for x in _split(ctx, value)])
    else:
        parsed = parse_string(value)
    _adopt(ctx, token, parsed)
    return token


def _part(ctx: Any, token: str) -> Entity:
    """A ``-parts`` element.  tcllib stores the names unchecked, so a name
    that is no part (yet) gives a dead placeholder: listed by
    ``getproperty parts``, failing like a finalized part elsewhere."""
    e = ctx.tokens.lookup(str(token))
    if not isinstance(e, Entity):
        e = Entity()
        e.token, e.dead = str(token), True
    return e


@tclcommand("mime::finalize")
@_guard
def finalize(ctx: Any, token: str, *args: str) -> str:
    """``mime::finalize token ?-subordinates all|dynamic|none?``."""
    # (no options: the default, without building the array)
    which = _options(ctx, args).get("-subordinates", "dynamic") if args else "dynamic"
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
    """tcllib's finalize: ``all`` finalizes the parts listed (a dead one
    fails on ``state(value)``), ``dynamic`` the parsed subordinates by name
    ``TOKEN-N``, N = count .. 1 (a missing one fails on ``state(cid)``);
    then the token itself.  Parts finalized before a failure stay
    finalized, the token itself survives it."""
    if which == "all" and e.value == "parts":
        for child in list(e.parts):
            if child.dead or ctx.tokens.lookup(child.token or "") is not child:
                if child.dead:
                    raise TclError('can\'t read "state(value)": no such variable')
                # an entity made in Python that never got a token
                continue
            _finalize(ctx, child.token, child, which, args)
    elif which == "dynamic" and e.dynamic:
        for cid in range(len(e.parts), 0, -1):
            name = "%s-%d" % (token, cid)
            child = ctx.tokens.lookup(name)
            if not isinstance(child, Entity):
                raise TclError('can\'t read "state(cid)": no such variable')
            _finalize(ctx, name, child, which, args)
    ctx.tokens.drop(token)
    if e.token == token:
        e.dead = True


# --- properties and headers --------------------------------------------------------

def _has_parts(e: Entity) -> bool:
    if e.value != "parts":
        return e.canonical and e.parts_listed  # -string and -parts given
    return e.canonical or bool(e.parts) or e.parts_listed


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
        out += ["Content-Type", e.get_header("content-type")[0]]
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
    """``mime::getbody token ?-decode? ?-command cb ?-blocksize n??``.

    The body is cut and handed on exactly as tcllib's loops do it (see
    :func:`_deliver`), with ``-blocksize`` evaluated by Tcl's own ``expr``,
    index and ``read`` rules; without ``-command`` tcllib's collecting
    callback (``getbodyaux``) is emulated in Python.
    """
    args = list(args)
    decode = "-decode" in args
    if decode:
        args.remove("-decode")
    opts = _options(ctx, args)
    command = opts.get("-command")
    bs = _BlockSize(ctx, opts.get("-blocksize", "4096"))
    if bs.below_one:
        raise TclError("-blocksize expects a positive integer, not %s" % bs.text)
    e = _entity(ctx, token, "value")

    if command is None:
        sink = _Collector()
        code, result, _ = _deliver(ctx, e, sink, bs)
        if code:  # getbodyaux's `error $reason`
            raise TclError("error")
    else:
        def call(*words: Any) -> Tuple[int, Any, Any]:
            return ctx.run_callback(command, *words)
        code, result, opts_ = _deliver(ctx, e, call, bs)
        if code:
            raise TclReturn(code, result, _pass_options(ctx, opts_))

    if decode:
        charset = "US-ASCII"
        for k, v in e.params:
            if k == "charset":
                charset = v
        enc = reversemapencoding(reading_charset(charset, result))
        if not enc:
            raise TclError("-decode failed: can't reversemap charset %s" % charset)
        # received octets: Tcl 8.6's lenient decoding on Tcl 9 too (host.py)
        result = ctx.host.decode_octets(enc, to_tcl(result, ctx.tk))
    return result


_BLOCKSIZE_FACTS = r"""{bs} {
    set r [list [expr {$bs < 1}]]
    lappend r [catch {expr {$bs - 1}} cc] $cc
    lappend r [catch {string range {} 0 $cc} m] $m
    lappend r [catch {string range {} $bs end} m] $m
    lappend r [catch {expr {$bs + 0}} n] $n
    lappend r [catch {string repeat {} $bs}]
}"""


class _BlockSize:
    """What tcllib's code makes of a ``-blocksize`` value, found out with
    Tcl itself: ``$bs < 1`` (a string comparison for non-numbers: ``""``
    and ``08`` are refused, ``abc`` is not), ``expr {$bs - 1}`` (fails for
    non-numbers), ``string range $f 0 $cc`` (fails for a float ``cc``) and
    ``string range $f $bs end`` (index rules: ``010`` is 8), and
    ``read $fd $bs`` (integers only)."""

    def __init__(self, ctx: Any, text: str) -> None:
        self.text = text
        # the facts' text, taken in Tcl: on Tcl 9 an error message that
        # failed to parse as an index is left a list object
        facts = _split(ctx, call_string(ctx.tk, "apply", _BLOCKSIZE_FACTS, text))
        self.below_one = _truth(facts[0])
        self.cc_error = str(facts[2]) if _truth(facts[1]) else None
        self.cc_index_error = str(facts[4]) if _truth(facts[3]) else None
        self.index_error = str(facts[6]) if _truth(facts[5]) else None
        self.number: Any = None
        if not _truth(facts[7]):
            try:
                self.number = int(str(facts[8]))
            except ValueError:
                self.number = float(str(facts[8]))
        self.read_ok = not _truth(facts[9])
        # the index `string range $f $bs end` starts at (integer forms only)
        self.step = int(self.number) if isinstance(self.number, int) else None

    def exceeded_by(self, n: int) -> bool:
        """Tcl's ``$n > $bs``."""
        if self.number is None:
            return str(n) > self.text  # expr compares non-numbers as strings
        return n > self.number

    def read_error(self) -> str:
        return 'expected non-negative integer but got "%s"' % self.text


def _truth(x: Any) -> bool:
    return str(x) not in ("0", "")


class _Collector:
    """tcllib's ``getbodyaux``: collects ``data``, returns it at ``end``."""

    def __init__(self) -> None:
        self.pieces: List[Any] = []

    def __call__(self, reason: str, *data: Any) -> Tuple[int, Any, Any]:
        if reason == "data":
            self.pieces.append(data[0])
            return 0, "", ""
        if reason == "end":
            return 0, _join(self.pieces), ""
        return 1, "error", ""


class _Stop(Exception):
    """Ends tcllib's ``catch`` around the data loop with a code."""

    def __init__(self, code: int, result: Any) -> None:
        super().__init__(code, result)
        self.code, self.result = code, result


def _deliver(ctx: Any, e: Entity, call: Any, bs: "_BlockSize") -> Tuple[int, Any, Any]:
    """tcllib's ``getbody`` after option parsing: the data loop for the
    part's kind inside a ``catch``, then ``end`` or ``error $result``;
    returns that last call's ``(code, result, options)``.

    Return codes of ``data`` calls act as they do in tcllib's loops:
    ``break`` leaves the innermost ``while`` (for a string body the rest is
    then handed on in one ``data`` call), ``continue`` repeats the same
    ``data`` call (for a canonical file: the next block), any other
    non-zero code (and ``break``/``continue`` outside a loop) ends the
    loop and is reported through ``error``."""
    if e.value == "string":
        body = decode_string_body(e)  # errors here bypass the callback (tcllib)
    elif e.value == "parts":
        raise TclError("MIME part isn't a leaf")
    else:
        body = None
    try:
        if e.value == "string":
            _string_loop(ctx, call, body, bs)
        elif e.canonical:
            _canonical_file_loop(ctx, e, call, bs)
        else:
            _parsed_file_loop(ctx, e, call, bs)
    except _Stop as stop:
        return call("error", stop.result)
    except BodyError as err:
        return call("error", ctx.host.reword(str(err)))
    return call("end")


def _send(ctx: Any, call: Any, piece: Any) -> Tuple[int, Any]:
    """``uplevel #0 $command [list data $piece]``: ``(code, result)``."""
    if not isinstance(call, _Collector):
        piece = to_tcl(piece, ctx.tk)
    code, result, _ = call("data", piece)
    return code, result


def _data(ctx: Any, call: Any, piece: Any) -> int:
    """A ``data`` call inside a ``while``: 0, 3 (break) or 4 (continue);
    other codes end the loop."""
    code, result = _send(ctx, call, piece)
    if code in (0, 3, 4):
        return code
    raise _Stop(code, result)


def _emit_while_longer(ctx: Any, call: Any, frag: Any, bs: "_BlockSize") -> Any:
    """``set cc [expr {$bs - 1}]; while {[string length $fragment] > $bs}
    {data [string range $fragment 0 $cc]; set fragment [string range
    $fragment $bs end]}``; returns what is left of ``frag``."""
    if bs.cc_error is not None:
        raise _Stop(1, bs.cc_error)
    start = 0
    n = len(frag)
    while bs.exceeded_by(n - start):
        if bs.cc_index_error is not None:
            raise _Stop(1, bs.cc_index_error)
        code = _data(ctx, call, frag[start:start + bs.step])
        if code == 3:
            break
        if code == 4:
            continue  # tcllib's `while` runs the same call again
        if bs.index_error is not None:
            raise _Stop(1, bs.index_error)
        start += bs.step
    return frag[start:] if start else frag


def _final(ctx: Any, call: Any, frag: Any) -> None:
    if len(frag) > 0:
        code, result = _send(ctx, call, frag)
        if code:
            raise _Stop(code, result)


def _string_loop(ctx: Any, call: Any, body: Any, bs: "_BlockSize") -> None:
    _final(ctx, call, _emit_while_longer(ctx, call, body, bs))


def _canonical_file_loop(ctx: Any, e: Entity, call: Any, bs: "_BlockSize") -> None:
    # while {[string length [set fragment [read $fd $bs]]] > 0} {data $fragment}
    open_body_file(e.file).close()  # `open` comes before tcllib's catch
    if not bs.read_ok:
        raise _Stop(1, bs.read_error())
    for block in _reblock(body_pieces(e), bs.step):
        code, result = _send(ctx, call, block)
        if code == 3:
            return
        if code not in (0, 4):
            raise _Stop(code, result)


def _parsed_file_loop(ctx: Any, e: Entity, call: Any, bs: "_BlockSize") -> None:
    # while {$pos <= $last} {read min(rest, bs); decode; append fragment;
    # emit while longer than bs}; then the rest in one data call.  Blocks
    # are decoded across read boundaries (COMPATIBILITY.md M9), so the
    # reads are counted in decoded octets.
    open_body_file(e.file).close()  # `open` comes before tcllib's catch
    total = max(0, e.count or 0)
    if total and bs.exceeded_by(total) and not bs.read_ok:
        raise _Stop(1, bs.read_error())
    step = bs.step if bs.read_ok and bs.exceeded_by(total) else None
    frag: Any = None
    for block in _reblock(body_pieces(e), step):
        frag = block if frag is None else frag + block
        frag = _emit_while_longer(ctx, call, frag, bs)
    if frag is not None:
        _final(ctx, call, frag)


def _reblock(pieces: Any, size: Optional[int]) -> Any:
    """Re-cut a stream of pieces into blocks of ``size`` (``None``: one
    block with everything; empty streams give no block)."""
    pending: Any = None
    for piece in pieces:
        if not len(piece):
            continue
        pending = piece if pending is None else pending + piece
        if size is None:
            continue
        start, n = 0, len(pending)
        while n - start >= size:
            yield pending[start:start + size]
            start += size
        pending = pending[start:] if start < n else None
    if pending is not None and len(pending):
        yield pending


def _join(pieces) -> Any:
    items = list(pieces)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if all(isinstance(p, bytes) for p in items):
        return b"".join(items)
    return "".join(p.decode("latin-1") if isinstance(p, bytes) else p for p in items)


def _pass_options(ctx: Any, opts: Any) -> tuple:
    """tcllib ends with ``return -code $code -errorinfo $einfo -errorcode
    $ecode $result``, ``ecode``/``einfo`` read from the globals
    ``errorCode``/``errorInfo`` right after the callback (stale values for
    a non-error code); ``-code``/``-level`` are not passed on, so
    break/continue reach getbody's caller as such."""
    out: list = []
    for name, key in (("::errorInfo", "-errorinfo"), ("::errorCode", "-errorcode")):
        if _truth(ctx.tk.call("info", "exists", name)):
            out += [key, call_string(ctx.tk, "set", name)]
    return tuple(out)


@tclcommand("mime::copymessage")
@_guard
def copymessage(ctx: Any, token: str, channel: str) -> str:
    """``mime::copymessage token channel``: write through the channel's own
    translation and encoding (``puts -nonewline``), then flush."""
    e = _entity(ctx, token, "header")
    seen: dict = {}

    def write(chunk: Any) -> None:
        chunk = ctx.host.channel_chunk(channel, chunk, seen)  # Tcl 9: host.py
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
