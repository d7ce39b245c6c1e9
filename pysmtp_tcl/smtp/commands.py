"""SMTP commands as values, rendered to wire bytes (RFC 5321 §4.1).

A command is a small frozen dataclass (:class:`Ehlo`, :class:`Mail`,
:class:`Rcpt`, :class:`Auth`, :class:`AuthResponse`, :class:`Verb` …);
:func:`render` turns one into a single CRLF-terminated line.  It is the only
place where command bytes are made, so every check that keeps a value from
becoming more (or other) than one command lives here:

- no CR, LF, NUL, other C0 control, DEL, C1 control (U+0080–U+009F, so
  U+0085 NEL too) or U+2028/U+2029 anywhere in the line (RFC 5321 §2.3.8,
  §4.1.1; a line separator is a line end to some software);
- at most 512 octets including CRLF (§4.5.3.1.4), plus the allowance the
  extensions we use grant MAIL (SIZE +26, RFC 1870 §3; BODY +14, RFC 6152
  §2; SMTPUTF8 +10, RFC 6531 §3.4); an AUTH continuation line is exempt
  (RFC 4954 §4) but bounded by :data:`MAX_AUTH_LINE` (12288 octets,
  Postfix's ``smtpd_sasl_response_limit``);
- MAIL/RCPT paths are RFC 5321 ``Mailbox`` values (§4.1.2): a Dot-string or
  Quoted-string local part of at most 64 octets (§4.5.3.1.1), ``@``, a
  domain (labels of letters, digits and hyphens, at most 63 octets each,
  at most 255 in all) or an address literal; the path at most 256 octets
  with its brackets (§4.5.3.1.3).  ``Mail("")`` is the null reverse-path
  ``<>``; ``Rcpt("Postmaster")`` is allowed (§4.1.1.3).  With SMTPUTF8
  (``utf8=True``) UTF-8 is allowed in local parts and domains (RFC 6531
  §3.3); otherwise lines are ASCII;
- the EHLO/HELO argument is an ASCII domain or an address literal; an
  internationalised name is IDNA-encoded (A-labels, RFC 5890; Python's
  ``idna`` codec, IDNA 2003) or refused.

Pure: no I/O, no state; a sans-I/O dialogue can render a batch of commands
(PIPELINING) with the same function.  :class:`CommandError` says which value
was refused and why.
"""
from __future__ import annotations

import functools
import re

from ..records import Value

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Optional, Tuple, Union

__all__ = [
    "CommandError", "Ehlo", "Helo", "Mail", "Rcpt", "Auth", "AuthResponse", "Verb", "DataEnd",
    "Command", "render", "text", "check_mailbox", "mailbox_problem", "check_client_domain", "is_domain",
    "forbidden_char", "shown", "char_name", "MAX_LINE", "MAX_AUTH_LINE", "DATA", "RSET", "QUIT",
    "NOOP", "STARTTLS", "QUED", "ONEX", "AUTH_CANCEL",
]

#: RFC 5321 §4.5.3.1.4: a command line, CRLF included.
MAX_LINE = 512
#: An AUTH continuation line (base64 response + CRLF).  RFC 4954 §4 exempts
#: it from the 512-octet limit; Postfix's smtpd accepts up to 12288 octets
#: (``smtpd_sasl_response_limit``), so that is our bound.
MAX_AUTH_LINE = 12288
MAX_LOCAL_PART = 64     # §4.5.3.1.1
MAX_DOMAIN = 255        # §4.5.3.1.2
MAX_PATH = 256          # §4.5.3.1.3, "<" and ">" included
MAX_LABEL = 63          # RFC 1035 §2.3.4

#: Extra octets a MAIL line may have per parameter we send.
PARAM_ALLOWANCE = {"SIZE": 26, "BODY": 14, "SMTPUTF8": 10}

#: Characters never allowed in a command line.
# Lone surrogates (U+D800-U+DFFF) too: no Unicode character, no UTF-8 form
# (RFC 3629 §3); they reach Python from Tcl (``\ud800`` in a script).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_NAMES = {"\r": "CR", "\n": "LF", "\x00": "NUL", "\t": "TAB", "\x7f": "DEL", "\x85": "NEL",
          "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


