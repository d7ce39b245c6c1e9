"""Content-Type values: tcllib's parser and tcllib's output format.

Parsing follows tcllib's RFC 2045 §5.1 lexer: atoms end at white space or at
one of ``; , < > : ? ( ) @ " [ ] = / \\``; ``(comments)`` are skipped;
quoted values lose their quotes and their quoted-pair backslashes (tcllib
keeps those; COMPATIBILITY.md); a bare ``message``
means ``message/rfc822``.  Parameter keys are lower-cased; a repeated key
keeps the last value; the list order is Tcl's array order.
"""
from __future__ import annotations

import re

from .headers import TCL_SPACE, HeaderValueError, visible
from .ids import make_boundary
from .rfc2231 import decode_rfc2231, format_param
from .tclarray import array_get

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List, Optional, Tuple

__all__ = ["parse_content_type", "ContentTypeError", "format_content_type", "PARAM_INDENT",
           "check_canonical", "check_param", "quote_param_value", "is_token"]

#: What separates parameters in tcllib's output: ";" LF and 14 spaces.
PARAM_INDENT = ";\n              "

_TOKENS = ';,<>:?()@"[]=/\\'
_ATOM, _END, _QSTRING, _DLITERAL, _ERR = "atom", "end", "qstring", "dliteral", "err"


class ContentTypeError(ValueError):
    """Unparsable Content-Type (tcllib ignores the field then)."""


# --- what initialize -canonical / -param accept (not checked by tcllib) ------

# RFC 2045 §5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
_TOKEN_SRC = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_TOKEN_RE = re.compile(_TOKEN_SRC + r"\Z")
# RFC 5322 §3.2.4 quoted-string without CTLs (TAB allowed; 8-bit allowed, as
# tcllib writes it and RFC 6532 permits)
_QSTRING_SRC = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
# (the optional ";" with white space on both sides is one group: "[ \t]*;?[ \t]*"
# let a long run of spaces be split between the two in quadratic many ways)
_CANONICAL_RE = re.compile(
    r"%(t)s/%(t)s(?:[ \t]*;[ \t]*%(t)s[ \t]*=[ \t]*(?:%(t)s|%(q)s))*[ \t]*(?:;[ \t]*)?\Z"
    % {"t": _TOKEN_SRC, "q": _QSTRING_SRC})
# a parameter value may hold anything but ASCII control chars other than TAB
_BAD_VALUE_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def is_token(s: str) -> bool:
    """RFC 2045 §5.1 ``token``."""
    return bool(_TOKEN_RE.match(s))


def check_canonical(value: str) -> None:
    """``-canonical``: ``type/subtype`` (RFC 2045 §5.1 tokens), optionally
    followed by well-formed ``; name=value`` parameters (tcllib writes the
    value verbatim and scripts do pass ``"text/plain; charset=utf-8"``).

    :raises HeaderValueError: ``-canonical value "..." is not a valid
        content type ...`` -- e.g. for a line break, which would end or
        forge header fields.
    """
    if not _CANONICAL_RE.match(value):
        raise HeaderValueError(
            '-canonical value "%s" is not a valid content type: expected type/subtype'
            " made of RFC 2045 §5.1 tokens (parameters go in -param)" % visible(value))


def check_param(name: str, value: str) -> None:
    """``-param {name value}``: the name an RFC 2045 §5.1 token, the value
    free of CR, LF, NUL and other ASCII control chars except TAB (they cannot
    be written in a quoted-string, RFC 5322 §3.2.4; CR/LF would forge header
    fields).  ``"`` and ``\\`` are fine: they are escaped on output.

    :raises HeaderValueError: naming the option, parameter and value.
    """
    if not is_token(name):
        raise HeaderValueError('-param name "%s" is not a valid parameter name'
                               " (RFC 2045 §5.1 token)" % visible(name))
    if _BAD_VALUE_RE.search(value):
        raise HeaderValueError(
            '-param %s value "%s" contains CR, LF, NUL or another control character:'
            " refused, it would break the Content-Type header (RFC 2045 §5.1,"
            " RFC 5322 §3.2.4)" % (name, visible(value)))


def quote_param_value(value: str) -> str:
    """``"value"`` as an RFC 5322 quoted-string: ``\\`` and ``"`` get a
    backslash (tcllib writes them bare, so ``x"; boundary="EVIL`` replaced
    the boundary).  Values without them are written as tcllib does."""
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % value


