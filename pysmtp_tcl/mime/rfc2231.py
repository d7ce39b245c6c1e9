"""RFC 2231 parameter values: ``name*=charset'lang'%XX`` and continuations
``name*0*=...; name*1=...`` (shared case 11).

tcllib keeps such parameters under their literal keys (``name*``,
``title*0*``) still encoded.  We keep those keys (scripts may read them) and
add the decoded logical parameter under its plain name, unless the message
already has a plain one.  Added keys are marked *derived*: they are not
written back when the part is generated, so re-generated headers keep
exactly the parameters the message had.
"""
from __future__ import annotations

import re
from .charsets import text_codec

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Dict, List, Set, Tuple

__all__ = ["decode_rfc2231"]

_KEY = re.compile(r"^(.+?)\*(?:(\d+)(\*)?)?$")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")


def _unquote(text: str) -> bytes:
    out = bytearray()
    pos = 0
    for m in _PCT.finditer(text):
        out += text[pos:m.start()].encode("utf-8")
        out.append(int(m.group(1), 16))
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def _decode(data: bytes, charset: str) -> str:
    """``data`` in ``charset``; octets as chars (Latin-1) when the charset
    is unknown or names no text encoding.  A hostile sender chooses the
    name: Python also knows ``rot13``, ``base64``, ``zlib`` (bytes-to-bytes
    codecs, refused by ``bytes.decode``) and ``idna``/``punycode``/
    ``undefined`` (which fail on any input or on ``errors="replace"``)."""
    name = text_codec(charset)
    if name is not None:
        try:
            return data.decode(name, "replace")
        except (UnicodeError, ValueError):
            pass
    return data.decode("latin-1")


def decode_rfc2231(pairs: List[Tuple[str, str]]) -> Tuple[List[Tuple[str, str]], Set[str]]:
    """Add decoded RFC 2231 parameters to ``pairs`` (keys lower-case).

    :returns: ``(pairs + added, set of added keys)``.
    """
    plain = {k for k, _ in pairs}
    groups: Dict[str, List[Tuple[int, bool, str]]] = {}
    for k, v in pairs:
        m = _KEY.match(k)
        if not m:
            continue
        name, num, star = m.group(1), m.group(2), m.group(3)
        if num is None:          # name*=charset'lang'value
            groups.setdefault(name, []).append((0, True, v))
        else:                    # name*N or name*N*
            groups.setdefault(name, []).append((int(num), bool(star), v))
    added: List[Tuple[str, str]] = []
    for name, segs in groups.items():
        if name in plain:
            continue
        segs.sort(key=lambda s: s[0])
        charset = "us-ascii"
        data = bytearray()
        for i, (num, extended, value) in enumerate(segs):
            if extended and i == 0 and value.count("'") >= 2:
                charset, _lang, value = value.split("'", 2)
                charset = charset or "us-ascii"
            data += _unquote(value) if extended else value.encode("utf-8")
        added.append((name, _decode(bytes(data), charset)))
    return pairs + added, {k for k, _ in added}


# --- writing (RFC 2231 §3, §4, §7) ---------------------------------------------

# attribute-char: a token char other than "*", "'", "%" (RFC 2231 §7)
_ATTRIBUTE_CHARS = frozenset("!#$&+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`"
                             "abcdefghijklmnopqrstuvwxyz{|}~")

#: Longest line a written parameter aims for (RFC 5322 §2.1.1's 78, less
#: the ";" that may follow).
PARAM_LINE = 76


def _pct(ch: str) -> str:
    if ch in _ATTRIBUTE_CHARS:
        return ch
    return "".join("%%%02X" % b for b in ch.encode("utf-8", "surrogatepass"))


def format_param(key: str, value: str, indent: int) -> List[str]:
    """``key*=utf-8''…`` for a non-ASCII parameter value (RFC 2231 §4), or
    continuations ``key*0*=utf-8''…``, ``key*1*=…`` (§3, §4.1) when one line
    starting at column ``indent`` would be longer than :data:`PARAM_LINE`.
    Characters are never split across continuations.

    :returns: the ``name=value`` items, in order (the caller joins them
        with ``;`` and a fold).
    """
    pieces = [_pct(c) for c in value]
    single = "%s*=utf-8''%s" % (key, "".join(pieces))
    if indent + len(single) <= PARAM_LINE:
        return [single]
    out: List[str] = []
    i, n = 0, len(pieces)
    while i < n or not out:
        head = "%s*%d*=%s" % (key, len(out), "utf-8''" if not out else "")
        room = PARAM_LINE - indent - len(head)
        j, size = i, 0
        while j < n and (size + len(pieces[j]) <= room or j == i):
            size += len(pieces[j])
            j += 1
        out.append(head + "".join(pieces[i:j]))
        i = j
    return out
