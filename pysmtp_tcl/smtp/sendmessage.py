"""One ``smtp::sendmessage``: envelope, connection, transaction(s), close.

Pure Python (the caller supplies a :class:`~.connection.Reactor`); the Tcl
bridge maps the outcome to tcllib's result, Tcl error or return code 7.
The caller's MIME entity is never modified: the headers tcllib would add to
the caller's token (and, by a typo in tcllib 1.21, leave there) go on a
shallow copy (COMPATIBILITY.md).
"""
from __future__ import annotations

import base64

from ..records import Record, Value
from . import commands as cmds
from . import envelope as envmod
from .failures import INTERNAL_TEXT, LOG
from .replies import Reply
from .session import (AuthFailure, CredentialsRefused, EnvelopeError,  # noqa: F401
                      OpenFailure, ProtocolFailure, SessionOptions, open_session)

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Callable, List, Optional, Sequence, Tuple

    from .connection import Reactor
    from .pool import Pool
    from .session import DebugSink


class InputError(Exception):
    """A value that cannot go into an SMTP command, found before connecting.

    ``str(e)`` is the Tcl error text: the option the value came from, the
    value (cut if long; never a password) and why, e.g. ``-header To address
    "a\\tb@x.y" cannot be used in RCPT TO: it is not an RFC 5321 mailbox:
    …``.

    :ivar option: ``-originator``, ``-recipients``, ``-header To``,
        ``-client``, ``-username``, ``-password`` …
    """

    def __init__(self, option: str, text: str) -> None:
        super().__init__(text)
        self.option = option