_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def next(self) -> Tuple[str, str]:
        """``(kind, text)``; kind is a token char, or one of the _X names."""
        s = self.s
        while True:
            while self.i < len(s) and s[self.i] in TCL_SPACE:
                self.i += 1
            if self.i >= len(s):
                return _END, "end-of-input"
            c = s[self.i]
            if c == "(":
                if not self._skip_comment():
                    return _ERR, "end-of-input during comment"
                continue
            break
        start = self.i
        if c in '"[':
            close = '"' if c == '"' else "]"
            j = self.i + 1
            while j < len(s):
                if s[j] == "\\":
                    j += 2
                    continue
                if s[j] == close:
                    self.i = j + 1
                    return (_QSTRING if c == '"' else _DLITERAL), s[start:j + 1]
                j += 1
            self.i = len(s)
            return _ERR, "end-of-input during " + ("quoted-string" if c == '"' else "domain-literal")
        if c in _TOKENS:
            self.i += 1
            return c, c
        j = self.i + 1
        while j < len(s) and s[j] not in " \t\n" and s[j] not in _TOKENS:
            j += 1
        self.i = j
        return _ATOM, s[start:j]

    def _skip_comment(self) -> bool:
        depth, j, s = 0, self.i, self.s
        while j < len(s):
            c = s[j]
            if c == "\\":
                j += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth < 1:
                    self.i = j + 1
                    return True
            j += 1
        self.i = len(s)
        return False


def parse_content_type(value: str) -> Tuple[str, List[Tuple[str, str]]]:
    """Parse a Content-Type field body.

    :returns: ``(type/subtype lower-case, [(key, value)])``; RFC 2231
        parameters are also given decoded (see :mod:`.rfc2231`) and those
        added keys are listed in the list's ``derived`` attribute.
    :raises ContentTypeError: with tcllib's message (``expecting ...``).
    """
    lex = _Lexer(value)
    kind, text = lex.next()
    if kind != _ATOM:
        raise ContentTypeError("expecting type (found %s)" % text)
    ctype = text.lower()
    kind, text = lex.next()
    if kind == _END:
        if ctype != "message":
            raise ContentTypeError("expecting type/subtype (found %s)" % ctype)
        return "message/rfc822", []
    if kind != "/":
        raise ContentTypeError('expecting "/" (found %s)' % text)
    kind, text = lex.next()
    if kind != _ATOM:
        raise ContentTypeError("expecting subtype (found %s)" % text)
    ctype += "/" + text.lower()
    pairs: List[Tuple[str, str]] = []
    while True:
        kind, text = lex.next()
        if kind == _END:
            break
        if kind != ";":
            raise ContentTypeError('expecting ";" (found %s)' % text)
        kind, text = lex.next()
        if kind == _END:
            break
        if kind != _ATOM:
            raise ContentTypeError("expecting attribute (found %s)" % text)
        attr = text.lower()
        kind, text = lex.next()
        if kind != "=":
            raise ContentTypeError('expecting "=" (found %s)' % text)
        kind, text = lex.next()
        if kind == _QSTRING:
            # undo quoted-pairs (RFC 5322 §3.2.4); tcllib keeps the
            # backslashes, so its own escaped output would not round-trip
            text = _QUOTED_PAIR.sub(r"\1", text[1:-1])
        elif kind != _ATOM:
            raise ContentTypeError("expecting value (found %s)" % text)
        pairs.append((attr, text))
    pairs, derived = decode_rfc2231(pairs)
    return ctype, _Params(array_get(pairs), derived)


class _Params(list):
    """A parameter list that remembers which keys were derived."""

    def __init__(self, items, derived=frozenset()):
        super().__init__(items)
        self.derived = frozenset(derived)


def boundary_of(params) -> str:
    """The ``boundary`` parameter's value, or ``""``."""
    for k, v in params:
        if k == "boundary":
            return v
    return ""


def format_content_type(entity, boundary: Optional[str] = None, *, wire: bool = False,
                        charset: Optional[str] = None) -> str:
    """The Content-Type field body as tcllib writes it: the type, then each
    parameter as ``;\\n              key="value"``.

    A multipart part without a ``boundary`` parameter gets ``boundary``
    appended (the given one, else a fresh one).  tcllib 1.7.0 appends it
    only when there are no parameters at all and then writes a second,
    broken ``;`` line (COMPATIBILITY.md, shared case 07).

    :param wire: the form that is sent: a non-ASCII value of a script-made
        part in RFC 2231 form (``name*=utf-8''r%C3%A9sum%C3%A9.pdf``, with
        continuations when long; tcllib writes the raw characters, which
        RFC 2045 §5.1 does not allow).  ``getheader`` shows the values as
        given.
    :param charset: the ``charset`` value to write instead of the part's
        own, added last when the part has none (see :mod:`.textbody`).
    """
    if not entity.params and charset is None and not entity.content.startswith("multipart/"):
        return entity.content  # (what the rest gives: the type alone)
    out = [entity.content]
    derived = getattr(entity.params, "derived", ())
    rfc2231 = wire and entity.canonical
    for k, v in entity.params:
        if k in derived:
            continue
        if charset is not None and k == "charset":
            v = charset
        if rfc2231 and not v.isascii():
            out.extend(PARAM_INDENT + item
                       for item in format_param(k, v, len(PARAM_INDENT) - 2))
        else:
            out.append("%s%s=%s" % (PARAM_INDENT, k, quote_param_value(v)))
    if charset is not None and not any(k == "charset" for k, _ in entity.params):
        out.append('%scharset="%s"' % (PARAM_INDENT, charset))
    if entity.content.startswith("multipart/") and not boundary_of(entity.params):
        out.append('%sboundary="%s"' % (PARAM_INDENT, boundary or make_boundary()))
    return "".join(out)
