"""Envelope and header derivation for ``smtp::sendmessage`` (tcllib rules).

Only ``-originator``, ``-recipients`` and the ``-header`` options are
consulted (never the headers already on the message); the result says which
headers must be added to the outgoing copy of the message.
"""
from __future__ import annotations

import re

from ..records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Callable, Dict, List, Optional, Sequence, Tuple

    #: parseaddress: string -> list of property dicts ("address", "error", ...)
    AddressParser = Callable[[str], List[Dict[str, str]]]

#: Headers a script may not give with -header (tcllib's list).
FORBIDDEN = ("content-type", "content-transfer-encoding", "content-md5", "mime-version")
FORBIDDEN_TEXT = ("Content-Type, Content-Transfer-Encoding, Content-MD5, and MIME-Version "
                  "cannot be user-specified.")

# tcllib's default when parseaddress returns no mailbox: the braces keep
# "$from" literal, so this is the exact text scripts see.
_NO_MAILBOX = 'invalid address "$from"'


class EnvelopeError(Exception):
    """Bad option values; ``str(e)`` is tcllib's error text."""


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def unfold(value: str) -> str:
    """RFC 5322 §2.2.3: remove each line break (CRLF, or the LF a Tcl
    script writes) that is followed by white space.  Header values are
    unfolded before their addresses are parsed, so a folded value cannot
    carry a line break into a quoted local part or domain literal, and from
    there into MAIL FROM or RCPT TO."""
    return _FOLD.sub("", value) if "\n" in value else value


class Envelope(Record):
    """What one send needs.

    :ivar sender: reverse-path for MAIL FROM (may be ``""``).
    :ivar recipients: forward-paths for RCPT TO, in order.
    :ivar bcc: blind recipients (sent a multipart/digest copy).
    :ivar headers: ``(Name, value)`` pairs to append to the outgoing copy,
        in tcllib's order.
    :ivar originator: the originator string (the digest's From).
    :ivar subject: first -header Subject value, if any.
    :ivar bcc_name: ``Bcc`` or ``Resent-Bcc`` (for the digest subject).
    :ivar sender_source: where ``sender`` came from, for error texts
        (``-originator``, ``-header From``, ``$tcl_platform(user)``).
    :ivar recipient_parts: ``(option, values)`` the recipients were joined
        from (see :meth:`sources`); ``bcc_parts`` the same for ``bcc``.
    """

    __slots__ = ("sender", "recipients", "bcc", "headers", "originator", "subject", "bcc_name", "has_bcc",
                 "date_name", "message_id_name", "needs", "sender_source", "recipient_parts", "bcc_parts")

    def __init__(self, sender: str, recipients: List[str], bcc: List[str], headers: List[Tuple[str, str]],
                 originator: str, subject: Optional[str], bcc_name: str, has_bcc: bool = False,
                 date_name: str = "Date", message_id_name: str = "Message-ID",
                 needs: Optional[List[str]] = None, sender_source: str = "-originator",
                 recipient_parts: Optional[List[Tuple[str, List[str]]]] = None,
                 bcc_parts: Optional[List[Tuple[str, List[str]]]] = None) -> None:
        self.sender = sender
        self.recipients = recipients
        self.bcc = bcc
        self.headers = headers
        self.originator = originator
        self.subject = subject
        self.bcc_name = bcc_name
        self.has_bcc = has_bcc
        self.date_name = date_name
        self.message_id_name = message_id_name
        self.needs = [] if needs is None else needs
        self.sender_source = sender_source
        self.recipient_parts = [] if recipient_parts is None else recipient_parts
        self.bcc_parts = [] if bcc_parts is None else bcc_parts

    def sources(self, parse: AddressParser) -> Tuple[List[str], List[str]]:
        """The option each recipient and each Bcc recipient came from
        (``-recipients``, ``-header To`` …), for error texts.

        :param parse: a parser without side effects (tcllib's
            ``parseaddress`` uses a token number per call; this one must not).
        """
        return (_sources(self.recipients, self.recipient_parts, parse),
                _sources(self.bcc, self.bcc_parts, parse))


class _Headers:
    """tcllib's header array: keys in first-seen order, values per key."""

    def __init__(self) -> None:
        self.order: List[Tuple[str, str]] = []  # (lower, Mixed)
        self.values: Dict[str, List[str]] = {}

    def add(self, mixed: str, value: str) -> None:
        lower = mixed.lower()
        if lower not in self.values:
            self.order.append((lower, mixed))
            self.values[lower] = []
        self.values[lower].append(value)

    def remove(self, lower: str) -> None:
        self.values.pop(lower, None)
        self.order = [(l, m) for l, m in self.order if l != lower]

    def __contains__(self, lower: str) -> bool:
        return lower in self.values

    def joined(self, lower: str) -> str:
        return ",".join(self.values[lower])


def _names(pl: str, pm: str) -> Dict[str, Tuple[str, str]]:
    # lower-case key -> (lower-case, Mixed) names, with a Resent- prefix or not
    return {m.lower(): (pl + m.lower(), pm + m) for m in
            ("From", "Sender", "To", "cc", "Dcc", "Bcc", "Date", "Message-ID")}


_NAMES = _names("", "")
_RESENT_NAMES = _names("resent-", "Resent-")


