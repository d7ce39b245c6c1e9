"""Tcl commands ``mime::qp_encode qp_decode word_encode word_decode
field_decode parseaddress parsedatetime`` on the pure cores
(:mod:`pysmtp_tcl.mime.qp`, ``encoded_words``, ``address``, ``dates``).

Also public, for other bridge modules that need tcllib's behaviour with this
interpreter's Tcl: :class:`TclCodec` (charset conversion with Tcl's
``encoding``) and :class:`TclClock` (Tcl's ``clock``, so ``::env(TZ)`` set
by the script is honoured), plus :func:`tcl_truth` (``if {$v}`` semantics).

Arguments arrive exactly as the script gave them (the shim procs in
``tcl/mime.tcl`` have tcllib's formals, so Tcl checks the counts).  Values
tcllib evaluates with ``if``/``expr`` are evaluated by Tcl here too, so the
error messages are Tcl's own.
"""
from __future__ import annotations

import functools
import os
import time
import tkinter

from ..mime import address, dates, encoded_words, qp
from .registry import TclError, tclcommand
from .values import call_string, tcl_string

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Union

__all__ = ["TclCodec", "TclClock", "tcl_truth", "EnvWatch"]

_TRUTH = "v {if {$v} {return 1}; return 0}"
_ROOM = "{m n} {expr {$m - $n - 7}}"


def tcl_truth(ctx: Any, value: str) -> bool:
    """``if {$value}`` as Tcl evaluates it (booleans, numbers); raises
    :class:`TclError` with Tcl's message (``expected boolean value but got
    "x"``)."""
    if value in ("0", "1"):
        return value == "1"
    try:
        return call_string(ctx.tk, "apply", _TRUTH, value) == "1"
    except tkinter.TclError as e:
        raise TclError(str(e)) from None


def _octets(data: str) -> Union[bytes, str]:
    # A str of U+0000-U+00FF goes to / comes from Tcl as a byte array.
    try:
        return data.encode("latin-1")
    except UnicodeEncodeError:
        return data


class TclCodec:
    """:class:`pysmtp_tcl.mime.encoded_words.Codec` on Tcl's ``encoding
    convertto/convertfrom`` (all Tcl encodings).  Octets the charset does
    not define are read as Tcl 8.6 reads them, on Tcl 9 too; text the
    charset cannot hold is converted by the host's rules (Tcl 9: an error,
    not 8.6's silent ``?``).  See bridge/host.py.
    """

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def convertto(self, enc: str, text: str) -> str:
        try:
            out = self.ctx.call("encoding", "convertto", enc, text)
        except tkinter.TclError as e:
            raise encoded_words.WordError(str(e)) from None
        return tcl_string(self.ctx.tk, out)  # a byte array: one char per octet

    def convertfrom(self, enc: str, octets: str) -> str:
        try:
            return self.ctx.host.decode_octets(enc, _octets(octets))
        except TclError as e:
            raise encoded_words.WordError(e.message) from None


