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

from .addresswriter import EW, address_list, idna_domain_label, utf8_addr_spec, word_text
from .folding import Folder, add_encoded
from .rfc2231 import format_param

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List, Optional, Tuple

__all__ = ["wire_field", "utf8_only", "ADDRESS_FIELDS", "VERBATIM_FIELDS", "idna_domain_label"]

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
# The line break before a continuation line of white space only: a script's
# value may fold so ("a\n \n b"), but such a line is obsolete syntax that
# must not be generated (RFC 5322 §3.2.2, §4.2), and some readers take it
# for the blank line that ends the header.  Its white space stays on the
# line before, so the unfolded value is the same.
_BLANK_LINE = re.compile(r"\r?\n(?=[ \t]*(?:\r?\n|\Z))")
_WS_SPLIT = re.compile(r"([ \t]+)")


def wire_field(name: str, value: str, utf8: bool = False) -> str:
    """``Name: value`` as written, folds as ``"\\n"`` + WSP.

    :param name: the field name (ASCII; checked when it was set).
    :param value: the script's value (checked for injection when set); a
        fold before a line of white space only is left out (RFC 5322
        §3.2.2: obsolete syntax; the unfolded value is the same).
    :param utf8: the message goes out in an SMTPUTF8 transaction (RFC 6531):
        non-ASCII addresses are then written as UTF-8 as given.
    """
    if "\n" in value:
        value = _BLANK_LINE.sub("", value)
    if value.isascii():
        return "%s: %s" % (name, value)
    lower = name.lower()
    if lower in VERBATIM_FIELDS:
        return "%s: %s" % (name, value)
    text = _UNFOLD.sub("", value)
    folder = Folder(name)
    if lower in ADDRESS_FIELDS:
        address_list(folder, text, utf8)
    elif lower in _PARAMETER_FIELDS:
        written = _parameter_field(text)
        if written is None:
            return "%s: %s" % (name, value)
        return "%s: %s" % (name, written)
    else:
        _unstructured(folder, text)
    return folder.text()


def utf8_only(name: str, value: str) -> Optional[Tuple[str, str]]:
    """What in a field the script gave an ASCII message cannot carry: the
    text :func:`wire_field` has to write as UTF-8 (RFC 6532) even when the
    transaction is not SMTPUTF8, so the message needs SMTPUTF8 (RFC 6531
    §3.4).  That is an ``addr-spec`` with a non-ASCII local part (RFC 2047
    §5: an encoded-word never appears in one), non-ASCII text in a field
    without an encoding (Message-ID, References, …), or a value whose
    shape the writer does not know how to encode.

    :returns: ``("address", addr-spec)`` or ``("value", value)``; ``None``
        when the field is written in ASCII without SMTPUTF8.
    """
    if value.isascii() or wire_field(name, value, False).isascii():
        return None
    if name.lower() in ADDRESS_FIELDS:
        spec = utf8_addr_spec(_UNFOLD.sub("", _BLANK_LINE.sub("", value)))
        if spec is not None:
            return ("address", spec)
    return ("value", value)


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
        if i > 0 and EW.match(words[i - 1]):
            run, ws = ws + run, " "
        if j + 1 < n and EW.match(words[j + 1]):
            run += spaces[j + 1]
            spaces[j + 1] = " "
        add_encoded(folder, ws, run)
        i = j + 1


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
            val = word_text("qs", val)
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
