"""The MIME part model: what one ``::mime::N`` token stands for.

One :class:`Entity` per part, holding tcllib's observable state: the
content type and its parameters (in Tcl array order), the transfer encoding,
MIME-Version, the user header table, whether the body is in canonical form
(made with ``-canonical``) or was parsed, and the body itself: a string, a
window of a file, or subordinate parts.
"""
from __future__ import annotations

import os
from operator import itemgetter

from .contenttype import check_canonical, check_param
from .headers import (MAX_LINE, Headers, HeaderValueError, ScriptValue, check_header_name,
                      check_header_value, one_line_values)
from .ids import unique_id
from .tclarray import array_get
from .textbody import NO_PLAN, TextPlan, text_plan
from .transfer import (KNOWN_ENCODINGS, FileFacts, choose_encoding, file_facts,
                       octets_have_long_line, string_has_long_line)

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

__all__ = ["Entity", "MimeError", "HeaderValueError", "RESTRICTED_HEADERS", "FinalizedPartError"]

#: Headers that are properties of the part, not free user headers.
RESTRICTED_HEADERS = ("content-type", "content-transfer-encoding", "content-md5", "mime-version")
#: The restricted headers get_header derives from the part's properties.
_DERIVED_FIELDS = ("content-type", "content-transfer-encoding", "mime-version")


class MimeError(ValueError):
    """An error tcllib reports with this exact message (str(e))."""


class FinalizedPartError(MimeError):
    """A subordinate was finalized (or ``-parts`` named no part): tcllib's
    parent keeps the token name and fails with Tcl's own message for the
    state variable it reads first (``value`` for sizes, ``header`` for
    output)."""

    def __init__(self, var: str) -> None:
        super().__init__('can\'t read "state(%s)": no such variable' % var)