class TclClock:
    """:class:`pysmtp_tcl.mime.dates.Clock` on Tcl's ``clock``: the
    interpreter's ``::env(TZ)`` decides local time, and ``clock scan``'s
    free-form grammar and error texts are Tcl's."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def now(self) -> int:
        return int(self.ctx.call("clock", "seconds"))

    def scan(self, text: str, gmt: bool) -> int:
        try:
            if gmt:
                return int(self.ctx.call("clock", "scan", text, "-gmt", 1))
            return int(self.ctx.call("clock", "scan", text))
        except tkinter.TclError as e:
            raise dates.DateError(str(e)) from None

    def format(self, seconds: int, fmt: str, gmt: bool) -> str:
        try:
            return call_string(self.ctx.tk, "clock", "format", seconds, "-format", fmt, "-gmt", int(gmt))
        except tkinter.TclError as e:
            raise dates.DateError(str(e)) from None


@tclcommand("mime::qp_encode")
def qp_encode(ctx: Any, string: str, encoded_word: str = "0", no_softbreak: str = "0") -> str:
    """``mime::qp_encode string ?encoded_word? ?no_softbreak?``"""
    ew = tcl_truth(ctx, encoded_word)
    return qp.qp_encode(string, ew, tcl_truth(ctx, no_softbreak))


@tclcommand("mime::qp_decode")
def qp_decode(ctx: Any, string: str, encoded_word: str = "0") -> Union[bytes, str]:
    """``mime::qp_decode string ?encoded_word?``; octets come back as a
    byte array."""
    return _octets(qp.qp_decode(string, tcl_truth(ctx, encoded_word)))


@tclcommand("mime::word_encode")
def word_encode(ctx: Any, charset: str, method: str, string: str, *args: str) -> str:
    """``mime::word_encode charset method string ?-charset_encoded B?
    ?-maxlength N?``, checked in tcllib's order."""
    try:
        mime = encoded_words.check_word_args(charset, method)
        if len(args) % 2:
            raise TclError("list must have an even number of elements")
        options = {"-charset_encoded": "1", "-maxlength": "66"}
        options.update(zip(args[::2], args[1::2]))  # unknown keys: ignored
        codec = TclCodec(ctx)
        text = encoded_words.word_text(
            charset, string, tcl_truth(ctx, options["-charset_encoded"]), codec)
        if not text:
            return ""
        try:
            room = ctx.call("apply", _ROOM, options["-maxlength"], len(mime))
        except tkinter.TclError as e:
            raise TclError(str(e)) from None
        room = room if isinstance(room, (int, float)) else _number(tcl_string(ctx.tk, room))
        return encoded_words.encode_words(
            charset, method, text, room + len(mime) + 7, options["-maxlength"], codec)
    except encoded_words.WordError as e:
        raise TclError(str(e)) from None


def _number(text: str) -> Union[int, float]:
    try:
        return int(text)
    except ValueError:
        return float(text)


@tclcommand("mime::word_decode")
def word_decode(ctx: Any, encoded: str) -> tuple:
    """``mime::word_decode encoded`` -> ``{tclencoding method octets}``."""
    try:
        enc, method, data = encoded_words.word_decode(encoded)
    except encoded_words.Base64Error as e:
        raise TclError(ctx.host.base64_error(e.char, e.position)) from None
    except encoded_words.WordError as e:
        raise TclError(str(e)) from None
    return (enc, method, _octets(data))


@tclcommand("mime::field_decode")
def field_decode(ctx: Any, field: str) -> str:
    """``mime::field_decode field``"""
    try:
        return encoded_words.field_decode(field, TclCodec(ctx))
    except encoded_words.Base64Error as e:
        raise TclError(ctx.host.base64_error(e.char, e.position)) from None
    except encoded_words.WordError as e:
        raise TclError(str(e)) from None


@tclcommand("mime::parseaddress")
def parseaddress(ctx: Any, string: str) -> tuple:
    """``mime::parseaddress string`` -> list of key/value lists."""
    return address.as_tcl_list(parse_addresses(ctx, string))


def parse_addresses(ctx: Any, string: str) -> list:
    """``mime::parseaddress`` for Python callers (smtp::sendmessage): the
    property dicts, with the same side effect on token numbers."""
    # tcllib parses in a scratch ::mime::N state array: a parse takes one
    # token number, and scripts see the gap in later mime::initialize tokens.
    ctx.tokens.take()
    return [dict(a) for a in _parsed(string, ctx.hostname())]


@functools.lru_cache(maxsize=256)
def _parsed(string: str, hostname: str) -> tuple:
    # address.parseaddress is pure; a script sends from and to the same
    # addresses again and again (callers get copies: the dicts are theirs)
    return tuple(address.parseaddress(string, hostname))


@tclcommand("mime::parsedatetime")
def parsedatetime(ctx: Any, value: str, property: str) -> Union[int, str]:
    """``mime::parsedatetime value property``"""
    try:
        if value == "-now" and property == "proper":
            return _now_proper(ctx)
        return dates.parsedatetime(value, property, TclClock(ctx))
    except dates.DateError as e:
        raise TclError(str(e)) from None


class _SecondClock(TclClock):
    """Tcl's clock, with "now" fixed to one second."""

    def __init__(self, ctx: Any, now: int) -> None:
        super().__init__(ctx)
        self._now = now

    def now(self) -> int:
        return self._now