class CommandError(ValueError):
    """A value that cannot become (part of) an SMTP command line.

    :ivar field: what the value is: ``"reverse-path"``, ``"forward-path"``,
        ``"domain"`` (EHLO/HELO), ``"mechanism"``, ``"AUTH response"``,
        ``"parameter"``, ``"verb"``.
    :ivar value: the refused value (str).
    :ivar reason: why, a clause about the value ending with the RFC section
        (``it contains CR (U+000D) (RFC 5321 §2.3.8)``, ``its local part is
        65 octets, over the limit of 64 (RFC 5321 §4.5.3.1.1)`` …).
    """

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__("%s %s cannot be sent: %s" % (field, shown(value), reason))
        self.field = field
        self.value = value
        self.reason = reason


# -- commands -------------------------------------------------------------------

class Ehlo(Value):
    """``EHLO domain`` (RFC 5321 §4.1.1.1); ``domain`` may be an IDN."""
    __slots__ = ("domain",)

    def __init__(self, domain: str) -> None:
        self.domain = domain


#: ``Ehlo(domain)``, one value per name: a script's EHLO names the same
#: client again and again, so its rendering is cached by identity.
ehlo = functools.lru_cache(maxsize=64)(Ehlo)


class Helo(Value):
    """``HELO domain`` (RFC 5321 §4.1.1.1)."""
    __slots__ = ("domain",)

    def __init__(self, domain: str) -> None:
        self.domain = domain


if TYPE_CHECKING:
    #: ESMTP parameters: ``(keyword, value)``, value ``None`` for a bare keyword.
    Params = Tuple[Tuple[str, Optional[str]], ...]


class Mail(Value):
    """``MAIL FROM:<path> [params]``; ``path`` without brackets, ``""`` for
    the null reverse-path (RFC 5321 §4.1.1.2)."""
    __slots__ = ("path", "params")

    def __init__(self, path: str, params: Params = ()) -> None:
        self.path = path
        self.params = params


class Rcpt(Value):
    """``RCPT TO:<path> [params]`` (RFC 5321 §4.1.1.3)."""
    __slots__ = ("path", "params")

    def __init__(self, path: str, params: Params = ()) -> None:
        self.path = path
        self.params = params


class Auth(Value):
    """``AUTH mechanism`` (RFC 4954 §4; tcllib never sends an initial
    response)."""
    __slots__ = ("mechanism",)

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism


class AuthResponse(Value):
    """A SASL response line: base64 text, or ``*`` to cancel (RFC 4954 §4).
    Its text is a credential: :func:`text` shows it, ``-debug`` must not."""
    __slots__ = ("data",)

    def __init__(self, data: str) -> None:
        self.data = data


class Verb(Value):
    """A command without arguments: DATA, RSET, QUIT, NOOP, STARTTLS, and
    tcllib's QUED/ONEX."""
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class DataEnd(Value):
    """The ``.`` line that ends the mail data (RFC 5321 §4.1.1.4).  tcllib
    sends it as a command of its own, with its own ``-debug`` line."""

    __slots__ = ()


if TYPE_CHECKING:
    Command = Union[Ehlo, Helo, Mail, Rcpt, Auth, AuthResponse, Verb, DataEnd]

DATA, RSET, QUIT, NOOP, STARTTLS = (Verb(v) for v in ("DATA", "RSET", "QUIT", "NOOP", "STARTTLS"))
QUED, ONEX = Verb("QUED"), Verb("ONEX")
AUTH_CANCEL = AuthResponse("*")


# -- rendering ------------------------------------------------------------------

def text(cmd: Command, *, utf8: bool = False) -> str:
    """The command line without CRLF, fully checked (see :func:`render`).

    :raises CommandError: the command cannot be sent.
    """
    line, limit = _compose(cmd, utf8)
    bad = forbidden_char(line)
    if bad is not None:
        raise CommandError(_field(cmd), _value(cmd), "it contains %s (RFC 5321 §2.3.8)" % char_name(bad))
    octets = len(_encode(cmd, line, utf8)) + 2
    if octets > limit:
        raise CommandError(_field(cmd), _value(cmd),
                           "the line would be %d octets, over the limit of %d (%s)"
                           % (octets, limit, "RFC 4954 §4" if isinstance(cmd, AuthResponse)
                              else "RFC 5321 §4.5.3.1.4"))
    return line