class Entity:
    """One MIME part.

    Attributes (read them; change them through the methods):

    :ivar content: lower-case ``type/subtype``.
    :ivar params: Content-Type parameters ``[(key, value)]``, keys lower-case,
        in the order tcllib lists them.
    :ivar encoding: transfer encoding given or parsed (``""`` = none given).
    :ivar version: MIME-Version value (``"1.0"`` unless parsed otherwise).
    :ivar headers: user headers (:class:`~.headers.Headers`).
    :ivar canonical: ``True`` for parts made with ``-canonical`` (body is
        raw and gets encoded on output); ``False`` for parsed parts.
    :ivar value: ``"string"``, ``"file"`` or ``"parts"``.
    :ivar string: body text for ``value == "string"`` (str; U+0000-U+00FF
        chars are octets).
    :ivar file: path for ``value == "file"``; ``offset``/``count`` give the
        window in octets (``count is None``: to end of file).
    :ivar parts: subordinate entities for ``value == "parts"``.
    :ivar dynamic: the parts were made by parsing (``finalize
        -subordinates dynamic`` destroys them).
    :ivar token: the Tcl token naming this entity, set by the bridge.
    :ivar defects: for parsed parts, the recoveries the parser made (names
        of Python ``email.errors`` defects, e.g.
        ``CloseBoundaryNotFoundDefect``); empty for well-formed input.
    :ivar header_octets: the header was parsed from octets (``-file``, or
        a message/* body decoded from base64/quoted-printable): its field
        names, values and parameters are octets as U+0000-U+00FF chars,
        and are written back as those octets.
    :ivar parts_label: for a parsed message/* or multipart/* part labelled
        base64 or quoted-printable (RFC 2045 §6.4 forbids it; its
        subordinates are written unencoded): the label that describes what
        is written, ``7bit`` or ``8bit`` (the octets it was parsed from).
    """

    # Defaults of the immutable attributes, read from the class until a part
    # sets its own (an Entity is made per message: one store per attribute
    # it changes, not per attribute it has).
    content = "text/plain"
    encoding = ""
    version = "1.0"
    canonical = False
    value = "string"
    string = ""
    file: Optional[str] = None
    offset = 0
    count: Optional[int] = None
    dynamic = False
    #: a parsed multipart tried to make a subordinate (tcllib then lists
    #: a ``parts`` property even if it had to drop it)
    parts_listed = False
    token: Optional[str] = None
    #: finalized (or a ``-parts`` name that named no part): ``token``
    #: keeps the name a parent still lists, every use fails as in tcllib
    dead = False
    header_octets = False
    parts_label = "8bit"

    def __init__(self) -> None:
        self.params: List[Tuple[str, str]] = []
        self.headers = Headers()
        self.parts: List["Entity"] = []
        self.defects: List[str] = []

    def __repr__(self) -> str:
        return "<Entity %s %s %s>" % (self.token or hex(id(self)), self.content, self.value)

    # --- construction -------------------------------------------------------

    @classmethod
    def create(cls, canonical: str, *, params: Sequence[Tuple[str, str]] = (),
               encoding: str = "", headers: Sequence[Tuple[str, str]] = (),
               string: Union[str, bytes, None] = None, file: Optional[os.PathLike] = None,
               parts: Optional[Sequence["Entity"]] = None) -> "Entity":
        """``mime::initialize -canonical TYPE ?-param {k v}?... ?-encoding E?
        ?-header {k v}?... (-string S | -file F | -parts {...})``.

        :param canonical: ``type/subtype`` (any case).
        :param params: Content-Type parameters (key case-insensitive, each
            at most once).
        :param encoding: ``7bit``, ``8bit``, ``binary``, ``quoted-printable``,
            ``base64`` or ``""`` (chosen on output).
        :param headers: ``(name, value)`` pairs, appended in order.
        :param string: the raw body (str; bytes are taken as octets).
        :param file: path of the raw body, read on output (streamed).
        :param parts: subordinate entities (not for text/image/audio/video).
        :raises MimeError: with tcllib's message for every invalid combination.
        :raises HeaderValueError: for header values with a bare line break,
            an invalid content type, parameter or header name.

        A ``Content-ID`` is added unless given (tcllib).
        """
        e = cls()
        e.canonical = True
        e.set_content(canonical)
        seen = {}
        for k, v in params:
            e.add_param(k, v, seen)
        if encoding:
            e.set_encoding(encoding)
        for k, v in headers:
            e.add_init_header(k, v)
        given = [x for x in (string, file, parts) if x is not None]
        if len(given) != 1:
            raise MimeError("specify exactly one of -file, -parts, or -string")
        if string is not None:
            e.value = "string"
            e.string = string.decode("latin-1") if isinstance(string, bytes) else string
        elif file is not None:
            e.value = "file"
            e.file = os.fspath(file)
        else:
            e.value = "parts"
            e.parts = list(parts or ())
        e.finish_canonical()
        return e

    def set_content(self, canonical: str) -> None:
        """``-canonical type/subtype`` (stored lower-case, as tcllib).

        :raises HeaderValueError: unless ``type/subtype`` tokens, optionally
            with well-formed parameters (tcllib writes anything, so a line
            break there ends or forges header fields).
        """
        check_canonical(canonical)
        self.content = canonical.lower()

    def add_param(self, key: str, value: str, seen: Optional[dict] = None) -> None:
        """One ``-param {key value}`` (order of the list follows Tcl's array).

        :raises MimeError: ``the KEY parameter may be specified at most once``.
        :raises HeaderValueError: for a key that is not a token, or a value
            with CR, LF, NUL or another control char (not TAB).
        """
        lower = key.lower()
        if any(k == lower for k, _ in self.params):
            raise MimeError("the %s parameter may be specified at most once" % key)
        check_param(key, value)
        # the Tcl array order depends on the insertion order, not on the
        # previous iteration order
        self._param_seq = getattr(self, "_param_seq", []) + [(lower, value)]
        self.params = array_get(self._param_seq)

    def set_encoding(self, encoding: str) -> None:
        """``-encoding``. :raises MimeError: for unknown encodings (tcllib's
        message shows the previous value, usually empty)."""
        value = encoding.lower()
        if value not in KNOWN_ENCODINGS:
            raise MimeError("unknown value for -encoding %s" % self.encoding)
        self.encoding = value

    def add_init_header(self, name: str, value: str) -> None:
        """``-header {name value}`` (appends).

        :raises MimeError: for Content-Type, Content-Transfer-Encoding,
            Content-MD5, MIME-Version (tcllib's messages).
        :raises HeaderValueError: for a line break not starting a fold.
        """
        lower = name.lower()
        if lower == "content-type":
            raise MimeError("use -canonical instead of -header %s" % _tcl_pair(name, value))
        if lower == "content-transfer-encoding":
            raise MimeError("use -encoding instead of -header %s" % _tcl_pair(name, value))
        if lower in ("content-md5", "mime-version"):
            raise MimeError("don't go there...")
        check_header_name(name, "-header")
        check_header_value(name, value)
        self.headers.append(name, ScriptValue(value))

    def finish_canonical(self) -> None:
        """The checks and defaults of ``initialize`` once options are read."""
        if self.value == "parts":
            major = self.content.split("/", 1)[0]
            if major in ("text", "image", "audio", "video"):
                raise MimeError("-canonical %s and -parts do not mix" % self.content)
            if self.encoding:
                raise MimeError("-encoding and -parts do not mix")
        if "content-id" not in self.headers:
            self.headers.append("Content-ID", unique_id())
        self.version = "1.0"

    def shallow_copy(self) -> "Entity":
        """A copy with its own header table, sharing body and parts."""
        c = object.__new__(type(self))  # copy.copy's result, without its generic protocol
        c.__dict__.update(self.__dict__)
        c.headers = self.headers.copy()
        c.params = list(self.params)
        c.token = None
        return c

    # --- headers (the smtp layer's view) ------------------------------------

    def header_names(self) -> List[str]:
        """``getheader -names``: user header names, first spelling, in order."""
        return self.headers.names()

    def get_header(self, name: str) -> List[str]:
        """``getheader $tok name`` for user headers and the derived ones
        (Content-Type, Content-Transfer-Encoding, MIME-Version).

        :raises KeyError: if absent (tcllib: ``key NAME not in header``).
        """
        lower = name.lower()
        if lower == "content-transfer-encoding":
            te = self.checked_transfer_encoding()
            return [te] if te else []
        if lower == "content-type":
            from .contenttype import format_content_type
            return [format_content_type(self, charset=self.text_plan().charset)]
        if lower == "mime-version":
            return [self.version]
        return self.headers.get(lower)

    def has_header(self, name: str) -> bool:
        """Whether :meth:`get_header` finds ``name`` (any case) rather than
        raising KeyError: a user header, or Content-Type,
        Content-Transfer-Encoding or MIME-Version (always there)."""
        lower = name.lower()
        return lower in self.headers or lower in _DERIVED_FIELDS

    def with_headers_appended(self, pairs: Iterable[Tuple[str, str]]) -> "Entity":
        """A shallow copy with each ``(name, value)`` applied like
        ``setheader -mode append``; ``self`` is not modified (tcllib's
        sendmessage leaves its headers on the caller's token).

        :raises MimeError: for Content-Type etc. (``key NAME may not be set``).
        :raises HeaderValueError: for injected line breaks.
        """
        return self.derived(pairs)

    def derived(self, pairs: Iterable[Tuple[str, str]] = (), without: Iterable[str] = ()) -> "Entity":
        """:meth:`with_headers_appended`, with the headers named in
        ``without`` deleted from the copy first (absent ones are skipped):
        the outgoing copy ``smtp::sendmessage`` sends, made in one copy."""
        c = self.shallow_copy()
        headers = c.headers
        if without:
            headers.discard(map(str.lower, without))
        if not isinstance(pairs, (list, tuple)):
            pairs = list(pairs)
        valid = _PLAIN_NAMES
        # The usual call: every name one that passed check_header_name
        # before and is not restricted (both functions of the name alone),
        # and no value with a line break or NUL (then check_header_value
        # passes it): the loop below would append them all, unchanged.
        if valid.issuperset(map(_name_of, pairs)) and one_line_values(map(_value_of, pairs)):
            headers.extend(zip(map(_name_of, pairs), map(ScriptValue, map(_value_of, pairs))))
            return c
        for k, v in pairs:
            if k.lower() in RESTRICTED_HEADERS:
                c.set_header(k, v, "append")
                continue
            # set_header(k, v, "append") for a name it lets through: the
            # same checks, without the previous values it returns
            if k not in valid:
                check_header_name(k, "header")
                if len(valid) >= _PLAIN_NAMES_KEPT:
                    valid.clear()
                valid.add(k)
            check_header_value(k, v)
            headers.append(k, ScriptValue(v))
        return c

    def set_header(self, name: str, value: str, mode: str = "write") -> List[str]:
        """``setheader`` (``mode`` = write|append|delete); returns the
        previous values.

        :raises MimeError: ``key NAME not in header`` (delete of an absent
            key), ``key NAME may not be set`` (Content-Type,
            Content-Transfer-Encoding, Content-MD5, MIME-Version unless the
            value is the current one), ``unknown value for -mode M``.
        :raises HeaderValueError: for injected line breaks, or a name that
            is not an RFC 5322 §3.6.8 field name (write/append only: delete
            must still reach odd names a parsed message may carry).
        """
        lower = name.lower()
        present = lower in self.headers
        if mode == "delete":
            if not present:
                raise MimeError("key %s not in header" % name)
            result = self.headers.get(lower)
            self.headers.delete(lower)
            return result
        if mode not in ("write", "append"):
            raise MimeError("unknown value for -mode %s" % mode)
        result = self.headers.get(lower) if present else []
        if lower in RESTRICTED_HEADERS:
            if lower == "content-md5" and lower not in self.headers:
                # tcllib looks the current values up with ``getheader
                # $token $lower``, which fails first (lower-case name)
                raise MimeError("key %s not in header" % lower)
            if value not in self._restricted_values(lower):
                raise MimeError("key %s may not be set" % name)
        check_header_name(name, "header")
        check_header_value(name, value)
        if mode == "append":
            self.headers.append(name, ScriptValue(value))
        else:
            self.headers.write(name, ScriptValue(value))
        return result

    def _restricted_values(self, lower: str) -> List[str]:
        if lower == "content-transfer-encoding":
            # tcllib compares against a plain string, used as a list
            return self.checked_transfer_encoding().split()
        if lower == "content-md5":
            return self.headers.get(lower) if lower in self.headers else []
        return self.get_header(lower)

    # --- properties ---------------------------------------------------------

    def transfer_encoding(self) -> str:
        """The Content-Transfer-Encoding written for this part: a label
        that matches the octets sent (RFC 2045 §2.7-§2.9, §6.1).

        Canonical leaves: the given one or tcllib's choice.  Parsed parts:
        the parsed one only -- tcllib also "chooses" one for a parsed part
        without the header and labels the unchanged raw body with it
        (e.g. quoted-printable), which corrupts it (COMPATIBILITY.md).

        Then, for a leaf that would go out unencoded (none, ``7bit``,
        ``8bit``, ``binary``):

        - a line over 998 octets (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6) or,
          unless ``binary``, a NUL (RFC 2045 §2.7, §2.8) makes it
          quoted-printable (text/*) or base64 (others but message/* and
          multipart/*, which RFC 2045 §6.4 forbids to encode); tcllib
          sends them raw.  See :meth:`upgraded`;
        - none or ``7bit`` with octets above 0x7F is labelled ``8bit``
          (tcllib writes no label, or ``7bit``).
        """
        return self.transfer_label()[0]

    def transfer_label(self) -> Tuple[str, bool]:
        """``(encoding, upgraded)``: :meth:`transfer_encoding` and whether it
        replaces an identity encoding (given, parsed or tcllib's choice)
        because of a long line or a NUL -- the body is then encoded on output
        from the octets it would have been sent as.

        For a small string body the answer is kept by exactly what it is
        a function of (a script sends the same kind of message again and
        again, each time from a new token)."""
        if self.value == "string" and len(self.string) <= _LABEL_MEMO_BODY:
            key = (self.encoding, self.canonical, self.content, tuple(self.params), self.string)
            label = _LABELS.get(key)
            if label is None:
                label = self._transfer_label()
                if len(_LABELS) >= _LABEL_MEMO_SIZE:
                    _LABELS.clear()
                _LABELS[key] = label
            return label
        return self._transfer_label()

    def _transfer_label(self) -> Tuple[str, bool]:
        if self.encoding or not self.canonical:
            te = self.encoding
        else:
            te = choose_encoding(self.content, self.params, self._line_blocks())
        if self.value == "parts":
            if te in ("base64", "quoted-printable"):
                # the subordinates are written as they are, not encoded
                return self.parts_label, False
            return te, False
        if te not in ("", "7bit", "8bit", "binary"):
            return te, False
        facts = self.body_facts()
        major = self.content.split("/", 1)[0]
        if major not in ("message", "multipart") and (
                facts.long_line or (facts.nul and te != "binary")):
            return ("quoted-printable" if major == "text" else "base64"), True
        if te in ("", "7bit") and facts.eight_bit:
            return "8bit", False
        return te, False

    def upgraded(self, te: str) -> bool:
        """Whether ``te`` (from :meth:`transfer_encoding`) was upgraded from
        an identity encoding (see :meth:`transfer_label`)."""
        return te in ("base64", "quoted-printable") and self.transfer_label() == (te, True)

    def text_plan(self) -> TextPlan:
        """The octets and ``charset`` a canonical ``text/*`` string body goes
        out in (:func:`~.textbody.text_plan`); :data:`~.textbody.NO_PLAN`
        for every other part."""
        if not self.canonical or self.value != "string" or self.string.isascii():
            return NO_PLAN  # (text_plan's answer for ASCII text, without the memo)
        key = (self.content, tuple(self.params))
        memo = getattr(self, "_plan_memo", None)
        if memo is not None and memo[0] is self.string and memo[1] == key:
            return memo[2]
        plan = text_plan(self.content, self.params, self.string)
        self._plan_memo = (self.string, key, plan)
        return plan

    def body_facts(self) -> FileFacts:
        """``(long_line, eight_bit, nul)`` of the body as the generator
        writes it unencoded: string bodies as their planned octets, else
        as UTF-8 (buildmessage's encoding); file bodies as their octets
        (read in blocks).  A line ends at CRLF, CR or LF (the rule of
        :mod:`~.lines`, which the DATA writer shares); long means over 998
        octets.  Parts with subordinates: all False."""
        if self.value == "string":
            plan = self.text_plan()
            if plan.octets is not None:
                data = plan.octets
                return FileFacts(octets_have_long_line(data, MAX_LINE), not data.isascii(),
                                 b"\x00" in data)
            text = self.string
            return FileFacts(string_has_long_line(text, MAX_LINE), not text.isascii(),
                             "\x00" in text)
        if self.value == "file":
            return file_facts(self.file, self.offset, None if self.canonical else self.count,
                              MAX_LINE)
        return FileFacts(False, False, False)

    def has_long_line(self) -> bool:
        """A body line over 998 octets (see :meth:`body_facts`)."""
        return self.body_facts().long_line

    def checked_transfer_encoding(self) -> str:
        """:meth:`transfer_encoding`, refusing one tcllib cannot write.

        :raises MimeError: ``Can't handle content encoding "x"``.
        """
        return self.checked_transfer_label()[0]

    def checked_transfer_label(self) -> Tuple[str, bool]:
        """:meth:`transfer_label`, refusing an encoding tcllib cannot write.

        :raises MimeError: ``Can't handle content encoding "x"``.
        """
        label = self.transfer_label()
        te = label[0]
        if te and te not in KNOWN_ENCODINGS:
            raise MimeError('Can\'t handle content encoding "%s"' % te)
        return label

    def _line_blocks(self) -> Optional[Iterator[str]]:
        if self.value == "parts":
            return None
        if self.value == "string":
            return _string_line_blocks(self.string)
        return _file_line_blocks(self.file, self.offset, self.count)

    def size(self) -> int:
        """``getproperty size``: canonical string/file: its length; parts:
        the sum; parsed: the encoded length, times 3/4 for base64.

        :raises FinalizedPartError: for a finalized subordinate (tcllib).
        """
        if self.dead:
            raise FinalizedPartError("value")
        if self.value == "parts":
            return sum(p.size() for p in self.parts)
        if self.value == "file":
            if self.canonical:
                return os.path.getsize(self.file)
            size = self.count or 0
        else:
            size = len(self.string)
            if self.canonical:
                return size
        if self.encoding == "base64":
            size = (size * 3 + 2) // 4
        return size

    def walk(self) -> Iterator["Entity"]:
        """This entity and all subordinates, depth first."""
        yield self
        for p in self.parts:
            yield from p.walk()


