"""RFC 822 address lists, parsed as tcllib 1.21's ``mime::parseaddress``.

Public names:

- :func:`parseaddress` ``(text, hostname) -> list of dict``: one dict per
  address with the keys of :data:`PROPERTIES`, in that order (tcllib's
  key order, which scripts see as ``{address ... route ...}``);
- :func:`as_tcl_list` ``(addresses) -> tuple``: the Tcl list of key/value
  lists that ``mime::parseaddress`` returns;
- :data:`PROPERTIES`.

tcllib's parser (Marshall Rose's 1982 C parser in Tcl) accepts "virtually
every buggy address syntax ever generated"; its quirks are observable, so they
are kept: a bare local part gets ``@<hostname>`` (``info hostname``), a parse
error does not raise but is reported in the address's ``error`` property
(and parsing resumes after the next comma), comments are collected into
``comment`` (a comment seen during a look-ahead is collected again), group
nesting is tracked across the whole list, and ``memberP`` may go negative
after a stray ``;``.

Difference: tcllib recurses per comma, comment and dotted phrase and fails
with "too many nested evaluations" on ~1000 of them in a row; we loop.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Dict, List, Optional, Tuple

__all__ = ["parseaddress", "as_tcl_list", "PROPERTIES"]

#: Keys of every address dict, in tcllib's order.
PROPERTIES = ("address", "comment", "domain", "error", "friendly", "group",
              "local", "memberP", "phrase", "proper", "route")
# Properties reset for each address (the rest are computed from them).
_PARSED = ("comment", "domain", "error", "group", "local", "memberP", "phrase", "route")

# Lexemes.  RFC 822 specials map to their lexeme, as tcllib's addrtokenL.
ATOM, QSTRING, DLITERAL, END, ERR = "atom", "qstring", "dliteral", "end", "err"
SEMI, COMMA, LANGLE, RANGLE, COLON, DOT, AT = ";", ",", "<", ">", ":", ".", "@"
_SPECIALS = {c: c for c in ";,<>:.()@\"[]\\"}
_SPECIAL_CHARS = ";,<>:.()@\"[]\\"
_ATOM_END = frozenset(_SPECIAL_CHARS + " \t\n")
# Tcl 8.6's default `string trim` set (measured with tclsh 8.6.13).
_TCL_WS = ("\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004"
           "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f"
           "\u2060\u3000\ufeff")
_WS_SET = frozenset(_TCL_WS)


class _Soft(Exception):
    """A parse error of one address (tcllib's ``return -code 7``)."""


def _tcl_upper(s: str) -> str:
    # Tcl maps case char by char (no "ß" -> "SS").
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0  # where the rest of the input starts
        self.glevel = 0
        self.buffer = ""
        self.last = END
        self.p: Dict[str, object] = {}

    # -- lexer ---------------------------------------------------------
    def _add(self, key: str, text: str) -> None:
        self.p[key] = str(self.p.get(key, "")) + text

    def lex(self) -> str:
        """Next lexeme; its text is in ``self.buffer``.  Comments are not
        lexemes: they are appended to the ``comment`` property.

        The input is read through an index (``self.pos``): cutting the rest
        off as a new string for each lexeme (tcllib's ``string range``)
        made a list of thousands of addresses take quadratic time."""
        text, n = self.text, len(self.text)
        while True:
            pos = self.pos
            while pos < n and text[pos] in _WS_SET:
                pos += 1
            self.pos = pos
            if pos >= n:
                self.buffer, self.last = "end-of-input", END
                return END
            c = text[pos]
            if c == "(":
                kind = self._bracketed("(", ")", "end-of-input during comment", nest=True)
                if kind is None:  # a complete comment: record it, go on
                    if "comment" in self.p:
                        self._add("comment", " ")
                    self._add("comment", self.buffer)
                    continue
                return kind
            if c == '"':
                return self._bracketed('"', '"', "end-of-input during quoted-string", QSTRING)
            if c == "[":
                return self._bracketed("[", "]", "end-of-input during domain-literal", DLITERAL)
            if c in _SPECIALS:
                self.pos, self.buffer, self.last = pos + 1, c, _SPECIALS[c]
                return self.last
            i = pos + 1
            while i < n and text[i] not in _ATOM_END:
                i += 1
            self.pos, self.buffer, self.last = i, text[pos:i], ATOM
            return ATOM

    def _bracketed(self, open_: str, close: str, eof_msg: str,
                   kind: Optional[str] = None, nest: bool = False) -> Optional[str]:
        # Scan a comment / quoted-string / domain-literal starting at
        # text[pos]; a backslash quotes the next char.  Returns None for a
        # finished comment (buffer holds it), the lexeme kind otherwise.
        text, start = self.text, self.pos
        depth, quoted = 0, False
        for i in range(start, len(text)):
            c = text[i]
            if quoted:
                quoted = False
            elif c == "\\":
                quoted = True
            elif nest and c == open_:
                depth += 1
            elif c == close and (nest or i > start):
                depth -= 1
                if not nest or depth < 1:
                    self.pos, self.buffer = i + 1, text[start:i + 1]
                    if kind is None:
                        return None
                    self.last = kind
                    return kind
        self.pos, self.buffer, self.last = len(text), eof_msg, ERR
        return ERR

    # -- grammar -------------------------------------------------------
    def next_address(self) -> bool:
        for key in _PARSED:
            self.p.pop(key, None)
        try:
            if not self.specification():
                return False
            if self.last not in (COMMA, END):
                saved = self.pos  # pick up a trailing comment
                self.lex()
                self.pos = saved
        except _Soft as e:
            self.p["error"] = str(e)
            while self.last not in (COMMA, END):
                self.lex()
        for key in _PARSED:
            self.p.setdefault(key, "")
        return True

    def specification(self) -> bool:
        while True:
            saved = self.pos
            t = self.lex()
            if t in (ATOM, QSTRING):
                self.p["phrase"] = self.buffer
                break
            if t == SEMI:
                self.glevel -= 1
                if self.glevel < 0:
                    raise _Soft("extraneous semi-colon")
                self.p.pop("comment", None)
            elif t == COMMA:
                self.p.pop("comment", None)
            elif t == END:
                return False
            elif t == LANGLE:
                return self.routeaddr()
            elif t == AT:
                self.pos = saved
                return self.routeaddr(check=False)
            else:
                raise _Soft("unexpected character at beginning (found %s)" % self.buffer)
        t = self.lex()
        if t in (ATOM, QSTRING):
            self._add("phrase", " " + self.buffer)
            return self.phrase()
        if t == LANGLE:
            return self.routeaddr()
        if t == COLON:
            return self.group()
        if t == DOT:
            self.p["local"] = str(self.p.pop("phrase")) + self.buffer
            self.routeaddr(check=False)
            self.end()
        elif t == AT:
            self.p["memberP"] = self.glevel
            self.p["local"] = self.p.pop("phrase")
            self.domain()
            self.end()
        elif t in (SEMI, COMMA, END):
            self.p["memberP"] = self.glevel
            if t == SEMI:
                self.glevel -= 1
                if self.glevel < 0:
                    raise _Soft("extraneous semi-colon")
            self.p["local"] = self.p.pop("phrase")
        else:
            raise _Soft("expecting mailbox (found %s)" % self.buffer)
        return True

    def routeaddr(self, check: bool = True) -> bool:
        saved = self.pos
        if self.lex() == AT:
            self.route()
        else:
            self.pos = saved
        self.local()
        if self.last == AT:
            self.domain()
        elif self.last not in (SEMI, RANGLE, COMMA, END):
            raise _Soft("expecting at-sign after local-part (found %s)" % self.buffer)
        if check and self.last != RANGLE:
            raise _Soft("expecting right-bracket (found %s)" % self.buffer)
        return True

    def route(self) -> None:
        self.p["route"] = "@"
        while True:
            if self.lex() not in (ATOM, DLITERAL):
                raise _Soft("expecting sub-route in route-part (found %s)" % self.buffer)
            self._add("route", self.buffer)
            t = self.lex()
            if t == COMMA:
                self._add("route", self.buffer)
                while (t := self.lex()) == COMMA:
                    pass
                if t != AT:
                    raise _Soft("expecting at-sign in route (found %s)" % self.buffer)
                self._add("route", self.buffer)
            elif t in (AT, DOT):
                self._add("route", self.buffer)
            elif t == COLON:
                self._add("route", self.buffer)
                return
            else:
                raise _Soft("expecting colon to terminate route (found %s)" % self.buffer)

    def domain(self) -> None:
        while True:
            if self.lex() not in (ATOM, DLITERAL):
                raise _Soft("expecting sub-domain in domain-part (found %s)" % self.buffer)
            self._add("domain", self.buffer)
            t = self.lex()
            if t == DOT:
                self._add("domain", self.buffer)
            elif t == AT:  # a@b@c: source route in percent form, a%b@c
                self._add("local", "%" + str(self.p.pop("domain")))
            else:
                return

    def local(self) -> None:
        self.p["memberP"] = self.glevel
        while True:
            if self.lex() not in (ATOM, QSTRING):
                raise _Soft("expecting mailbox in local-part (found %s)" % self.buffer)
            self._add("local", self.buffer)
            if self.lex() != DOT:
                return
            self._add("local", self.buffer)

    def phrase(self) -> bool:
        while True:
            while self.lex() in (ATOM, QSTRING):
                self._add("phrase", " " + self.buffer)
            if self.last == LANGLE:
                return self.routeaddr()
            if self.last == COLON:
                return self.group()
            if self.last != DOT:
                raise _Soft("found phrase instead of mailbox (%s%s)"
                            % (self.p["phrase"], self.buffer))
            self._add("phrase", self.buffer)

    def group(self) -> bool:
        self.glevel += 1
        if self.glevel > 1:
            raise _Soft("nested groups not allowed (found %s)" % self.p["phrase"])
        self.p["group"] = self.p.pop("phrase")
        saved = self.pos
        while True:
            t = self.lex()
            if t in (SEMI, END):
                self.glevel = 0
                return True
            if t != COMMA:
                self.pos = saved
                return self.specification()

    def end(self) -> None:
        if self.last == SEMI:
            self.glevel -= 1
            if self.glevel < 0:
                raise _Soft("extraneous semi-colon")
        elif self.last not in (COMMA, END):
            raise _Soft("junk after local@domain (found %s)" % self.buffer)


def _x400(mbox: str, key: str) -> str:
    # The value of "/KEY=value/" in an X.400 mailbox name, or "".
    x = _tcl_upper(mbox).find("/%s=" % key)
    if x < 0:
        return ""
    mbox = mbox[x + len(key) + 2:]
    x = mbox.find("/")
    if x > 0:
        mbox = mbox[:x]
    return mbox.strip('"')


def _assemble(p: Dict[str, object], hostname: str) -> Dict[str, str]:
    domain, local, phrase = str(p["domain"]), str(p["local"]), str(p["phrase"])
    address = local + "@" + (domain or hostname) if local else ""
    if phrase:
        phrase = phrase.strip('"')
        if any(t in phrase for t in _SPECIAL_CHARS):
            phrase = '"%s"' % phrase
        proper = "%s <%s>" % (phrase, address)
    else:
        proper = address
    friendly = phrase
    if not friendly:
        note = str(p["comment"])
        if note:
            if note.startswith("("):
                note = note[1:].lstrip(_TCL_WS)
            if note.rfind(")") == len(note) - 1:
                note = note[:-1]
            friendly = note
        if not friendly and local:
            mbox = local.strip('"')
            if not mbox.startswith("/"):
                friendly = mbox
            else:
                friendly = _x400(mbox, "PN")
                if not friendly:
                    friendly = _x400(mbox, "S")
                    given = _x400(mbox, "G") if friendly else ""
                    if given:
                        friendly = given + " " + friendly
            if not friendly:
                friendly = mbox
    return {
        "address": address, "comment": str(p["comment"]), "domain": domain,
        "error": str(p["error"]), "friendly": friendly.strip('"'),
        "group": str(p["group"]), "local": local, "memberP": str(p["memberP"]),
        "phrase": phrase, "proper": proper, "route": str(p["route"]),
    }


def parseaddress(text: str, hostname: str) -> List[Dict[str, str]]:
    """Parse an RFC 822 address list as ``mime::parseaddress`` does.

    :param text: the header value (``To``, ``From``, ...).
    :param hostname: appended as ``@hostname`` to a local part without a
        domain (tcllib uses ``[info hostname]``).
    :returns: one dict per address, keys :data:`PROPERTIES` in order:
        ``address`` (local@domain), ``comment`` (the RFC 822 comments),
        ``domain``, ``error`` (non-empty: this address did not parse; the
        message is tcllib's), ``friendly`` (a name for display),
        ``group`` (the group this address starts), ``local``, ``memberP``
        (group depth, a decimal str), ``phrase`` (display name, quoted when it
        holds specials), ``proper`` (``phrase <address>`` or ``address``),
        ``route`` (obsolete source route).  Never raises for bad syntax.
    """
    parser = _Parser(text)
    result = []
    while parser.next_address():
        result.append(_assemble(parser.p, hostname))
    return result


def as_tcl_list(addresses: List[Dict[str, str]]) -> Tuple[Tuple[str, ...], ...]:
    """The Tcl value ``mime::parseaddress`` returns: a list with one
    ``{address V comment V ...}`` key/value list per address."""
    return tuple(tuple(x for k in PROPERTIES for x in (k, a[k])) for a in addresses)