def render(cmd: Command, *, utf8: bool = False) -> bytes:
    """The wire form of ``cmd``: one line, CRLF-terminated.

    :param utf8: SMTPUTF8 is in use for this transaction (RFC 6531): paths
        may hold UTF-8 and the line is UTF-8 encoded; otherwise it must be
        ASCII.
    :raises CommandError: a value in ``cmd`` would break the line, exceed a
        length limit or is not what RFC 5321 allows in its place.
    """
    if isinstance(cmd, AuthResponse):  # a credential: never kept in a cache
        return _encode(cmd, text(cmd, utf8=utf8), utf8) + b"\r\n"
    return _render(cmd, utf8)


@functools.lru_cache(maxsize=512)
def _render(cmd: Command, utf8: bool) -> bytes:
    # Commands are frozen values and the rendering is pure: a script's
    # MAIL/RCPT/EHLO lines, DATA and QUIT repeat from message to message.
    line = text(cmd, utf8=utf8)
    return _encode(cmd, line, utf8) + b"\r\n"


def _encode(cmd: Command, line: str, utf8: bool) -> bytes:
    try:
        return line.encode("ascii")
    except UnicodeEncodeError:
        if utf8 and isinstance(cmd, (Mail, Rcpt)):
            return line.encode("utf-8")
        raise CommandError(_field(cmd), _value(cmd),
                           "it is not ASCII (UTF-8 needs SMTPUTF8, RFC 6531)") from None


def _compose(cmd: Command, utf8: bool) -> Tuple[str, int]:
    """(line, octet limit) after checking the values' syntax."""
    if isinstance(cmd, (Ehlo, Helo)):
        verb = "EHLO" if isinstance(cmd, Ehlo) else "HELO"
        return "%s %s" % (verb, check_client_domain(cmd.domain)), MAX_LINE
    if isinstance(cmd, Mail):
        if cmd.path != "":
            check_mailbox(cmd.path, utf8=utf8, field="reverse-path")
        return "MAIL FROM:<%s>%s" % (cmd.path, _params(cmd.params)), MAX_LINE + _allowance(cmd.params)
    if isinstance(cmd, Rcpt):
        if cmd.path.lower() != "postmaster":
            check_mailbox(cmd.path, utf8=utf8, field="forward-path")
        return "RCPT TO:<%s>%s" % (cmd.path, _params(cmd.params)), MAX_LINE + _allowance(cmd.params)
    if isinstance(cmd, Auth):
        if not re.fullmatch(_SASL_NAME, cmd.mechanism):
            raise CommandError("mechanism", cmd.mechanism, "it is not a SASL mechanism name (RFC 4422 §3.1)")
        return "AUTH " + cmd.mechanism, MAX_LINE
    if isinstance(cmd, AuthResponse):
        if cmd.data != "*" and not re.fullmatch(_BASE64, cmd.data):
            raise CommandError("AUTH response", "[credentials]", "it is not base64 (RFC 4954 §4)")
        return cmd.data, MAX_AUTH_LINE
    if isinstance(cmd, Verb):
        if not _KEYWORD.fullmatch(cmd.name):
            raise CommandError("verb", cmd.name, "it is not an SMTP command word (RFC 5321 §4.1.1)")
        return cmd.name, MAX_LINE
    if isinstance(cmd, DataEnd):
        return ".", MAX_LINE
    raise TypeError("not an SMTP command: %r" % (cmd,))


def _field(cmd: Command) -> str:
    return {Ehlo: "domain", Helo: "domain", Mail: "reverse-path", Rcpt: "forward-path",
            Auth: "mechanism", AuthResponse: "AUTH response"}.get(type(cmd), "verb")


def _value(cmd: Command) -> str:
    if isinstance(cmd, (Ehlo, Helo)):
        return cmd.domain
    if isinstance(cmd, (Mail, Rcpt)):
        return cmd.path
    if isinstance(cmd, Auth):
        return cmd.mechanism
    if isinstance(cmd, AuthResponse):
        return "[credentials]"  # never echo a credential in an error
    return cmd.name if isinstance(cmd, Verb) else "."


_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")           # esmtp-keyword, verbs
_PARAM_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e]+")          # esmtp-value (RFC 5321 §4.1.2)
# AUTH only: sources for re's own cache, compiled when first used (start-up)
_SASL_NAME = r"[A-Z0-9_-]{1,20}"                               # RFC 4422 §3.1
_BASE64 = r"[A-Za-z0-9+/]*={0,2}"