def derive(*, originator: Optional[str], recipients: str, headers: Sequence[Tuple[str, str]],
           parse: AddressParser, user: Callable[[], str],
           message_has_header: Callable[[str], bool]) -> Envelope:
    """Work out sender, recipients and added headers as tcllib does.

    :param originator: ``-originator`` value, ``None`` when not given (an
        explicit ``""`` means the null reverse-path ``<>``).
    :param recipients: ``-recipients`` value (``""`` when not given).
    :param headers: ``-header`` pairs in option order (already validated).
    :param parse: ``mime::parseaddress`` equivalent.
    :param user: reads ``$tcl_platform(user)``, the originator of last
        resort (called only when it is needed).
    :param message_has_header: whether the message already has a header
        (Date and Message-ID are added only when it has none).
    :raises EnvelopeError: with tcllib's text (``need -header "To ..."``,
        ``too many mailboxes in …``, ``error in …: …``).
    """
    h = _Headers()
    for k, v in headers:
        h.add(k, v)
    resent = any(l.startswith("resent-") for l, _ in h.order)
    name = _RESENT_NAMES if resent else _NAMES
    fromL, fromM = name["from"]
    senderL, senderM = name["sender"]
    toL, toM = name["to"]

    sender_source = "-originator"
    if originator == "":
        sender = ""
        orig = ""
    else:
        who = "-originator"
        orig = originator or ""
        if not orig:
            if fromL not in h:
                orig = user()
                sender_source = "$tcl_platform(user)"
            else:
                orig = h.joined(fromL)
                who = fromM
                sender_source = "-header " + fromM
        if fromL not in h:
            h.add(fromM, orig)
        addrs = parse(unfold(orig))
        if len(addrs) > 1:
            raise EnvelopeError("too many mailboxes in %s: %s" % (who, orig))
        props = addrs[0] if addrs else {"error": _NO_MAILBOX}
        if props.get("error"):
            raise EnvelopeError("error in %s: %s" % (who, props["error"]))
        sender = props.get("address", "")
        from_ = h.joined(fromL)
        if senderL not in h and orig != from_:
            fa = parse(unfold(from_))
            fprops = fa[0] if fa else {"error": _NO_MAILBOX}
            if fprops.get("error"):
                raise EnvelopeError("error in %s: %s" % (fromM, fprops["error"]))
            if fprops.get("address", "") != sender:
                h.add(senderM, fprops["address"])

    # (header, values) each recipient list was joined from, to name the
    # source of a bad address in an error
    rcpt_parts: List[Tuple[str, List[str]]] = []
    if recipients != "":
        who = "-recipients"
        rcpts = recipients
        rcpt_parts.append(("-recipients", [recipients]))
    elif toL not in h:
        raise EnvelopeError('need -header "%s ..."' % toM)
    else:
        rcpts = h.joined(toL)
        who = toM
        rcpt_parts.append(("-header " + toM, h.values[toL]))
        ccL, ccM = name["cc"]
        if ccL in h:
            rcpts += "," + h.joined(ccL)
            who += "/" + ccM
            rcpt_parts.append(("-header " + ccM, h.values[ccL]))
        dccL, dccM = name["dcc"]
        if dccL in h:
            rcpts += "," + h.joined(dccL)
            who += "/" + dccM
            rcpt_parts.append(("-header " + dccM, h.values[dccL]))
            h.remove(dccL)

    bccL, bccM = name["bcc"]
    bcc: List[str] = []
    bcc_parts: List[Tuple[str, List[str]]] = []
    has_bcc = bccL in h
    if has_bcc:
        bcc_parts.append(("-header " + bccM, h.values[bccL]))
        for props in parse(unfold(h.joined(bccL))):
            if props.get("error"):
                raise EnvelopeError("error in %s: %s" % (bccM, props["error"]))
            bcc.append(props.get("address", ""))
        h.remove(bccL)
    if toL not in h:
        # tcllib adds an empty Bcc when there is no To (RFC 822 wanted a
        # destination field; RFC 5322 no longer does, but scripts see it).
        h.add(bccM, "")

    vrcpts: List[str] = []
    for props in parse(unfold(rcpts)):
        if props.get("error"):
            raise EnvelopeError("error in %s: %s" % (who, props["error"]))
        vrcpts.append(props.get("address", ""))

    dateL, dateM = name["date"]
    midL, midM = name["message-id"]
    needs = []
    if dateL not in h and not message_has_header(dateL):
        needs.append(dateM)
    if midL not in h and not message_has_header(midL):
        needs.append(midM)

    out = [(m, v) for l, m in h.order for v in h.values[l]]
    subject = h.values["subject"][0] if "subject" in h else None
    return Envelope(sender=sender, recipients=vrcpts, bcc=bcc, headers=out, originator=orig,
                    subject=subject, bcc_name=bccM, has_bcc=has_bcc, date_name=dateM,
                    message_id_name=midM, needs=needs, sender_source=sender_source,
                    recipient_parts=rcpt_parts, bcc_parts=bcc_parts)


def _sources(addresses: List[str], parts: List[Tuple[str, List[str]]],
             parse: AddressParser) -> List[str]:
    """Which option each of ``addresses`` came from.  tcllib parses the
    joined values; parsing each value alone names its option, and is used
    when it yields the same addresses (else every one gets all the names,
    e.g. ``-header To/cc``)."""
    if len(parts) == 1 and len(parts[0][1]) == 1:
        return [parts[0][0]] * len(addresses)
    fallback = "-header " + "/".join(name.split(" ", 1)[-1] for name, _ in parts)
    names: List[str] = []
    found: List[str] = []
    for name, values in parts:
        for v in values:
            got = [p.get("address", "") for p in parse(unfold(v))]
            found += got
            names += [name] * len(got)
    return names if found == addresses else [fallback] * len(addresses)
