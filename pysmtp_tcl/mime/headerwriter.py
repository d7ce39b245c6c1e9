"""Header fields as they go on the wire: where a script's value becomes
octets, non-ASCII text becomes RFC 2047 encoded-words.

:func:`wire_field` ``(name, value, utf8=False) -> str`` is the one entry
point (used by the generator for every field the script gave).  A value
that is all ASCII is written exactly as tcllib writes it.  Otherwise, by
the kind of field:

- **unstructured** (Subject, Comments, Content-Description, X-…, any field
  not listed below): each run of words holding non-ASCII characters
  becomes encoded-words (RFC 2047 §5 (1)); ASCII words stay as they are,
  so a value the script encoded itself with ``mime::word_encode`` is kept;
- **address lists** (From, To, Cc, Bcc, Reply-To, Sender, their Resent-
  forms, …): only display names (``phrase``, §5 (3)), group names and
  comments (§5 (2)) are encoded, never the address (RFC 2047 §5: an
  encoded-word never appears in an ``addr-spec``).  A non-ASCII
  ``addr-spec`` is written as UTF-8 (RFC 6532 §3.2), except that when
  ``utf8`` is false (no SMTPUTF8) and only the domain is non-ASCII, the
  domain is written as IDNA A-labels (RFC 5890 §2.3.2.1), which any
  server accepts;
- **parameter fields** (Content-Disposition): non-ASCII parameter values
  are written in RFC 2231 form (``filename*=utf-8''…``);
- **identifiers, dates, trace fields** (Message-ID, References, Date,
  Received, Return-Path, Content-ID, …): no encoding is defined for them;
  written as given (RFC 6532 form).

``getheader`` keeps returning the script's own value (as tcllib); only the
written form changes (COMPATIBILITY.md).
"""
from __future__ import annotations

import re
import unicodedata
from typing import List, Optional, Tuple

from .folding import LINE, Folder, add_encoded, encoded_size
from .rfc2231 import format_param

__all__ = ["wire_field", "ADDRESS_FIELDS", "VERBATIM_FIELDS", "idna_domain_label"]

#: Fields holding address lists (RFC 5322 §3.6.2, §3.6.3, §3.6.6; RFC 8098;
#: common extensions; tcllib's Dcc).
ADDRESS_FIELDS = frozenset("""
from sender reply-to to cc bcc dcc resent-from resent-sender resent-reply-to resent-to
resent-cc resent-bcc resent-dcc disposition-notification-to mail-followup-to mail-reply-to
errors-to return-receipt-to apparently-to delivered-to original-recipient
""".split())

#: Fields without an encoding for non-ASCII text: written as given.
VERBATIM_FIELDS = frozenset("""
message-id resent-message-id in-reply-to references date resent-date received return-path
content-id content-location content-base content-md5 mime-version dkim-signature
arc-seal arc-message-signature arc-authentication-results authentication-results
list-id list-post list-help list-subscribe list-unsubscribe list-owner list-archive
""".split())

_PARAMETER_FIELDS = frozenset(("content-disposition",))

_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_WS_SPLIT = re.compile(r"([ \t]+)")
# an encoded-word the script wrote itself (RFC 2047 §2)
_EW = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\Z")


def wire_field(name: str, value: str, utf8: bool = False) -> str:
    """``Name: value`` as written, folds as ``"\\n"`` + WSP.

    :param name: the field name (ASCII; checked when it was set).
    :param value: the script's value (checked for injection when set).
    :param utf8: the message goes out in an SMTPUTF8 transaction (RFC 6531):
        non-ASCII addresses are then written as UTF-8 as given.
    """
    if value.isascii():
        return "%s: %s" % (name, value)
    lower = name.lower()
    if lower in VERBATIM_FIELDS:
        return "%s: %s" % (name, value)
    text = _UNFOLD.sub("", value)
    folder = Folder(name)
    if lower in ADDRESS_FIELDS:
        _address_list(folder, text, utf8)
    elif lower in _PARAMETER_FIELDS:
        written = _parameter_field(text)
        if written is None:
            return "%s: %s" % (name, value)
        return "%s: %s" % (name, written)
    else:
        _unstructured(folder, text)
    return folder.text()


# --- unstructured text (RFC 2047 §5 (1)) ------------------------------------

def _unstructured(folder: Folder, text: str) -> None:
    parts = _WS_SPLIT.split(text)  # word, ws, word, ws, ..., word
    words, spaces = parts[0::2], [" "] + parts[1::2]
    n = len(words)
    i = 0
    while i < n:
        if words[i].isascii():
            if words[i] or i + 1 < n:
                folder.add(spaces[i], words[i])
            i += 1
            continue
        j = i
        while j + 1 < n and not words[j + 1].isascii():
            j += 1
        run = "".join(words[k] + (spaces[k + 1] if k < j else "") for k in range(i, j + 1))
        ws = spaces[i]
        # white space between an encoded-word and ours would be dropped by
        # decoders (RFC 2047 §6.2): carry it inside our word
        if i > 0 and _EW.match(words[i - 1]):
            run, ws = ws + run, " "
        if j + 1 < n and _EW.match(words[j + 1]):
            run += spaces[j + 1]
            spaces[j + 1] = " "
        add_encoded(folder, ws, run)
        i = j + 1