def _params(params: Params) -> str:
    out = []
    for key, value in params:
        if not _KEYWORD.fullmatch(key):
            raise CommandError("parameter", key, "it is not an ESMTP keyword (RFC 5321 §4.1.2)")
        if value is None:
            out.append(" " + key)
        elif _PARAM_VALUE.fullmatch(value):
            out.append(" %s=%s" % (key, value))
        else:
            raise CommandError("parameter", "%s=%s" % (key, value),
                               "its value is not an ESMTP value (RFC 5321 §4.1.2)")
    return "".join(out)


def _allowance(params: Params) -> int:
    return sum(PARAM_ALLOWANCE.get(k.upper(), 0) for k, _ in params)


# -- mailboxes (RFC 5321 §4.1.2, RFC 6531 §3.3) ------------------------------------

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-"
# U+00A0 and above (RFC 6531 §3.3: UTF8-non-ascii), written as a negated
# class: a class holding the range itself takes ~20 ms to compile (re builds
# a table of the 64K-char plane), on every start that sends
_NON_ASCII = r"[^\x00-\x9f]"
_DOT_STRING = re.compile(r"[%s]+(?:\.[%s]+)*" % (_ATEXT, _ATEXT))
_ATEXT_UTF8 = r"(?:[%s]|%s)" % (_ATEXT, _NON_ASCII)
_DOT_STRING_UTF8 = re.compile(r"%s+(?:\.%s+)*" % (_ATEXT_UTF8, _ATEXT_UTF8))
# Quoted local parts and general address literals are rare: these are
# sources for re's own cache, compiled when first used (start-up time).
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_QUOTED_UTF8 = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|%s|\\[\x20-\x7e])*"' % _NON_ASCII
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_LABEL_UTF8 = re.compile(r"(?:[A-Za-z0-9]|{u})(?:(?:[A-Za-z0-9-]|{u})*(?:[A-Za-z0-9]|{u}))?".format(u=_NON_ASCII))
_DCONTENT = r"[\x21-\x5a\x5e-\x7e]+"