def _now_proper(ctx: Any) -> str:
    """``-now proper`` (every smtp::sendmessage's Date): computed once per
    second and time zone, as the value depends on nothing else: from the C
    library's local time when neither ``TCL_TZ`` nor ``TZ`` is set (the zone
    file Tcl's clock would read; :func:`dates.proper_localtime`), else, and
    near an offset change, with Tcl's clock (six ``clock`` calls).  "Now"
    is Python's ``time.time()``, the clock Tcl's ``clock seconds`` reads;
    the time zone is Tcl's ``::env(TCL_TZ)`` / ``::env(TZ)``, watched by
    :class:`EnvWatch` (no Tcl call per send)."""
    now = int(time.time())
    key = (now, EnvWatch.of(ctx).generation, _env_get(_TCL_TZ), _env_get(_TZ))
    cached = ctx.memo.get("now_proper")
    if cached is not None and cached[0] == key:
        return cached[1]
    text = None
    if key[2] is None and key[3] is None and _LIBC_ZONE and not _tcl_names_zone(ctx):
        # Tcl's clock would read the C library's zone file: computed here,
        # without loading Tcl's clock library (~15 ms in every process
        # that sends once); near an offset change Tcl's clock decides.
        # tzset: the C library reads the zone again, in case a TZ the
        # script set (and Tcl's clock made the C library read) is gone
        time.tzset()
        text = dates.proper_localtime(now)
    if text is None:
        text = str(dates.parsedatetime("-now", "proper", _SecondClock(ctx, now)))
    ctx.memo["now_proper"] = (key, text)
    return text


#: Where Tcl's clock, given no TCL_TZ or TZ, uses the system's zone file
#: (/etc/localtime, as the C library does); on Windows it guesses a zone
#: from the registry
_LIBC_ZONE = os.name == "posix"


def _tcl_names_zone(ctx: Any) -> bool:
    # Tcl's env array reads the C environment (a script's `set env(TZ)`,
    # Python's os.environ), so this sees what Tcl's clock would see; an
    # empty TZ counts as naming one (Tcl ignores it, the C library does not)
    return call_string(ctx.tk, "expr", "[info exists ::env(TZ)] || [info exists ::env(TCL_TZ)]") != "0"


# os.environ's own table (what Python's putenv changes), read without the
# Mapping layer's Python calls; keys as os.environ stores them
_env_get = getattr(getattr(os.environ, "_data", None), "get", None)
try:
    _TCL_TZ, _TZ = os.environ.encodekey("TCL_TZ"), os.environ.encodekey("TZ")  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - not CPython's os.environ
    _TCL_TZ, _TZ = "TCL_TZ", "TZ"
if _env_get is None:  # pragma: no cover
    _env_get = os.environ.get


class EnvWatch:
    """Counts the script's writes and unsets of Tcl's ``env`` array (a Tcl
    variable trace), so values that depend on ``::env(TZ)`` can be kept
    until it changes.  (A change made through Python's ``os.environ`` is
    seen there; the trace sees Tcl's side.)

    :ivar generation: grows with every change.
    """

    COMMAND = "::pysmtp_tcl::_envtrace"

    def __init__(self, tk: Any) -> None:
        self.tk = tk
        self.generation = 0
        self.active = False

    @classmethod
    def of(cls, ctx: Any) -> "EnvWatch":
        """The context's watch, its trace set (again, after ``unset env``)."""
        watch = ctx.memo.get("envwatch")
        if watch is None:
            watch = ctx.memo["envwatch"] = cls(ctx.tk)
            ctx.tk.createcommand(cls.COMMAND, watch._fired)
        if not watch.active:
            ctx.tk.call("trace", "add", "variable", "::env", ("write", "unset"), cls.COMMAND)
            watch.active = True
            watch.generation += 1
        return watch

    def _fired(self, *args: Any) -> str:
        # name1 name2 op: a whole-array unset ("" for name2) takes the
        # trace with it
        self.generation += 1
        if len(args) == 3 and str(args[2]) == "unset" and str(args[1]) == "":
            self.active = False
        return ""

    def close(self) -> None:
        """Remove the trace and the command (uninstall)."""
        try:
            if self.active:
                self.tk.call("trace", "remove", "variable", "::env", ("write", "unset"), self.COMMAND)
            self.tk.deletecommand(self.COMMAND)
        except tkinter.TclError:
            pass
        self.active = False