#: header names check_header_name let through that are not restricted
#: (Entity.derived)
_PLAIN_NAMES: set = set()
_PLAIN_NAMES_KEPT = 256
_name_of = itemgetter(0)
_value_of = itemgetter(1)

#: transfer_label of small string bodies, by every input it depends on
_LABELS: dict = {}
_LABEL_MEMO_BODY = 4096
_LABEL_MEMO_SIZE = 256

#: Characters (octets for files) per block of lines judged at once by
#: choose_encoding: bounded memory for big bodies.
_LINE_BLOCK = 1 << 20


def _string_line_blocks(text: str, size: int = _LINE_BLOCK) -> Iterator[str]:
    """``text`` as blocks of whole LF-separated lines (the LF between two
    blocks left out); a line longer than ``size`` (> 76) is cut, which
    :func:`~.transfer.choose_encoding` allows."""
    start, n = 0, len(text)
    while True:
        if n - start <= size:
            yield text[start:]
            return
        cut = text.rfind("\n", start, start + size)
        if cut < 0:  # one line fills the block
            yield text[start:start + size]
            start += size
        else:
            yield text[start:cut]
            start = cut + 1


def _file_line_blocks(path: str, offset: int, count: Optional[int],
                      size: int = _LINE_BLOCK) -> Iterator[str]:
    # the file window's lines, octets as chars (`gets` on a binary channel)
    with open(path, "rb") as f:
        f.seek(offset)
        left = count
        carry = b""
        while left is None or left > 0:
            raw = f.read(size if left is None else min(size, left))
            if not raw:
                break
            if left is not None:
                left -= len(raw)
            raw = carry + raw
            cut = raw.rfind(b"\n")
            if cut < 0 and len(raw) < size:
                carry = raw
                continue
            if cut < 0:  # one line fills the block
                cut = len(raw)
            yield raw[:cut].decode("latin-1")
            carry = raw[cut + 1:]
        if carry:
            yield carry.decode("latin-1")


def _tcl_pair(a: str, b: str) -> str:
    from .tcllist import tcl_list
    return tcl_list([a, b])
