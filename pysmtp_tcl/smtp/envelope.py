"""Envelope and header derivation for ``smtp::sendmessage`` (tcllib rules).

Only ``-originator``, ``-recipients`` and the ``-header`` options are
consulted (never the headers already on the message); the result says which
headers must be added to the outgoing copy of the message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Envelope:
    """What one send needs.

    :ivar sender: reverse-path for MAIL FROM (may be ``""``).
    :ivar recipients: forward-paths for RCPT TO, in order.
    :ivar bcc: blind recipients (sent a multipart/digest copy).
    :ivar headers: ``(Name, value)`` pairs to append to the outgoing copy,
        in tcllib's order.
    :ivar originator: the originator string (the digest's From).
    :ivar subject: first -header Subject value, if any.
    :ivar bcc_name: ``Bcc`` or ``Resent-Bcc`` (for the digest subject).
    """

    sender: str
    recipients: List[str]
    bcc: List[str]
    headers: List[Tuple[str, str]]
    originator: str
    subject: Optional[str]
    bcc_name: str
    has_bcc: bool = False
    date_name: str = "Date"
    message_id_name: str = "Message-ID"
    needs: List[str] = field(default_factory=list)


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


def derive(*, originator: Optional[str], recipients: str, headers: Sequence[Tuple[str, str]],
           parse: AddressParser, user: str,
           message_has_header: Callable[[str], bool]) -> Envelope:
    """Work out sender, recipients and added headers as tcllib does.

    :param originator: ``-originator`` value, ``None`` when not given (an
        explicit ``""`` means the null reverse-path ``<>``).
    :param recipients: ``-recipients`` value (``""`` when not given).
    :param headers: ``-header`` pairs in option order (already validated).
    :param parse: ``mime::parseaddress`` equivalent.
    :param user: ``$tcl_platform(user)``, the originator of last resort.
    :param message_has_header: whether the message already has a header
        (Date and Message-ID are added only when it has none).
    :raises EnvelopeError: with tcllib's text (``need -header "To ..."``,
        ``too many mailboxes in …``, ``error in …: …``).
    """
    h = _Headers()
    for k, v in headers:
        h.add(k, v)
    resent = any(l.startswith("resent-") for l, _ in h.order)
    pl, pm = ("resent-", "Resent-") if resent else ("", "")
    name = {m.lower(): (pl + m.lower(), pm + m) for m in
            ("From", "Sender", "To", "cc", "Dcc", "Bcc", "Date", "Message-ID")}
    fromL, fromM = name["from"]
    senderL, senderM = name["sender"]
    toL, toM = name["to"]

    if originator == "":
        sender = ""
        orig = ""
    else:
        who = "-originator"
        orig = originator or ""
        if not orig:
            if fromL not in h:
                orig = user
            else:
                orig = h.joined(fromL)
                who = fromM
        if fromL not in h:
            h.add(fromM, orig)
        addrs = parse(orig)
        if len(addrs) > 1:
            raise EnvelopeError("too many mailboxes in %s: %s" % (who, orig))
        props = addrs[0] if addrs else {"error": _NO_MAILBOX}
        if props.get("error"):
            raise EnvelopeError("error in %s: %s" % (who, props["error"]))
        sender = props.get("address", "")
        from_ = h.joined(fromL)
        if senderL not in h and orig != from_:
            fa = parse(from_)
            fprops = fa[0] if fa else {"error": _NO_MAILBOX}
            if fprops.get("error"):
                raise EnvelopeError("error in %s: %s" % (fromM, fprops["error"]))
            if fprops.get("address", "") != sender:
                h.add(senderM, fprops["address"])

    if recipients != "":
        who = "-recipients"
        rcpts = recipients
    elif toL not in h:
        raise EnvelopeError('need -header "%s ..."' % toM)
    else:
        rcpts = h.joined(toL)
        who = toM
        ccL, ccM = name["cc"]
        if ccL in h:
            rcpts += "," + h.joined(ccL)
            who += "/" + ccM
        dccL, dccM = name["dcc"]
        if dccL in h:
            rcpts += "," + h.joined(dccL)
            who += "/" + dccM
            h.remove(dccL)

    bccL, bccM = name["bcc"]
    bcc: List[str] = []
    has_bcc = bccL in h
    if has_bcc:
        for props in parse(h.joined(bccL)):
            if props.get("error"):
                raise EnvelopeError("error in %s: %s" % (bccM, props["error"]))
            bcc.append(props.get("address", ""))
        h.remove(bccL)
    if toL not in h:
        # tcllib adds an empty Bcc when there is no To (RFC 822 wanted a
        # destination field; RFC 5322 no longer does, but scripts see it).
        h.add(bccM, "")

    vrcpts: List[str] = []
    for props in parse(rcpts):
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
                    message_id_name=midM, needs=needs)