class CallerFailure(Exception):
    """An exception of the caller's code (``before_connect``, or a
    :class:`Services` function running a command of the script's, as
    tcllib calls ``::mime::parsedatetime``): passed on as it is, so the
    script sees that command's own error (``invalid command name ...``)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class InternalFailure(Exception):
    """A bug of ours before anything was sent; its text is
    :data:`~.failures.INTERNAL_TEXT` (the traceback went to the log)."""


class SendRequest(Value):
    """Everything ``smtp::sendmessage`` was asked to do.

    :ivar entity: the MIME entity (``pysmtp_tcl.mime.Entity``) to send.
    :ivar originator: ``-originator`` (``None`` when not given).
    :ivar recipients: ``-recipients`` (``""`` when not given).
    :ivar headers: ``-header`` pairs, in option order.
    :ivar atleastone: ``-atleastone``.
    :ivar session: connection options.
    """

    __slots__ = ("entity", "originator", "recipients", "headers", "atleastone", "session")

    def __init__(self, entity: Any, originator: Optional[str], recipients: str,
                 headers: Sequence[Tuple[str, str]], atleastone: bool, session: SessionOptions) -> None:
        self.entity = entity
        self.originator = originator
        self.recipients = recipients
        self.headers = headers
        self.atleastone = atleastone
        self.session = session


class Services(Value):
    """Functions from the MIME layer and the host environment.

    :ivar parse_addresses: ``mime::parseaddress`` (str -> list of dicts).
    :ivar now_proper: ``mime::parsedatetime -now proper`` (-> str).
    :ivar unique_id: ``mime::uniqueID`` (-> str).
    :ivar user: reads ``$tcl_platform(user)`` (-> str; called only when
        neither ``-originator`` nor a From header names the sender).
    :ivar parse_quietly: ``parse_addresses`` without its side effect on
        token numbers (only used to name the source of a bad address).
    :ivar spend_parses: ``spend_parses(n)`` has the side effect of ``n``
        calls of ``parse_addresses`` (tcllib: one token number each) and
        nothing else.  Given, it says that ``parse_addresses`` is otherwise
        a pure function of its argument: a send whose options repeat an
        earlier one's then reuses that send's envelope (:func:`prepare`)
        and calls this instead of parsing again.
    """

    __slots__ = ("parse_addresses", "now_proper", "unique_id", "user", "parse_quietly", "spend_parses",
                 "envelopes")

    def __init__(self, parse_addresses: envmod.AddressParser, now_proper: Callable[[], str],
                 unique_id: Callable[[], str], user: Callable[[], str],
                 parse_quietly: Optional[envmod.AddressParser] = None,
                 spend_parses: Optional[Callable[[int], None]] = None,
                 envelopes: Optional[dict] = None) -> None:
        self.parse_addresses = parse_addresses
        self.now_proper = now_proper
        self.unique_id = unique_id
        self.user = user
        self.parse_quietly = parse_quietly
        self.spend_parses = spend_parses
        #: envelopes of earlier sends (see ``spend_parses``); the caller's dict
        self.envelopes = envelopes


def message_source(entity: Any, utf8: bool = False) -> Callable[[Callable[[bytes], None]], None]:
    """A re-runnable source of the message's octets: ``source(sink)`` runs
    the MIME generator, handing each chunk to ``sink``.

    Text chunks are UTF-8 encoded (what tcllib's ``buildmessage`` produces
    under ``encoding system utf-8``); byte chunks pass unchanged, base64
    bodies as :class:`~pysmtp_tcl.mime.wire.WireChunk` (already in DATA
    wire form: the DATA encoder passes them through), or, to a sink with a
    true ``measures_only`` attribute, as a
    :class:`~pysmtp_tcl.mime.wire.WireSpan` (measurements, nothing encoded).
    ``utf8``: the transaction is SMTPUTF8 (RFC 6531), so the generator may
    write non-ASCII addresses in header fields as UTF-8 (RFC 6532).
    """
    generate = _generate()

    def run(sink: Callable[[bytes], None]) -> None:
        def write(chunk: Any) -> None:
            # as the generator writes text for buildmessage: a lone
            # surrogate (from a script's "\ud800") as its UTF-8-like code
            # units, never a Python error in the middle of DATA
            sink(chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk)

        generate(entity, write, utf8=utf8, wire=True, spans=getattr(sink, "measures_only", False))

    return run


_GENERATE: list = []


def _generate() -> Callable[..., None]:
    # the MIME generator, imported when first needed and then kept
    if not _GENERATE:
        from ..mime.generator import generate

        _GENERATE.append(generate)
    return _GENERATE[0]


def smtputf8(addresses: Sequence[str]) -> bool:
    """Whether a transaction with these envelope addresses is SMTPUTF8: the
    session declares it for any non-ASCII address, or refuses to send."""
    return not all(map(str.isascii, addresses))


_UTF8_FIELD: list = []  # mime.eai.utf8_field, imported when first needed


def utf8_header(entity: Any) -> Optional[str]:
    """Why the message itself needs an SMTPUTF8 transaction, whatever its
    envelope: a header field the script gave holds text that only UTF-8
    can carry (RFC 6532; e.g. an address with a non-ASCII local part,
    which has no encoded-word form), as the session's error names it
    (``header To address "josé@example.org"``); ``None`` when the message
    can be written in ASCII (:func:`pysmtp_tcl.mime.eai.utf8_field`)."""
    if not _UTF8_FIELD:
        from ..mime.eai import utf8_field

        _UTF8_FIELD.append(utf8_field)
    found = _UTF8_FIELD[0](entity)
    if found is None:
        return None
    return "header %s %s %s" % (found.name, found.kind, cmds.shown(found.text))


class Prepared(Record):
    """A message ready to go: the envelope and the outgoing copy.

    :ivar envelope: sender, recipients, Bcc recipients (:class:`envelope.Envelope`).
    :ivar outgoing: the entity as sent (the caller's plus the derived
        headers, without Bcc/Dcc fields).
    :ivar source: the outgoing message's octets (:func:`message_source`);
        a caller may wrap it (e.g. to count octets).
    :ivar utf8_header: :func:`utf8_header` of the outgoing message: its
        transaction must be SMTPUTF8 whatever the envelope (``None``: no).
    """

    __slots__ = ("envelope", "outgoing", "source", "services", "utf8_header")

    def __init__(self, envelope: envmod.Envelope, outgoing: Any,
                 source: Callable[[Callable[[bytes], None]], None], services: Services,
                 utf8_header: Optional[str] = None) -> None:
        self.envelope = envelope
        self.outgoing = outgoing
        self.source = source
        self.services = services
        self.utf8_header = utf8_header

    def bcc(self) -> Tuple[Callable[[Callable[[bytes], None]], None], Optional[str]]:
        """The blind copy's octets and its :func:`utf8_header` (built now:
        it takes a Date and a Message-ID, as tcllib does only when the main
        message went).  Its transaction decides SMTPUTF8 on its own."""
        env = self.envelope
        digest = _bcc_digest(self.outgoing, env, self.services)
        need = utf8_header(digest)
        return message_source(digest, need is not None or smtputf8([env.sender, *env.bcc])), need


def prepare(req: SendRequest, services: Services) -> Prepared:
    """Derive the envelope and the outgoing copy of the message, and check
    that every address can go into MAIL FROM/RCPT TO (:func:`check_envelope`).

    A send with the same ``-originator``, ``-recipients`` and ``-header``
    values as a recent one, to a message that answers the same to whether
    it has a Date and a Message-ID, gets that send's envelope (checked
    then) when ``services`` allow it (:attr:`Services.spend_parses`):
    :func:`~.envelope.derive` and :func:`check_envelope` are functions of
    exactly these inputs.

    :raises envelope.EnvelopeError: bad option values (Tcl error).
    :raises InputError: an address that is no RFC 5321 mailbox.
    """
    entity = req.entity
    memo = services.envelopes if services.spend_parses is not None else None
    key: Any = None
    env: Optional[envmod.Envelope] = None
    if memo is not None:
        key = (req.originator, req.recipients, tuple(req.headers))
        hit = memo.get(key)
        if hit is not None and tuple(map(entity.has_header, hit[1])) == hit[2]:
            env, env_utf8 = hit[0], hit[4]
            services.spend_parses(hit[3])  # type: ignore[misc]
    if env is not None:
        outgoing = entity.derived(_added(env, services), without=BLIND_FIELDS)
    else:
        asked: List[str] = []
        answers: List[bool] = []
        parses = [0]
        user_read = []

        def has(name: str) -> bool:
            answer = entity.has_header(name)
            asked.append(name)
            answers.append(answer)
            return answer

        def parse(text: str) -> Any:
            parses[0] += 1
            return services.parse_addresses(text)

        def user() -> str:
            user_read.append(True)  # $tcl_platform(user) may change: not kept
            return services.user()

        env = envmod.derive(originator=req.originator, recipients=req.recipients, headers=req.headers,
                            parse=parse, user=user, message_has_header=has)
        # one copy: the caller's entity without its blind fields, plus the
        # derived headers (tcllib adds them to the caller's token)
        outgoing = entity.derived(_added(env, services), without=BLIND_FIELDS)
        check_envelope(env, services.parse_quietly or services.parse_addresses)
        env_utf8 = smtputf8([env.sender, *env.recipients])
        if memo is not None and not user_read:
            if len(memo) >= _ENVELOPES_KEPT:
                memo.clear()
            memo[key] = (env, tuple(asked), tuple(answers), parses[0], env_utf8)
    need = utf8_header(outgoing)
    utf8 = need is not None or env_utf8
    return Prepared(env, outgoing, message_source(outgoing, utf8), services, need)


#: Envelopes :func:`prepare` keeps (a script sending to many different
#: lists starts again when this many are kept).
_ENVELOPES_KEPT = 64


def _added(env: envmod.Envelope, services: Services) -> Sequence[Tuple[str, str]]:
    # the derived headers, and a new Date and Message-ID where they are due
    # (env.needs holds env.date_name and/or env.message_id_name)
    added = env.headers
    if env.needs:
        added = list(added)
        for name in env.needs:
            added.append((name, services.now_proper() if name == env.date_name else services.unique_id()))
    return added


def transmit(prepared: Prepared, opts: SessionOptions, reactor: Reactor, atleastone: bool,
             debug: Optional[DebugSink] = None,
             on_session: Optional[Callable[[Any], None]] = None,
             pool: Optional[Pool] = None) -> List[Tuple[str, str, str]]:
    """Send a prepared message over SMTP (one connection; the Bcc copy as a
    second transaction on it), as tcllib's ``smtp::sendmessage`` does.

    ``on_session``, if given, is called with the open
    :class:`~.session.Session` (its TLS and AUTH state and last reply can be
    read after this returns or raises; called again if the send moves to a
    new connection).

    ``pool`` (opt-in reuse, :mod:`.pool`): a kept connection with the same
    settings carries the send instead of a new one, and the connection is
    kept afterwards (not closed with QUIT) when it is in a known state.  A
    kept connection that turns out to be broken before this send's final
    dot was written (the server closed it while idle) is replaced by a new
    one and the send starts again: no message can go twice.

    :returns: refused recipients ``(address, code, diagnostic)``.
    :raises InputError: the EHLO name or the credentials cannot be sent
        (:func:`check_session`, before connecting).
    :raises OpenFailure, ProtocolFailure, session.EnvelopeError: see :func:`send`.
    """
    env = prepared.envelope
    if opts.multiple != env.has_bcc:
        opts = opts.replace(multiple=env.has_bcc)
    check_session(opts)
    key = None
    if pool is not None:  # opt-in reuse: a plain send never loads the pool (start-up)
        from .pool import pool_key

        key = pool_key(opts)
    retried = False
    while True:
        session = pool.take(key) if pool is not None and key is not None else None
        reused = session is not None
        if session is None:
            session = open_session(opts, reactor, debug)
        else:
            session.rebind(opts, reactor, debug)
        # the connection ends after this message: QUIT may go with its dot
        session.quit_with_dot = pool is None and not env.has_bcc
        if on_session is not None:
            on_session(session)
        try:
            refused = session.send_transaction(prepared.source, env.sender, env.recipients, atleastone,
                                               utf8_header=prepared.utf8_header)
            if reused and not retried and session.lost and not session.dot_sent:
                raise _Reconnect()
            if env.has_bcc:
                bcc_source, bcc_utf8 = prepared.bcc()
                refused = refused + session.send_transaction(bcc_source, env.sender, env.bcc,
                                                             atleastone, utf8_header=bcc_utf8)
        except _Reconnect:
            retried = True
            _lost_kept_connection(session, debug)
            continue
        except ProtocolFailure as e:
            if reused and not retried and session.lost and not session.dot_sent and session.transactions == 1:
                retried = True
                _lost_kept_connection(session, debug)
                continue
            _after_failure(session, pool, key, keep=not e.reply.local)
            raise
        except EnvelopeError:
            _after_failure(session, pool, key, keep=True)  # nothing of this transaction was sent
            raise
        except BaseException:
            _after_failure(session, pool, key, keep=False)
            raise
        break
    if pool is not None and key is not None and session.reusable():
        pool.put(key, session)
    else:
        session.close("orderly")  # raises ProtocolFailure when QUIT's reply shows the replies out of step
    return refused


class _Reconnect(Exception):
    """A kept connection broke before the final dot: start again on a new one."""


def _lost_kept_connection(session: Any, debug: Optional[DebugSink]) -> None:
    if debug:
        debug("    ... the kept connection to %s is gone: connecting again ..." % session.server)
    session.conn.close()


def _after_failure(session: Any, pool: Optional[Pool], key: Any, keep: bool) -> None:
    """tcllib's ``finalize -close abort`` (RSET and QUIT, no wait), or, with
    reuse, keep a connection that is in a known state (its next
    transaction opens with RSET)."""
    if pool is not None and keep and session.reusable():
        pool.put(key, session)
    else:
        session.close("abort")


def send(req: SendRequest, reactor: Reactor, services: Services,
         debug: Optional[DebugSink] = None,
         before_connect: Optional[Callable[[], SessionOptions]] = None,
         pool: Optional[Pool] = None) -> List[Tuple[str, str, str]]:
    """Send the message as tcllib's ``smtp::sendmessage`` does (over a kept
    connection from ``pool`` when one matches: :func:`transmit`).

    :returns: refused recipients ``(address, code, diagnostic)`` (main
        recipients, then Bcc recipients).
    :raises envelope.EnvelopeError: bad option values (Tcl error).
    :raises InputError: a value that cannot go into an SMTP command (Tcl
        error), found before connecting.
    :raises OpenFailure: no server usable (Tcl error).
    :raises ProtocolFailure: MAIL/DATA/final reply failed, the message could
        not be produced, the replies went out of step, or an internal error
        after connecting (Tcl code 7).
    :raises session.EnvelopeError: a non-ASCII envelope address, or a
        header field only UTF-8 can carry (:func:`utf8_header`), and the
        server does not offer SMTPUTF8.
    :raises InternalFailure: a bug of ours before connecting.

    ``before_connect``, if given, runs after the envelope is derived and
    returns the session options to use (tcllib only reads ``-servers`` and
    ``-ports`` as lists at that point, so their errors come after envelope
    errors).
    """
    opened: List[Any] = []  # the session, once connected
    try:
        prepared = prepare(req, services)
        try:
            opts = before_connect() if before_connect is not None else req.session
        except Exception as e:  # e.g. the bridge's Tcl error for a malformed -servers list
            raise CallerFailure(e) from None
        return transmit(prepared, opts, reactor, req.atleastone, debug, on_session=opened.append, pool=pool)
    except CallerFailure as e:
        raise e.error from None
    except _EXPECTED:
        raise
    except Exception as e:  # a bug of ours: never a Python text for the script
        LOG.error("internal error in smtp::sendmessage", exc_info=(type(e), e, e.__traceback__))
        if not opened:
            raise InternalFailure(INTERNAL_TEXT) from None
        opened[-1].conn.close()  # whatever state it is in: no descriptor leaks
        # after connecting, tcllib's shape for a local failure: code 7
        raise ProtocolFailure(Reply.failure(INTERNAL_TEXT, keys=("code", "diagnostic"))) from None


_EXPECTED = (envmod.EnvelopeError, InputError, OpenFailure, ProtocolFailure, EnvelopeError,
             CredentialsRefused, cmds.CommandError)


def _fail(source: str, e: cmds.CommandError, verb: str, what: str = "address") -> InputError:
    return InputError(source, "%s %s %s cannot be used in %s: %s"
                      % (source, what, cmds.shown(e.value), verb, e.reason))


def check_envelope(env: envmod.Envelope, parse: envmod.AddressParser) -> None:
    """Render MAIL FROM and every RCPT TO (Bcc too) the way the dialogue
    will, before connecting: the renderer is the one the dialogue uses, so
    what passes here passes on the wire; what fails is reported naming the
    option it came from, and nothing is sent.  UTF-8 is allowed here;
    whether the server takes it (SMTPUTF8) is known after EHLO (then a clear
    error, nothing sent).

    :param parse: an address parser without side effects (to name the
        source of a bad address).
    :raises InputError: the first address that cannot be sent.
    """
    try:
        cmds.render(cmds.Mail(env.sender), utf8=True)
    except cmds.CommandError as e:
        raise _fail(env.sender_source, e, "MAIL FROM") from None
    sources: Optional[Tuple[List[str], List[str]]] = None
    for group, index in ((env.recipients, 0), (env.bcc, 1)):
        for i, rcpt in enumerate(group):
            try:
                cmds.render(cmds.Rcpt(rcpt), utf8=True)
            except cmds.CommandError as e:
                sources = sources or env.sources(parse)
                raise _fail(sources[index][i], e, "RCPT TO") from None


def check_session(opts: SessionOptions) -> None:
    """Render, before connecting, the other lines that carry a caller's
    value: EHLO/HELO (``-client``) and the AUTH responses of every
    mechanism that may be chosen (``-username``/``-password``).

    :raises InputError: the first value that cannot be sent.
    """
    if not opts.client_is_default:
        try:
            cmds.render(cmds.ehlo(opts.client))
        except cmds.CommandError as e:
            raise _fail("-client", e, "EHLO", "value") from None
    if opts.username:
        from . import auth  # here: hashlib/hmac only when there are credentials

        mechanisms = ([opts.auth_mechanism.upper()] if opts.auth_mechanism
                      else list(opts.auth_preference or auth.PREFERENCE))
        host = max(opts.servers, key=len, default="")
        for mech in mechanisms:
            if mech not in auth.MECHANISMS:
                continue
            try:
                for response in auth.responses(mech, opts.username, opts.password, host=host, port=65535):
                    cmds.render(cmds.AuthResponse(base64.b64encode(response).decode("ascii")))
            except auth.CredentialError as e:
                if opts.account:  # the account's user/password, not the script's options
                    option = ACCOUNT_CREDENTIAL[e.option]
                    raise InputError(option, "account %s: %s %s cannot be used in AUTH %s: it %s"
                                     % (opts.account, option, _account_credential_shown(option, opts),
                                        mech, e.reason)) from None
                raise InputError(e.option, "%s %s cannot be used in AUTH %s: it %s"
                                 % (e.option, _credential_shown(e.option, opts), mech, e.reason)) from None
            except cmds.CommandError as e:
                reason = e.reason.replace("the line", "the response line", 1)
                if opts.account:
                    raise InputError("user", "account %s: user %s with a password of %s cannot be used "
                                     "in AUTH %s: %s" % (opts.account, cmds.shown(opts.username),
                                                         _chars(len(opts.password)), mech, reason)) from None
                raise InputError("-username", "-username %s with a -password of %s cannot be "
                                 "used in AUTH %s: %s"
                                 % (cmds.shown(opts.username), _chars(len(opts.password)), mech,
                                    reason)) from None


#: An msmtprc account's credentials come from its ``user`` and ``password``
#: (or ``passwordeval``), not from the script's options.
ACCOUNT_CREDENTIAL = {"-username": "user", "-password": "password"}


def _account_credential_shown(option: str, opts: SessionOptions) -> str:
    if option == "password":
        return "of " + _chars(len(opts.password))  # never echo a password or token
    return cmds.shown(opts.username)


def _credential_shown(option: str, opts: SessionOptions) -> str:
    if option == "-password":
        return "value of " + _chars(len(opts.password))  # never echo a password
    return "value " + cmds.shown(opts.username)


def _chars(n: int) -> str:
    return "%d character%s" % (n, "" if n == 1 else "s")


#: Fields that name hidden recipients.  tcllib strips them from -header
#: only; the message's own are sent to every recipient (COMPATIBILITY.md S18)
#: -- we strip them from the outgoing copy too (RFC 5322 §3.6.3: Bcc
#: recipients must not be disclosed).
BLIND_FIELDS = ("Bcc", "Dcc", "Resent-Bcc", "Resent-Dcc")


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