# --- address lists (RFC 5322 §3.4, RFC 2047 §5 (2), (3)) ----------------------

_SPECIALS = ",:;@.<>[]()\""


def _tokens(text: str) -> List[Tuple[str, str]]:
    """Lenient RFC 5322 lexer: ``(kind, text)`` with kinds ``ws``, ``qs``
    (quoted-string), ``comment``, ``angle`` (``<…>`` whole), ``dlit``,
    ``atom`` and the specials themselves; unterminated constructs run to
    the end of the text (nothing is ever dropped)."""
    out: List[Tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            j = i
            while j < n and text[j] in " \t":
                j += 1
            out.append(("ws", text[i:j]))
        elif c == '"':
            j = _close_quoted(text, i + 1, '"')
            out.append(("qs", text[i:j]))
        elif c == "(":
            j = _close_comment(text, i)
            out.append(("comment", text[i:j]))
        elif c == "[":
            j = _close_quoted(text, i + 1, "]")
            out.append(("dlit", text[i:j]))
        elif c == "<":
            j = i + 1
            while j < n and text[j] != ">":
                if text[j] == '"':
                    j = _close_quoted(text, j + 1, '"')
                elif text[j] == "(":
                    j = _close_comment(text, j)
                else:
                    j += 1
            j = min(j + 1, n)
            out.append(("angle", text[i:j]))
        elif c in _SPECIALS:
            j = i + 1
            out.append((c, c))
        else:
            j = i
            while j < n and text[j] not in _SPECIALS and text[j] not in " \t":
                j += 1
            out.append(("atom", text[i:j]))
        i = j
    return out


def _close_quoted(text: str, j: int, close: str) -> int:
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text[j] == close:
            return j + 1
        else:
            j += 1
    return len(text)


def _close_comment(text: str, i: int) -> int:
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


def _word_text(kind: str, text: str) -> str:
    """What a phrase word stands for: a quoted-string without its quotes
    and quoted-pairs (RFC 5322 §3.2.4)."""
    if kind == "qs":
        inner = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
        return _QUOTED_PAIR.sub(r"\1", inner)
    return text


def _address_list(folder: Folder, text: str, utf8: bool) -> None:
    toks = _tokens(text)
    # a mailbox/group ends at a top-level "," or ";"; a group name at ":"
    seg: List[Tuple[str, str]] = []
    ws = " "
    for kind, t in toks + [("end", "")]:
        if kind in (",", ";", ":", "end"):
            ws, encoded = _segment(folder, ws, seg, utf8, is_group_name=(kind == ":"))
            if kind != "end":
                # parsers want white space after an encoded-word
                folder.add(ws or (" " if encoded else ""), t)
                ws = ""
            seg = []
        else:
            seg.append((kind, t))


def _segment(folder: Folder, ws: str, seg: List[Tuple[str, str]], utf8: bool,
             is_group_name: bool) -> Tuple[str, bool]:
    """Write one mailbox (or group name); returns the white space still
    pending after it, and whether it ended with an encoded-word."""
    encoded = False
    has_angle = any(k == "angle" for k, _ in seg)
    has_at = any(k == "@" for k, _ in seg)
    phrase_mode = is_group_name or has_angle or not has_at
    i, n = 0, len(seg)
    while i < n:
        kind, t = seg[i]
        if kind == "ws":
            ws += t
            i += 1
            continue
        encoded_before, encoded = encoded, False
        if kind == "comment":
            _comment(folder, ws, t)
        elif kind == "angle":
            folder.add(ws or (" " if encoded_before else ""), _angle(t, utf8))
        elif phrase_mode and kind in ("atom", "qs", "."):
            # the display name: words up to the next comment / angle-addr
            j = i
            while j < n and seg[j][0] in ("atom", "qs", ".", "ws"):
                j += 1
            while seg[j - 1][0] == "ws":
                j -= 1
            encoded = _phrase(folder, ws, seg[i:j])
            ws = ""
            i = j
            continue
        elif kind == "atom" and not t.isascii() and not utf8:
            folder.add(ws, _maybe_idna(seg, i))
        else:
            folder.add(ws, t)
        ws = ""
        i += 1
    return ws, encoded


def _phrase(folder: Folder, ws: str, words: List[Tuple[str, str]]) -> bool:
    """A display name (phrase tokens, ``ws`` before it); returns whether it
    ended with an encoded-word.  ASCII phrases are written as given.
    Otherwise the phrase becomes encoded-words as a whole (so no special
    stays outside a word, RFC 2047 §5 (3)), except encoded-words the script
    wrote itself, which are kept, with the white space next to them carried
    inside ours (§6.2)."""
    if all(t.isascii() for _, t in words):
        for kind, t in words:
            if kind == "ws":
                ws += t
            else:
                folder.add(ws, t)
                ws = ""
        return False
    runs: List[List[Tuple[str, str]]] = [[]]
    for kind, t in words:
        if kind == "atom" and _EW.match(t):
            runs += [[(kind, t)], []]
        else:
            runs[-1].append((kind, t))
    encoded, first = False, True
    for run in runs:
        if not run:
            continue
        if len(run) == 1 and run[0][0] == "atom" and _EW.match(run[0][1]):
            folder.add(ws if first else (ws or " "), run[0][1])
            ws, encoded = "", False
        else:
            text = "".join(" " if kind == "ws" else _word_text(kind, t) for kind, t in run)
            if not text.strip(" \t"):
                ws += text  # white space between two of the script's words
                continue
            add_encoded(folder, ws if first else " ", text)
            ws, encoded = "", True
        first = False
    return encoded


def _comment(folder: Folder, ws: str, comment: str) -> None:
    """A comment; non-ASCII content becomes encoded-words (RFC 2047 §5 (2))."""
    if comment.isascii():
        folder.add(ws, comment)
        return
    inner = comment[1:-1] if comment.endswith(")") else comment[1:]
    text = _QUOTED_PAIR.sub(r"\1", inner)
    lead = text[:len(text) - len(text.lstrip(" \t"))]
    trail = text[len(text.rstrip(" \t")):]
    core = text.strip(" \t")
    if ws and not folder.fresh() and \
            folder.used + len(ws) + 2 + len(lead) + encoded_size(core) > LINE:
        folder.fold(ws)  # keep "(" with its first encoded-word
        ws = ""
    folder.add(ws, "(" + lead)
    add_encoded(folder, "", core)
    folder.lines[-1] += trail + ")"


def _angle(angle: str, utf8: bool) -> str:
    """``<addr-spec>``: written as given, or with an IDNA domain when only
    the domain is non-ASCII and there is no SMTPUTF8."""
    if utf8 or angle.isascii():
        return angle
    inner = angle[1:-1] if angle.endswith(">") else angle[1:]
    toks = _tokens(inner)
    ats = [i for i, (k, _) in enumerate(toks) if k == "@"]
    if not ats:
        return angle
    at = ats[-1]
    if not all(t.isascii() for _, t in toks[:at]):
        return angle  # a non-ASCII local part: only RFC 6532 can carry it
    out = "".join(t for _, t in toks[:at + 1])
    out += "".join(idna_domain_label(t) if k == "atom" else t for k, t in toks[at + 1:])
    return "<" + out + (">" if angle.endswith(">") else "")


def _maybe_idna(seg: List[Tuple[str, str]], i: int) -> str:
    """A non-ASCII atom of a bare addr-spec: an IDNA label if it is in the
    domain of an address whose local part is ASCII."""
    ats = [k for k, (kind, _) in enumerate(seg) if kind == "@"]
    at = ats[-1]
    if i < at or not all(t.isascii() for kind, t in seg[:at] if kind not in ("comment",)):
        return seg[i][1]
    return idna_domain_label(seg[i][1])


def idna_domain_label(label: str) -> str:
    """A domain label as an IDNA A-label (``xn--`` + Punycode of the NFC,
    lower-case label, RFC 5890 §2.3.2.1, RFC 3492); ASCII labels as given."""
    if label.isascii():
        return label
    try:
        return "xn--" + unicodedata.normalize("NFC", label.lower()).encode("punycode").decode("ascii")
    except UnicodeError:  # pragma: no cover - punycode encodes any str
        return label


# --- parameter fields (RFC 2231) ------------------------------------------------

def _parameter_field(text: str) -> Optional[str]:
    """``value; name=value; …`` with non-ASCII parameter values in RFC 2231
    form; ``None`` when the value does not have that shape."""
    head, sep, rest = text.partition(";")
    if not head.isascii():
        return None
    out = [head.strip(" \t")]
    for item in _split_params(rest) if sep else []:
        key, eq, val = item.partition("=")
        key = key.strip(" \t")
        val = val.strip(" \t")
        if not eq or not key or not key.isascii():
            return None
        if val.startswith('"'):
            val = _word_text("qs", val)
        if val.isascii():
            out.append("%s=%s" % (key, item.partition("=")[2].strip(" \t")))
        else:
            out.extend(format_param(key, val, indent=1))
    return ";\n ".join(out)


def _split_params(rest: str) -> List[str]:
    items, cur, quoted, esc = [], [], False, False
    for c in rest:
        if esc:
            esc = False
        elif c == "\\" and quoted:
            esc = True
        elif c == '"':
            quoted = not quoted
        elif c == ";" and not quoted:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    items.append("".join(cur))
    return [i for i in items if i.strip(" \t")]
