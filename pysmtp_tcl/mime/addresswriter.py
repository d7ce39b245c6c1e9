"""Address fields as they go on the wire (RFC 5322 §3.4, RFC 2047 §5 (2),
(3), RFC 6532 §3.2): the part of :mod:`.headerwriter` that knows address
structure.

A lenient lexer (:func:`tokens`; nothing is ever dropped, unterminated
constructs run to the end) splits the value into mailboxes and groups.
Display names, group names and comments holding non-ASCII text become
encoded-words with only phrase-safe characters (:mod:`.folding`); an
``addr-spec`` never does: it is written as given (UTF-8, RFC 6532), or with
IDNA A-labels for an ASCII local part at a non-ASCII domain when the send is
not SMTPUTF8.
"""
from __future__ import annotations

import re
import unicodedata

from .folding import LINE, Folder, add_encoded, encoded_size

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List, Optional, Tuple

__all__ = ["address_list", "tokens", "word_text", "idna_domain_label", "utf8_addr_spec", "EW"]

#: An encoded-word the script wrote itself (RFC 2047 §2), a whole token.
EW = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\Z")

_SPECIALS = ",:;@.<>[]()\""


def tokens(text: str) -> List[Tuple[str, str]]:
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


def word_text(kind: str, text: str) -> str:
    """What a phrase word stands for: a quoted-string without its quotes
    and quoted-pairs (RFC 5322 §3.2.4)."""
    if kind == "qs":
        inner = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
        return _QUOTED_PAIR.sub(r"\1", inner)
    return text


def address_list(folder: Folder, text: str, utf8: bool) -> None:
    toks = tokens(text)
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


def utf8_addr_spec(text: str) -> Optional[str]:
    """The first ``addr-spec`` of an address list that only UTF-8 can carry
    (RFC 6532 §3.2): a non-ASCII local part, for which no encoded-word
    exists (RFC 2047 §5) and which IDNA does not cover; ``None`` if there
    is none.  The same lexing and segmentation as :func:`address_list`.

    :param text: the unfolded field value.
    """
    seg: List[Tuple[str, str]] = []
    for kind, t in tokens(text) + [("end", "")]:
        if kind not in (",", ";", ":", "end"):
            seg.append((kind, t))
            continue
        angles = [t for k, t in seg if k == "angle"]
        if angles:
            for angle in angles:
                if not _angle(angle, False).isascii():
                    return angle[1:-1] if angle.endswith(">") else angle[1:]
        elif kind != ":" and any(k == "@" for k, _ in seg):
            spec = [(k, t) for k, t in seg if k not in ("ws", "comment")]
            if not all(t.isascii() for t in _local_part(spec)):
                return "".join(t for _, t in spec)
        seg = []
    return None


def _local_part(spec: List[Tuple[str, str]]) -> List[str]:
    at = max(i for i, (k, _) in enumerate(spec) if k == "@")
    return [t for _, t in spec[:at]]


def _segment(folder: Folder, ws: str, seg: List[Tuple[str, str]], utf8: bool,
             is_group_name: bool) -> Tuple[str, bool]:
    """Write one mailbox (or group name); returns the white space still
    pending after it, and whether it ended with an encoded-word."""
    encoded = False
    has_angle = any(k == "angle" for k, _ in seg)
    has_at = any(k == "@" for k, _ in seg)
    phrase_mode = is_group_name or has_angle or not has_at
    idna_from = None  # (computed once, when a non-ASCII atom needs it)
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
            folder.add(ws or (" " if encoded_before else ""), _angle(t, utf8), reserve=1)
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
        else:
            # an addr-spec (or stray specials): its tokens, glued, are one
            # chunk, so the line is folded before it when it does not fit
            j, chunk = i, []
            while j < n and seg[j][0] not in ("ws", "comment", "angle") and not (
                    phrase_mode and seg[j][0] in ("atom", "qs", ".")):
                k, tj = seg[j]
                if k == "atom" and not tj.isascii() and not utf8:
                    if idna_from is None:
                        idna_from = _idna_start(seg)
                    if j > idna_from:
                        tj = idna_domain_label(tj)
                chunk.append(tj)
                j += 1
            folder.add(ws, "".join(chunk), reserve=1)  # (a "," may follow)
            ws = ""
            i = j
            continue
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
        if kind == "atom" and EW.match(t):
            runs += [[(kind, t)], []]
        else:
            runs[-1].append((kind, t))
    encoded, first = False, True
    for run in runs:
        if not run:
            continue
        if len(run) == 1 and run[0][0] == "atom" and EW.match(run[0][1]):
            folder.add(ws if first else (ws or " "), run[0][1])
            ws, encoded = "", False
        else:
            text = "".join(" " if kind == "ws" else word_text(kind, t) for kind, t in run)
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
    # ")" and a "," or ";" after it are glued to the last word: keep room
    add_encoded(folder, "", core, reserve=2)
    folder.add(trail, ")")


def _angle(angle: str, utf8: bool) -> str:
    """``<addr-spec>``: written as given, or with an IDNA domain when only
    the domain is non-ASCII and there is no SMTPUTF8."""
    if utf8 or angle.isascii():
        return angle
    inner = angle[1:-1] if angle.endswith(">") else angle[1:]
    toks = tokens(inner)
    ats = [i for i, (k, _) in enumerate(toks) if k == "@"]
    if not ats:
        return angle
    at = ats[-1]
    if not all(t.isascii() for _, t in toks[:at]):
        return angle  # a non-ASCII local part: only RFC 6532 can carry it
    out = "".join(t for _, t in toks[:at + 1])
    out += "".join(idna_domain_label(t) if k == "atom" else t for k, t in toks[at + 1:])
    return "<" + out + (">" if angle.endswith(">") else "")


def _idna_start(seg: List[Tuple[str, str]]) -> int:
    """In a bare addr-spec, the index of its last ``@``: non-ASCII atoms
    after it are domain labels written as IDNA A-labels, if the local part
    is ASCII (else ``len(seg)``: none is).  One pass, so an address of
    thousands of labels is written in linear time."""
    at = max(k for k, (kind, _) in enumerate(seg) if kind == "@")
    if not all(t.isascii() for kind, t in seg[:at] if kind != "comment"):
        return len(seg)
    return at


def idna_domain_label(label: str) -> str:
    """A domain label as an IDNA A-label (``xn--`` + Punycode of the NFC,
    lower-case label, RFC 5890 §2.3.2.1, RFC 3492); ASCII labels as given."""
    if label.isascii():
        return label
    try:
        return "xn--" + unicodedata.normalize("NFC", label.lower()).encode("punycode").decode("ascii")
    except UnicodeError:  # pragma: no cover - punycode encodes any str
        return label
