"""One ``smtp::sendmessage``: envelope, connection, transaction(s), close.

Pure Python (the caller supplies a :class:`~.connection.Reactor`); the Tcl
bridge maps the outcome to tcllib's result, Tcl error or return code 7.
The caller's MIME entity is never modified: the headers tcllib would add to
the caller's token (and, by a typo in tcllib 1.21, leave there) go on a
shallow copy (COMPATIBILITY.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import envelope as envmod
from .connection import Reactor
from .session import (DebugSink, OpenFailure, ProtocolFailure, SessionOptions,  # noqa: F401
                      open_session)


@dataclass(frozen=True)
class SendRequest:
    """Everything ``smtp::sendmessage`` was asked to do.

    :ivar entity: the MIME entity (``pysmtp_tcl.mime.Entity``) to send.
    :ivar originator: ``-originator`` (``None`` when not given).
    :ivar recipients: ``-recipients`` (``""`` when not given).
    :ivar headers: ``-header`` pairs, in option order.
    :ivar atleastone: ``-atleastone``.
    :ivar session: connection options.
    """

    entity: Any
    originator: Optional[str]
    recipients: str
    headers: Sequence[Tuple[str, str]]
    atleastone: bool
    session: SessionOptions


@dataclass(frozen=True)
class Services:
    """Functions from the MIME layer and the host environment.

    :ivar parse_addresses: ``mime::parseaddress`` (str -> list of dicts).
    :ivar now_proper: ``mime::parsedatetime -now proper`` (-> str).
    :ivar unique_id: ``mime::uniqueID`` (-> str).
    :ivar user: ``$tcl_platform(user)``.
    """

    parse_addresses: envmod.AddressParser
    now_proper: Callable[[], str]
    unique_id: Callable[[], str]
    user: str


def message_source(entity: Any) -> Callable[[Callable[[bytes], None]], None]:
    """A re-runnable source of the message's octets: ``source(sink)`` runs
    the MIME generator, handing each chunk to ``sink``.

    Text chunks are UTF-8 encoded (what tcllib's ``buildmessage`` produces
    under ``encoding system utf-8``); byte chunks pass unchanged.
    """
    from ..mime import generate

    def run(sink: Callable[[bytes], None]) -> None:
        def write(chunk: Any) -> None:
            sink(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))

        generate(entity, write)

    return run


@dataclass
class Prepared:
    """A message ready to go: the envelope and the outgoing copy.

    :ivar envelope: sender, recipients, Bcc recipients (:class:`envelope.Envelope`).
    :ivar outgoing: the entity as sent (the caller's plus the derived
        headers, without Bcc/Dcc fields).
    :ivar source: the outgoing message's octets (:func:`message_source`);
        a caller may wrap it (e.g. to count octets).
    """

    envelope: envmod.Envelope
    outgoing: Any
    source: Callable[[Callable[[bytes], None]], None]
    services: Services

    def bcc_source(self) -> Callable[[Callable[[bytes], None]], None]:
        """The blind copy's octets (built now: it takes a Date and a
        Message-ID, as tcllib does only when the main message went)."""
        return message_source(_bcc_digest(self.outgoing, self.envelope, self.services))


def prepare(req: SendRequest, services: Services) -> Prepared:
    """Derive the envelope and the outgoing copy of the message.

    :raises envelope.EnvelopeError: bad option values (Tcl error).
    """
    entity = req.entity
    env = envmod.derive(originator=req.originator, recipients=req.recipients, headers=req.headers,
                        parse=services.parse_addresses, user=services.user,
                        message_has_header=lambda name: _has_header(entity, name))
    added = list(env.headers)
    for name in env.needs:
        added.append((name, services.now_proper() if name.lower().endswith("date") else services.unique_id()))
    outgoing = _without_blind_fields(entity).with_headers_appended(added)
    return Prepared(env, outgoing, message_source(outgoing), services)


def transmit(prepared: Prepared, opts: SessionOptions, reactor: Reactor, atleastone: bool,
             debug: Optional[DebugSink] = None,
             on_session: Optional[Callable[[Any], None]] = None) -> List[Tuple[str, str, str]]:
    """Send a prepared message over SMTP (one connection; the Bcc copy as a
    second transaction on it), as tcllib's ``smtp::sendmessage`` does.

    ``on_session``, if given, is called with the open
    :class:`~.session.Session` (its TLS and AUTH state and last reply can be
    read after this returns or raises).

    :returns: refused recipients ``(address, code, diagnostic)``.
    :raises OpenFailure, ProtocolFailure, session.EnvelopeError: see :func:`send`.
    """
    env = prepared.envelope
    opts = replace(opts, multiple=env.has_bcc)
    session = open_session(opts, reactor, debug)
    if on_session is not None:
        on_session(session)
    status = "abort"
    try:
        refused = session.send_transaction(prepared.source, env.sender, env.recipients, atleastone)
        if env.has_bcc:
            refused = refused + session.send_transaction(prepared.bcc_source(), env.sender, env.bcc,
                                                         atleastone)
        status = "orderly"
        return refused
    finally:
        session.close(status)


def send(req: SendRequest, reactor: Reactor, services: Services,
         debug: Optional[DebugSink] = None,
         before_connect: Optional[Callable[[], SessionOptions]] = None) -> List[Tuple[str, str, str]]:
    """Send the message as tcllib's ``smtp::sendmessage`` does.

    :returns: refused recipients ``(address, code, diagnostic)`` (main
        recipients, then Bcc recipients).
    :raises envelope.EnvelopeError: bad option values (Tcl error).
    :raises OpenFailure: no server usable (Tcl error).
    :raises ProtocolFailure: MAIL/DATA/final reply failed (Tcl code 7).
    :raises session.EnvelopeError: non-ASCII address without SMTPUTF8.

    ``before_connect``, if given, runs after the envelope is derived and
    returns the session options to use (tcllib only reads ``-servers`` and
    ``-ports`` as lists at that point, so their errors come after envelope
    errors).
    """
    prepared = prepare(req, services)
    opts = before_connect() if before_connect is not None else req.session
    return transmit(prepared, opts, reactor, req.atleastone, debug)


#: Fields that name hidden recipients.  tcllib strips them from -header
#: only; the message's own are sent to every recipient (COMPATIBILITY.md S18).
BLIND_FIELDS = ("Bcc", "Dcc", "Resent-Bcc", "Resent-Dcc")


def _without_blind_fields(entity: Any) -> Any:
    """A shallow copy of ``entity`` without its own Bcc/Dcc fields
    (RFC 5322 §3.6.3: Bcc recipients must not be disclosed)."""
    out = entity.shallow_copy()
    for name in BLIND_FIELDS:
        if _has_header(out, name):
            out.set_header(name, "", "delete")
    return out


def _has_header(entity: Any, name: str) -> bool:
    try:
        entity.get_header(name)
        return True
    except KeyError:
        return False


def _bcc_digest(outgoing: Any, env: envmod.Envelope, services: Services) -> Any:
    """The blind copy tcllib sends: multipart/digest holding the message."""
    from ..mime import Entity

    inner = Entity.create(canonical="message/rfc822",
                          headers=[("Content-Description", "Original Message")],
                          parts=[outgoing])
    subject = "[%s]" % env.bcc_name
    if env.subject is not None:
        subject += " " + env.subject
    return Entity.create(canonical="multipart/digest",
                         headers=[("From", env.originator), ("Bcc", ""),
                                  ("Date", services.now_proper()), ("Subject", subject),
                                  ("Message-ID", services.unique_id()),
                                  ("Content-Description", "Blind Carbon Copy")],
                         parts=[inner])