def _octets(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def check_mailbox(address: str, *, utf8: bool = True, field: str = "forward-path") -> None:
    """Check that ``address`` is an RFC 5321 ``Mailbox`` that fits a path.

    :param utf8: allow UTF-8 in the local part and domain (RFC 6531); the
        caller still has to negotiate SMTPUTF8 before sending it.
    :raises CommandError: ``reason`` says what is wrong, with the RFC section.
    """
    problem = mailbox_problem(address, utf8=utf8)
    if problem:
        raise CommandError(field, address, problem)


def mailbox_problem(address: str, *, utf8: bool = True) -> Optional[str]:
    """Why ``address`` is not a usable RFC 5321 ``Mailbox`` (a clause such
    as ``its local part is not a Dot-string (RFC 5321 §4.1.2)``), or
    ``None``."""
    return _mailbox_problem(address, utf8)


@functools.lru_cache(maxsize=1024)
def _mailbox_problem(address: str, utf8: bool) -> Optional[str]:
    # Pure, and scripts send to the same addresses again and again (each
    # is checked before connecting and again when its command is made).
    c = forbidden_char(address)
    if c is not None:
        return "it contains %s (RFC 5321 §2.3.8)" % char_name(c)
    if _octets(address) + 2 > MAX_PATH:
        return "its path would be %d octets, over the limit of %d (RFC 5321 §4.5.3.1.3)" % (
            _octets(address) + 2, MAX_PATH)
    if address.startswith('"'):
        m = re.match(_QUOTED_UTF8 if utf8 else _QUOTED, address)
        if m is None:
            return "its quoted local part is not an RFC 5321 Quoted-string (§4.1.2)"
        local, rest = address[:m.end()], address[m.end():]
    else:
        local, sep, domain = address.partition("@")
        rest = sep + domain
        if not (_DOT_STRING_UTF8 if utf8 else _DOT_STRING).fullmatch(local):
            return "its local part is not an RFC 5321 Dot-string (§4.1.2)"
    if not rest.startswith("@") or len(rest) == 1:
        return "it is not local-part@domain (RFC 5321 §4.1.2)"
    if _octets(local) > MAX_LOCAL_PART:
        return "its local part is %d octets, over the limit of %d (RFC 5321 §4.5.3.1.1)" % (
            _octets(local), MAX_LOCAL_PART)
    domain = rest[1:]
    if domain.startswith("["):
        return _literal_problem(domain, "its address literal")
    return _domain_problem(domain, utf8, "its domain")


def is_domain(name: str) -> bool:
    """Whether ``name`` is an ASCII RFC 5321 ``Domain`` (§4.1.2)."""
    return _domain_problem(name, False) is None


def _domain_problem(domain: str, utf8: bool, it: str = "it") -> Optional[str]:
    if _octets(domain) > MAX_DOMAIN:
        return "%s is %d octets, over the limit of %d (RFC 5321 §4.5.3.1.2)" % (
            it, _octets(domain), MAX_DOMAIN)
    label = _LABEL_UTF8 if utf8 else _LABEL
    for part in domain.split("."):
        if not label.fullmatch(part):
            return ("%s is not dot-separated labels of letters, digits and hyphens "
                    "(RFC 5321 §4.1.2)" % it)
        if _octets(part) > MAX_LABEL:
            return "%s has a label over %d octets (RFC 1035 §2.3.4)" % (it, MAX_LABEL)
    return None


def _literal_problem(lit: str, it: str = "it") -> Optional[str]:
    """``[IPv4]``, ``[IPv6:…]`` or ``[tag:content]`` (RFC 5321 §4.1.3)."""
    import ipaddress  # address literals are rare: not on every start

    inner = lit[1:-1] if lit.endswith("]") else None
    ok = False
    if inner is not None:
        if inner[:5].upper() == "IPV6:":
            try:
                ipaddress.IPv6Address(inner[5:])
                ok = True
            except ValueError:
                pass
        elif re.fullmatch(r"[0-9.]+", inner):
            try:
                ipaddress.IPv4Address(inner)
                ok = True
            except ValueError:
                pass
        else:
            tag, sep, content = inner.partition(":")
            ok = bool(sep and _LABEL.fullmatch(tag) and re.fullmatch(_DCONTENT, content))
    return None if ok else "%s is not an address literal of RFC 5321 §4.1.3" % it


@functools.lru_cache(maxsize=64)  # pure; checked before connecting and again in EHLO
def check_client_domain(name: str) -> str:
    """The EHLO/HELO argument for ``name``: an ASCII domain or address
    literal; an internationalised name becomes A-labels (IDNA).

    :returns: the ASCII form to send.
    :raises CommandError: (field ``domain``) anything else.
    """
    c = forbidden_char(name)
    problem = None
    if c is not None:
        problem = "it contains %s (RFC 5321 §2.3.8)" % char_name(c)
    elif name.startswith("["):
        problem = _literal_problem(name)
    else:
        if not name.isascii():
            try:
                name_ascii = name.encode("idna").decode("ascii")
            except UnicodeError:
                problem = "it is an internationalised name that IDNA cannot encode (RFC 5890)"
            else:
                problem = _domain_problem(name_ascii, False)
                if problem is None:
                    return name_ascii
        else:
            problem = _domain_problem(name, False)
    if problem:
        raise CommandError("domain", name, problem)
    return name


# -- showing values in errors ---------------------------------------------------------

def forbidden_char(s: str) -> Optional[str]:
    """The first character of ``s`` that may never be in a command line
    (C0, DEL, C1, U+2028, U+2029, a lone surrogate), or ``None``."""
    m = _FORBIDDEN.search(s)
    return m.group() if m else None


def char_name(c: str) -> str:
    """``CR (U+000D)``, ``U+0001`` … for error texts."""
    code = "U+%04X" % ord(c)
    if "\ud800" <= c <= "\udfff":
        return "LONE SURROGATE (%s)" % code
    return "%s (%s)" % (_NAMES[c], code) if c in _NAMES else code


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for an error text: ``\\ " CR LF NUL`` escaped as
    ``\\\\ \\" \\r \\n \\0``, other forbidden characters as ``\\uXXXX``; a value
    over ``limit`` characters is cut, with its full length given."""
    def esc(s: str) -> str:
        s = s.replace("\\", "\\\\").replace('"', '\\"')
        s = s.replace("\r", "\\r").replace("\n", "\\n").replace("\x00", "\\0")
        return _FORBIDDEN.sub(lambda m: "\\u%04x" % ord(m.group()), s)

    if len(value) <= limit:
        return '"%s"' % esc(value)
    return '"%s..." (%d characters)' % (esc(value[:limit - 20]), len(value))
