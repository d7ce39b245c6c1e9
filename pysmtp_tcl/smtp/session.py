"""The SMTP dialogue with tcllib ``smtp`` 1.5 semantics (RFC 5321).

A :class:`Session` is what tcllib calls an smtp token: an open, greeted
connection.  :func:`open_session` walks ``-servers``/``-ports`` as tcllib's
``smtp::initialize`` does; :meth:`Session.send_transaction` is tcllib's
``sendmessageaux`` (MAIL, RCPT…, DATA or RSET), decided by the sans-I/O
:class:`~.dialogue.MailTransaction` (commands as values, replies fed in)
and carried out here by :meth:`Session.exchange`, the I/O shell: one write
per batch (PIPELINING, RFC 2920), one reply per command.  The greeting
phase (EHLO, STARTTLS, AUTH) stays lock-step: each of those commands must
end a batch anyway.  Commands never raise for server or I/O trouble: like
tcllib's ``talk`` they return a :class:`Reply` (code 400 for local
failures); the operations turn bad replies into :class:`ProtocolFailure`
(Tcl return code 7 in the bridge).
"""
from __future__ import annotations

import base64
import binascii
import functools
import operator
import socket
import time
from itertools import zip_longest

from ..mime.wire import WireSpan
from ..records import Record, Value
from . import commands as cmds
from .commands import CommandError
from .connection import NOT_CONNECTED, Connection, Reactor, SMTPIOError
from .datawriter import DataEncoder
from .dialogue import MailTransaction, Phase, Step
from .failures import script_text
from .replies import Reply, ReplyAssembler, take_reply

TYPE_CHECKING = False
if TYPE_CHECKING:  # ssl and auth (hashlib) load when TLS / AUTH is used; typing is for annotations only
    import ssl
    from typing import Callable, List, Optional, Sequence, Tuple, Union

    from .commands import Command

    DebugSink = Callable[[str], None]
    #: ``-tlspolicy`` callback: (reply code, diagnostic) -> policy string.
    TLSPolicy = Callable[[int, str], str]
    #: A message source: called once per pass with a sink, it writes the
    #: message's octets to the sink chunk by chunk (so memory stays bounded).
    MessageSource = Callable[[Callable[[bytes], None]], None]

#: hear caps every wait at 600 s (tcllib: SF bug 836442).
MAX_WAIT = 600



class ProtocolFailure(Exception):
    """A failure tcllib reports with Tcl return code 7.

    :ivar reply: the server reply (or local failure) that caused it.
    """

    def __init__(self, reply: Reply):
        super().__init__(reply.diagnostic)
        self.reply = reply


class OpenFailure(Exception):
    """No server could be used (tcllib's ``smtp::initialize`` failing).

    :ivar message: the Tcl error text: the last attempt's diagnostic, or the
        raw error of a ``socket`` call that failed outright.
    :ivar result: the value tcllib puts in the error result when it throws
        with the greeting reply (``-tlspolicy`` said secure): a :class:`Reply`.
    :ivar errorcode: ``-errorcode`` value, if any.
    """

    def __init__(self, message: Union[str, Reply], errorcode: Optional[Tuple[str, ...]] = None):
        super().__init__(message if isinstance(message, str) else message.diagnostic)
        self.message = message
        self.errorcode = errorcode


class AuthFailure(ProtocolFailure):
    """Every offered mechanism we support was refused (tcllib would go on
    unauthenticated; we stop: COMPATIBILITY.md)."""


class EnvelopeError(Exception):
    """An address the server cannot take (e.g. non-ASCII without SMTPUTF8)."""


class CredentialsRefused(Exception):
    """``-username`` given, but the connection is neither encrypted nor to a
    loopback address, and ``-insecureauth 1`` was not given."""


class SessionOptions(Value):
    """Connection options of one ``smtp::sendmessage`` (tcllib names).

    Times are seconds.  ``servers``/``ports`` pair up element by element; a
    missing or empty port means 25.
    """

    __slots__ = ("servers", "ports", "client", "client_is_default", "debug", "maxsecs", "queue", "multiple",
                 "usetls", "tlspolicy", "tlsimport", "username", "password", "auth_mechanism", "tls_context",
                 "tls_verify", "tls_require", "cafile", "insecure_auth", "account", "tls_fingerprint",
                 "io_timeout", "auth_required", "auth_preference", "auth_needs_verified_tls", "pipelining",
                 "tlspolicy_name", "port_parser", "not_connected")

    def __init__(self, *, servers: Sequence[str] = ("localhost",), ports: Sequence[str] = ("25",),
                 client: str = "localhost", client_is_default: bool = False, debug: bool = False,
                 maxsecs: float = 120, queue: bool = False, multiple: bool = False, usetls: bool = True,
                 tlspolicy: Optional[TLSPolicy] = None, tlsimport: bool = False, username: str = "",
                 password: str = "", auth_mechanism: Optional[str] = None,
                 tls_context: Optional[ssl.SSLContext] = None, tls_verify: bool = False,
                 tls_require: bool = False, cafile: Optional[str] = None, insecure_auth: bool = False,
                 account: str = "", tls_fingerprint: Optional[Tuple[str, bytes]] = None,
                 io_timeout: Optional[float] = None, auth_required: bool = False,
                 auth_preference: Optional[Sequence[str]] = None, auth_needs_verified_tls: bool = False,
                 pipelining: bool = True, tlspolicy_name: str = "", port_parser: Optional[Callable[[str],
                 int]] = None, not_connected: Optional[str] = None) -> None:
        self.servers = servers
        self.ports = ports
        self.client = client
        #: ``client`` is tcllib's default (``[info hostname]``), not ``-client``:
        #: when it is no valid domain, EHLO names the connection's own address
        #: literal instead (RFC 5321 §4.1.4).
        self.client_is_default = client_is_default
        self.debug = debug
        self.maxsecs = maxsecs
        self.queue = queue
        self.multiple = multiple
        self.usetls = usetls
        self.tlspolicy = tlspolicy
        self.tlsimport = tlsimport
        self.username = username
        self.password = password
        self.auth_mechanism = auth_mechanism
        self.tls_context = tls_context
        self.tls_verify = tls_verify
        self.tls_require = tls_require
        self.cafile = cafile
        self.insecure_auth = insecure_auth
        # Set by the delivery layer for an msmtprc account; the defaults keep
        # tcllib's behaviour.
        #: the account's name: error texts then speak of its settings
        self.account = account
        #: ``(hashlib name, digest)``: trust exactly this certificate
        self.tls_fingerprint = tls_fingerprint
        #: seconds: caps every wait (connect, TLS, each reply; msmtp ``timeout``)
        self.io_timeout = io_timeout
        #: a server offering no AUTH is an error (msmtp ``auth on``)
        self.auth_required = auth_required
        #: mechanisms to try, in order, when none is named (default tcllib's)
        self.auth_preference = auth_preference
        #: credentials only over TLS with a verified certificate (or loopback)
        self.auth_needs_verified_tls = auth_needs_verified_tls
        #: batch MAIL/RCPT/DATA when the server offers PIPELINING (RFC 2920);
        #: ``-pipelining 0`` turns it off
        self.pipelining = pipelining
        #: the ``-tlspolicy`` command prefix (``tlspolicy`` is its callable):
        #: part of what a kept connection must match
        self.tlspolicy_name = tlspolicy_name
        #: How a port is read, as Tcl's ``socket`` reads it on the host Tcl
        #: (``010`` is 8 on Tcl 8.6 and 10 on Tcl 9; the error's text and
        #: ``-errorcode`` differ too); raises :class:`SMTPIOError` (direct).
        #: ``None``: :func:`port_number` (Tcl 8.6's reading, in Python).
        self.port_parser = port_parser
        #: The host Tcl's text for ENOTCONN (``None``: Tcl 8.6's).
        self.not_connected = not_connected


def _insecure_context() -> ssl.SSLContext:
    # tcllib's tls::import defaults: no certificate check (-require 0).
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def verifies(context: ssl.SSLContext) -> bool:
    """Whether ``context`` checks the certificate chain and host name."""
    import ssl

    return context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def tls_context(opts: SessionOptions) -> ssl.SSLContext:
    """The TLS context for a session: the caller's, a verifying one
    (``-tlsverify 1``, optional ``-cafile``), or tcllib's no-check default."""
    if opts.tls_context is not None:
        return opts.tls_context
    if opts.tls_verify:
        import ssl

        # Certificate chain and host name checked (RFC 7817 §3); SNI is sent
        # whenever the server is named by host name.
        return ssl.create_default_context(cafile=opts.cafile)
    return _insecure_context()


def _wait_cap(opts: SessionOptions) -> float:
    # what every wait for a reply is capped at: 600 s, or an account's timeout
    return MAX_WAIT if opts.io_timeout is None else min(MAX_WAIT, opts.io_timeout)


class Session(Record):
    """An open, greeted SMTP connection (tcllib's smtp token)."""

    __slots__ = ("conn", "opts", "debug", "server", "port", "esmtp", "tls", "tls_verified", "final_reply",
                 "tls_tried", "auth_tried", "authenticated", "dead", "refusal", "failed_greeting",
                 "delivered", "dot_sent", "needs_rset", "onex_sent", "transactions", "lost", "quit_with_dot",
                 "quit_sent", "_has_for", "_has_key", "_wait_cap")

    def __init__(self, conn: Connection, opts: SessionOptions, debug: Optional[DebugSink] = None, *,
                 server: str = "", port: int = 0, esmtp: Optional[List[str]] = None, tls: bool = False,
                 tls_verified: bool = False, final_reply: Optional[Reply] = None, tls_tried: bool = False,
                 auth_tried: bool = False, authenticated: bool = False, dead: Optional[str] = None,
                 refusal: Optional[str] = None, failed_greeting: Optional[str] = None,
                 delivered: bool = False, dot_sent: bool = False, needs_rset: bool = False,
                 onex_sent: bool = False, transactions: int = 0, lost: bool = False,
                 quit_with_dot: bool = False, quit_sent: bool = False) -> None:
        self.conn = conn
        self.opts = opts
        self._wait_cap = _wait_cap(opts)
        self.debug = debug
        self.server = server
        self.port = port
        self.esmtp = [] if esmtp is None else esmtp
        self.tls = tls
        self.tls_verified = tls_verified  # chain and name checked, or the pinned certificate
        self.final_reply = final_reply  # the reply to the last message's final "."
        self.tls_tried = tls_tried
        self.auth_tried = auth_tried
        self.authenticated = authenticated
        self.dead = dead  # why the connection is unusable, if it is
        self.refusal = refusal  # why greet() gave up on this server
        self.failed_greeting = failed_greeting  # why greet() gave up: EHLO/HELO failed
        self.delivered = delivered  # a final dot got its 2xx on this connection
        self.dot_sent = dot_sent  # a final dot was written on this connection
        self.needs_rset = needs_rset  # the last transaction was aborted: RSET before the next MAIL
        self.onex_sent = onex_sent  # ONEX: the server allows one transaction only
        self.transactions = transactions  # MAIL transactions begun on this connection
        self.lost = lost  # the connection broke (EOF, reset, write error, 421)
        #: this connection ends after the next message: with PIPELINING, QUIT
        #: goes in the same write as the final dot (one round trip less)
        self.quit_with_dot = quit_with_dot
        self.quit_sent = quit_sent  # QUIT was written (its reply is due next)
        self._has_for = None
        self._has_key = ()

    # -- tcllib's talk/hear ---------------------------------------------------
    def _say(self, line: str) -> None:
        if self.debug:
            self.debug(line)

    def hear(self, secs: float) -> Reply:
        """Read one reply, waiting at most ``secs`` (capped at 600) for all
        of it.  (tcllib waits ``secs`` per line, so a server dripping
        continuation lines holds it forever; COMPATIBILITY.md S15.)"""
        if self.dead:
            return Reply.failure(self.dead)
        conn = self.conn
        buf = conn._buf
        deadline: Optional[float] = None  # set at the first wait: it bounds the whole reply
        try:
            # The usual case: the whole reply is (or arrives) in one piece
            # and is parsed in one go (take_reply: the assembler's result).
            while True:
                if buf:
                    reply = take_reply(buf)
                    if reply is not None:
                        if self.debug:
                            for line in reply.lines:
                                self._say("<-- " + line)
                        return reply
                    if b"\n" in buf:
                        break  # part of a reply, or an odd one: line by line
                if deadline is None:
                    deadline = time.monotonic() + min(secs, self._wait_cap)
                conn.fill(deadline)
            asm = ReplyAssembler()
            while True:
                line = conn.next_line()  # most lines are already here: no clock, no wait
                if line is None:
                    if deadline is None:
                        deadline = time.monotonic() + min(secs, self._wait_cap)
                    line = conn.read_line(max(0.0, deadline - time.monotonic()))
                self._say("<-- " + line)
                reply = asm.add(line)
                if reply is not None:
                    if reply.local:
                        # e.g. endless continuation lines: the stream is unusable
                        self.dead = reply.diagnostic
                    return reply
        except SMTPIOError as e:
            self._say("    ... %s ..." % e.message)
            if not e.timeout:
                self.dead = e.message
                self.lost = True
            return Reply.failure(e.message)

    def talk(self, secs: float, command: Command, utf8: bool = False) -> Optional[Reply]:
        """Send ``command`` and read the reply (``None`` when ``secs`` is 0:
        tcllib then does not wait).  The line is made by
        :func:`~.commands.render`, which refuses anything that is not one
        well-formed command.  ``-debug`` never shows an AUTH response.

        :raises CommandError: the command cannot be sent (nothing is written).
        """
        wire = cmds.render(command, utf8=utf8)
        if secs and self.opts.io_timeout is not None:
            secs = min(secs, self.opts.io_timeout)  # show the real wait (tcllib shows 3600 for RCPT)
        if self.debug:
            self._say("--> %s (wait upto %s seconds)" % (_shown(command, wire), _fmt_secs(secs)))
        try:
            self.conn.send(wire, max(float(secs), 1.0) if secs else 30.0)
        except SMTPIOError as e:
            self.dead = e.message
            self.lost = True
            return Reply.failure(e.message, keys=("code", "diagnostic"))
        if secs == 0:
            return None
        return self.hear(secs)

    def _cap(self, secs: float) -> float:
        return min(secs, self._wait_cap)

    def has(self, keyword: str, params: bool = False, prefix: bool = False) -> bool:
        """Whether EHLO advertised ``keyword``: a whole keyword line, as
        tcllib's ``lsearch`` (so ``XQUE now`` is not ``XQUE``), but in any
        case (COMPATIBILITY.md S11); ``params`` also accepts the keyword
        followed by parameters, ``prefix`` any line that starts with it
        (tcllib's test for SIZE)."""
        return _advertised(self._ehlo_key(), keyword, params, prefix)

    def _ehlo_key(self) -> Tuple[str, ...]:
        # the EHLO reply's lines as a tuple: the key of the pure caches below
        if self._has_for is not self.esmtp:  # a new EHLO reply
            self._has_for, self._has_key = self.esmtp, tuple(self.esmtp)
        return self._has_key

    # -- greeting phase -------------------------------------------------------
    def greet(self, policy_failure: List[Optional[Tuple[str, ...]]]) -> bool:
        """EHLO (HELO after a 5xx), QUED, STARTTLS, AUTH: tcllib's
        ``initialize_ehlo``.  Returns True when the session is usable.

        ``policy_failure[0]`` is set to an errorcode tuple when ``-tlspolicy``
        rejected the server (tcllib then throws with that errorcode).
        """
        opts = self.opts
        client = self._client_name()
        verb = "EHLO"
        r = self.talk(300, cmds.ehlo(client))
        assert r is not None
        if 500 <= r.code <= 599 and not self.dead:
            verb = "HELO"
            r = self.talk(300, cmds.Helo(client))
            assert r is not None
        if r.code != 250:
            # tcllib reports the greeting's text here; the reply that failed
            # says what went wrong (COMPATIBILITY.md S21)
            if r.well_formed:
                why = "%d %s" % (r.code, r.diagnostic)
            else:
                why = r.diagnostic or (r.lines[0] if r.lines else "")
            self.failed_greeting = "%s to %s failed: %s" % (verb, self.server, why)
            self.conn.close()
            return False
        self.esmtp = list(r.args)
        if not opts.multiple and self.has("ONEX"):
            self.talk(300, cmds.ONEX)
            self.onex_sent = True
        if opts.queue and self.has("XQUE"):
            self.talk(300, cmds.QUED)
        if opts.usetls and not self.tls_tried and (self.has("STARTTLS") or self.has("TLS")):
            self.tls_tried = True
            upgraded = self._starttls(policy_failure)
            if upgraded is not None:
                return upgraded
        if opts.tls_require and not self.tls:
            if opts.account:
                self.refusal = ("TLS required (tls on), but %s does not support TLS via the "
                                "STARTTLS command" % self.server)
            else:
                self.refusal = ("TLS required (-tlsrequire 1), but %s does not offer STARTTLS" % self.server
                                if opts.usetls else "-tlsrequire 1 conflicts with -usetls 0")
            self.talk(0, cmds.QUIT)
            self.conn.close()
            return False
        # (credentials only: a plain send asks nothing of the EHLO reply here)
        offers_auth = bool(opts.username) and any(a.upper().startswith("AUTH") for a in self.esmtp)
        if opts.username and (opts.auth_mechanism or opts.auth_required) and not offers_auth:
            # tcllib sends unauthenticated when no AUTH is offered; with a
            # mechanism asked for by name that cannot be what the script meant.
            self.talk(0, cmds.QUIT)
            self.conn.close()
            text = ("the server %s does not support authentication" % self.server if opts.account
                    else "-authmechanism %s: %s offers no AUTH" % (opts.auth_mechanism, self.server))
            raise AuthFailure(Reply(504, text, local=True))
        if opts.username and not self.auth_tried and offers_auth:
            self.auth_tried = True
            self._check_credentials_may_go()
            self.authenticate()
        return True

    def _check_credentials_may_go(self) -> None:
        """Credentials only go encrypted, or to a loopback address (and, for
        an account, only over TLS with a verified certificate)."""
        opts = self.opts
        if self.conn.peer_is_loopback() or opts.insecure_auth:
            return
        if not self.tls:
            why = ("refusing to send the credentials of -username %s to %s over an unencrypted "
                   "connection: use TLS (STARTTLS, -tlsimport 1), or -insecureauth 1 to allow it"
                   % (opts.username, self.server))
            if opts.account:
                why = ("refusing to send the credentials of user %s to %s over an unencrypted "
                       "connection (tls off)" % (opts.username, self.server))
        elif opts.auth_needs_verified_tls and not self.tls_verified:
            why = ("refusing to send the credentials of user %s to %s over TLS without a "
                   "verified certificate (tls_certcheck off)" % (opts.username, self.server))
        else:
            return
        self.talk(0, cmds.QUIT)
        self.conn.close()
        raise CredentialsRefused(why)

    def _client_name(self) -> str:
        """The EHLO argument: ``-client``, or tcllib's default host name; a
        default that is no valid domain becomes the address literal of our
        end of the connection (RFC 5321 §4.1.4)."""
        name = self.opts.client
        if self.opts.client_is_default:
            try:
                cmds.check_client_domain(name)
            except CommandError:
                try:
                    host = self.conn.sock.getsockname()[0] if self.conn.sock is not None else ""
                except OSError:
                    host = ""
                if host:
                    return "[IPv6:%s]" % host.split("%", 1)[0] if ":" in host else "[%s]" % host
        return name

    def _starttls(self, policy_failure: List[Optional[Tuple[str, ...]]]) -> Optional[bool]:
        """STARTTLS and the greeting again over TLS (RFC 3207).

        :returns: the outcome of the greeting over TLS; ``False`` when the
            server is given up (``-tlspolicy`` said so, the handshake failed,
            or ``-tlsrequire``); ``None`` to go on in clear (policy
            ``insecure``, tcllib's default).
        """
        opts = self.opts
        r = self.talk(300, cmds.STARTTLS)
        assert r is not None
        if r.code == 220:
            try:
                ctx = tls_context(opts)
                self.conn.start_tls(ctx, self.server, self._cap(MAX_WAIT), fingerprint=opts.tls_fingerprint)
                self.tls = True
                self.tls_verified = verifies(ctx) or opts.tls_fingerprint is not None
                return self.greet(policy_failure)
            except SMTPIOError as e:
                # tcllib swallows handshake errors and talks on over a broken
                # channel; we treat it as a refusal (COMPATIBILITY.md S5).
                self._say("    ... %s ..." % e.message)
                r = Reply(454, e.message)
                self.dead = e.message
        policy = "insecure"
        if opts.tlspolicy is not None:
            policy = opts.tlspolicy(r.code, r.diagnostic)
        if policy == "insecure" and not self.dead and not opts.tls_require:
            return None
        policy_failure[0] = (str(r.code),)
        if self.dead:
            # Our case only (tcllib ignores handshake errors): say why.
            self.refusal = self.dead.replace("TLS handshake failed",
                                             "TLS handshake with %s failed" % self.server, 1)
        elif opts.tls_require and policy == "insecure":
            self.refusal = "TLS required (%s), but STARTTLS failed at %s: %d %s" % (
                "tls on" if opts.account else "-tlsrequire 1", self.server, r.code, r.diagnostic)
        self.conn.close()
        return False

    def authenticate(self) -> None:
        """Try the offered mechanisms we support, strongest first.

        :raises AuthFailure: all of them were refused.  (tcllib prints
            ``AUTH <mech> failed`` and sends unauthenticated.)
        """
        from . import auth

        offered = auth.offered_mechanisms(self.esmtp)
        order = ([self.opts.auth_mechanism.upper()] if self.opts.auth_mechanism
                 else list(self.opts.auth_preference or auth.PREFERENCE))
        last: Optional[Reply] = None
        for mech in order:
            if mech not in offered or mech not in auth.MECHANISMS:
                continue
            r = self._auth_exchange(mech)
            if r.code == 235:
                self.authenticated = True
                return
            last = r
            self._say("AUTH %s failed: %s " % (mech, _tcl_list_str(r)))
            if self.dead:
                break
        if last is None:
            if self.opts.account and self.opts.auth_mechanism:
                text = "the server %s does not support authentication method %s (it offers: %s)" % (
                    self.server, self.opts.auth_mechanism, " ".join(offered))
            elif self.opts.account:
                text = "cannot find a usable authentication method (%s offers: %s; auth on tries: %s)" % (
                    self.server, " ".join(offered), " ".join(order))
            elif self.opts.auth_mechanism:
                text = "-authmechanism %s is not offered by %s (it offers: %s)" % (
                    self.opts.auth_mechanism, self.server, " ".join(offered))
            else:
                text = "no AUTH mechanism both offered (%s) and usable (%s)" % (" ".join(offered), " ".join(order))
            last = Reply(504, text, local=True)
        raise AuthFailure(last)

    def _auth_exchange(self, mech: str) -> Reply:
        from . import auth

        extra = {"host": self.server, "port": self.port} if mech in auth.WANTS_ENDPOINT else {}
        gen = auth.MECHANISMS[mech](self.opts.username, self.opts.password, **extra)
        try:
            next(gen)
        except auth.CredentialError as e:  # checked before connecting too
            return Reply(504, str(e), local=True)
        r = self.talk(300, cmds.Auth(mech))
        assert r is not None
        cancelled = False
        while r.code == 334:
            if cancelled:
                # RFC 4954 §4: "*" ends the exchange (501).  A server that
                # challenges on would hold the client for ever, fast.
                self.dead = "AUTH %s: the server challenged on after the exchange was cancelled" % mech
                self.conn.close()
                return Reply.failure(self.dead)
            try:
                challenge = base64.b64decode(r.diagnostic, validate=True)
            except (binascii.Error, ValueError):
                challenge = r.diagnostic.encode("latin-1", "replace")
            try:
                response = gen.send(challenge)
            except StopIteration:
                response = None
            if response is None:
                cancelled = True
                r = self.talk(300, cmds.AUTH_CANCEL)  # RFC 4954 §4: cancel the exchange
            else:
                r = self.talk(300, cmds.AuthResponse(base64.b64encode(response).decode("ascii")))
            assert r is not None
        return r

    # -- transaction ----------------------------------------------------------
    @property
    def pipelining(self) -> bool:
        """Whether MAIL/RCPT/DATA go in batches: the server offers
        PIPELINING (RFC 2920) and ``-pipelining`` is not 0."""
        return self.opts.pipelining and self.has("PIPELINING")

    def exchange(self, batch: Sequence[Step], utf8: bool = False) -> List[Reply]:
        """Write ``batch`` in one write and read one reply per command, in
        order (a batch of one is tcllib's ``talk``).  Every line is made by
        :func:`~.commands.render` before anything is written.  ``-debug``
        shows each command as tcllib does; for a batch the ``-->`` lines come
        together before the replies' ``<--`` lines (COMPATIBILITY.md S24).

        :raises CommandError: a command cannot be sent (nothing is written).
        """
        render = cmds.render
        if utf8:
            wires = [render(step.command, utf8=True) for step in batch]
        else:  # the same calls, without a Python loop
            wires = list(map(render, map(_COMMAND_OF, batch)))
        io_timeout = self.opts.io_timeout
        debug = self.debug
        if io_timeout is None and not debug:  # the usual case: tcllib's waits, nothing shown
            waits = list(map(_WAIT_OF, batch))
        else:
            waits = []
            for step, wire in zip(batch, wires):
                secs = step.wait
                if io_timeout is not None:
                    secs = min(secs, io_timeout)
                waits.append(secs)
                if self.debug:
                    self._say("--> %s (wait upto %s seconds)" % (_shown(step.command, wire), _fmt_secs(secs)))
        try:
            self.conn.send(b"".join(wires), max(max(waits), 1.0))
        except SMTPIOError as e:
            self.dead = e.message
            self.lost = True
            return [Reply.failure(e.message, keys=("code", "diagnostic")) for _ in batch]
        if len(batch) == 1:
            return [self.hear(waits[0])]  # tcllib's talk, also after a time-out
        replies = []
        buf = self.conn._buf
        for secs in waits:
            # A reply already received, nothing to show: what hear's first
            # step would return (the rest of a batch's replies usually came
            # with the first one).
            r = take_reply(buf) if buf and not debug and not self.dead else None
            if r is None:
                r = self.hear(secs)
            if r.local and not self.dead:
                # A reply did not come in time: a late one could only be
                # read as a later command's.  The rest of the batch (and
                # the connection) fails at once, as lock-step would stop
                # after one time-out, never one wait per command written.
                self.dead = r.diagnostic
            replies.append(r)
        return replies

    def send_transaction(self, source: MessageSource, sender: str, recipients: Sequence[str],
                         atleastone: bool, utf8_header: Optional[str] = None) -> List[Tuple[str, str, str]]:
        """MAIL, one RCPT per recipient, then DATA (or RSET): tcllib's
        ``sendmessageaux``, decided by :class:`~.dialogue.MailTransaction`
        (pipelined when the server offers PIPELINING).

        :returns: refused recipients as ``(address, code, diagnostic)``.
        :raises ProtocolFailure: the message could not be produced (tcllib's
            ``code 400`` shape, whatever the server advertises), MAIL, DATA
            or the final reply failed, or the replies went out of step.
        :raises EnvelopeError: a non-ASCII address, or ``utf8_header``, and
            no SMTPUTF8 (nothing of the transaction is sent).
        :raises CommandError: an address is no RFC 5321 mailbox (checked
            before connecting too).

        ``utf8_header``: the message's header holds text only UTF-8 can
        carry (RFC 6532), named as in the error (``header To address
        "…"``): the transaction is SMTPUTF8 even with an ASCII envelope
        (RFC 6531 §3.4).
        """
        # what has() says of SIZE, 8BITMIME, PIPELINING and SMTPUTF8, worked
        # out once per EHLO reply
        offers_size, offers_8bit, offers_pipelining, offers_utf8 = _transaction_offers(self._ehlo_key())
        utf8 = not (sender.isascii() and all(map(str.isascii, recipients)))
        if (utf8 or utf8_header) and not offers_utf8:
            if utf8:
                bad = next(a for a in [sender, *recipients] if not _ascii(a))
                raise EnvelopeError("address \"%s\" is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)" % bad)
            raise EnvelopeError("%s is not ASCII (no encoded-word can carry it) and the server does not "
                                "offer SMTPUTF8 (RFC 6531, RFC 6532)" % utf8_header)
        utf8 = utf8 or utf8_header is not None
        params: List[Tuple[str, Optional[str]]] = []
        # One pass over the message (as tcllib's SIZE does) gives both the
        # size and whether 8-bit octets are in it.
        measured = None
        wire: Optional[bytes] = None
        if offers_size or offers_8bit:
            try:
                measured, wire = _measure(source)
            except Exception as e:
                # The same outcome as when the failure comes while sending
                # DATA (tcllib's code 7, code 400); nothing was sent yet.
                raise ProtocolFailure(Reply.failure(script_text(e), keys=("code", "diagnostic"))) from None
        if offers_size and measured is not None:
            params.append(("SIZE", str(measured.size)))
        if measured is not None and measured.eight_bit and offers_8bit:
            params.append(("BODY", "8BITMIME"))  # RFC 6152 (tcllib never declares it: S17)
        if utf8:
            params.append(("SMTPUTF8", None))
        tx = MailTransaction(sender, recipients, tuple(params), atleastone=atleastone,
                             pipelining=self.opts.pipelining and offers_pipelining, rset_first=self.needs_rset)
        self.needs_rset = False
        self.transactions += 1
        while True:
            batch = tx.next_batch()
            if not batch:
                break
            for reply in self.exchange(batch, utf8):
                tx.receive(reply)
        if tx.closing and not self.dead:
            self.dead = "the server is closing the connection (421)"
            self.lost = True
        if tx.must_drop:
            # DATA was accepted where no message may go: without the final
            # dot the server discards the transaction (RFC 5321 §3.8).
            self._say("    ... no message may go: closing the connection ...")
            self.dead = "closed: the server accepted DATA where no message may go"
            self.conn.close()
        if tx.phase is Phase.FAILED:
            self.needs_rset = True
            assert tx.failure is not None
            raise ProtocolFailure(tx.failure)
        if tx.phase is Phase.BODY:
            self._send_body(source, wire, tx.pipelining)
        return tx.refused

    def _send_body(self, source: MessageSource, wire: Optional[bytes] = None, pipelined: bool = False) -> None:
        """The message after DATA's 354, the final dot and its reply, with
        the out-of-step checks of COMPATIBILITY.md S16.  ``wire``: the
        message already in DATA wire form (made while measuring it), else
        ``source`` is generated and encoded now.  ``pipelined``: the
        transaction's :attr:`pipelining`."""
        write_timeout = max(float(self.opts.maxsecs), 30.0)
        if self.opts.io_timeout is not None:  # an account's timeout caps every wait
            write_timeout = min(write_timeout, max(self.opts.io_timeout, 1.0))
        self.needs_rset = True  # until the final reply says otherwise
        if wire is not None:
            self._end_body(wire, write_timeout, pipelined)
            return
        enc = DataEncoder()
        pending = bytearray()  # wire octets not yet sent: few, large sends

        def sink(chunk: bytes) -> None:
            out = enc.feed(chunk)
            if out:
                pending.extend(out)
                if len(pending) >= SEND_BLOCK:
                    self.conn.send(bytes(pending), write_timeout)
                    pending.clear()

        try:
            source(sink)
            pending.extend(enc.finish())
        except SMTPIOError as e:
            self.dead = e.message
            self.lost = not e.timeout
            raise ProtocolFailure(Reply.failure(e.message, keys=("code", "diagnostic"))) from None
        except Exception as e:
            # The message could not be produced (e.g. a -file vanished).
            # tcllib sends "\r\n.\r\n", so the server delivers a truncated
            # message; we drop the connection instead, which makes the server
            # discard the transaction (RFC 5321 §3.8).
            text = script_text(e)
            self.dead = text
            self.conn.close()
            raise ProtocolFailure(Reply.failure(text, keys=("code", "diagnostic"))) from None
        self._end_body(pending, write_timeout, pipelined)

    def _end_body(self, pending: Union[bytes, bytearray], write_timeout: float, pipelined: bool) -> None:
        """Send the rest of the message (``pending``, wire octets) with the
        final dot (and QUIT, see :attr:`quit_with_dot`; ``pipelined``: the
        transaction's :attr:`pipelining`) in one write; read and check the
        final reply."""
        if self.conn.poll_input():
            # The server answered before the end of the message: whatever it
            # said, the final dot must not be sent (its 2xx would otherwise be
            # taken for the reply to the dot).  Dropping the connection makes
            # the server discard the transaction (COMPATIBILITY.md S16).
            early = self.hear(min(5.0, float(self.opts.maxsecs) or 5.0))
            self.dead = "server replied before the end of the message"
            self.conn.close()
            if 200 <= early.code < 400:
                early = Reply.failure("server replied before the end of the message: %d %s"
                                      % (early.code, early.diagnostic), keys=("code", "diagnostic"))
            raise ProtocolFailure(early)
        # The rest of the message and the final dot in one write (tcllib
        # writes the dot as a command of its own, with its own -debug line).
        secs = self.opts.maxsecs
        if secs and self.opts.io_timeout is not None:
            secs = min(secs, self.opts.io_timeout)
        if self.debug:
            self._say("--> . (wait upto %s seconds)" % _fmt_secs(secs))
        self.dot_sent = True
        tail = b".\r\n"
        if self.quit_with_dot and secs and pipelined:
            # RFC 2920 §3.1: the message content may open a group that QUIT
            # ends.  QUIT's reply (221) then checks that the replies are
            # in step (S16 check 3), so the poll of check 2 is not needed.
            if self.debug:
                self._say("--> QUIT (wait upto %s seconds)" % _fmt_secs(self._quit_wait()))
            tail += cmds.render(cmds.QUIT)
            self.quit_sent = True
        try:
            self.conn.send(pending + tail, write_timeout)
        except SMTPIOError as e:
            self.dead = e.message
            self.lost = not e.timeout
            raise ProtocolFailure(Reply.failure(e.message, keys=("code", "diagnostic"))) from None
        r = self.hear(secs) if secs else None
        self.final_reply = r
        if r is None:
            # -maxsecs 0: tcllib does not wait for the final reply; its
            # response array still holds DATA's 354, so it returns code 7
            # with talk's empty result.  The reply is still due: the
            # connection cannot be used again.
            self.dead = "the reply to the final dot was not read (-maxsecs 0)"
            raise ProtocolFailure(Reply(354, keys=()))
        if r.code not in (250, 251):
            if r.well_formed and r.code == 421:
                self.dead = "the server is closing the connection (421)"
                self.lost = True
            raise ProtocolFailure(r)
        if not self.quit_sent and self.conn.poll_input(data_only=True):
            # More came than the one reply we asked for: the 2xx just read
            # may belong to an earlier point of the dialogue (S16).
            extra = self.hear(min(5.0, float(self.opts.maxsecs) or 5.0))
            self.final_reply = extra  # by count, the final dot's real reply
            self.dead = "server replies out of step"
            self.conn.close()
            raise ProtocolFailure(_out_of_step(r, extra))
        self.needs_rset = False
        self.delivered = True

    # -- reuse (pool.py) ----------------------------------------------------------
    def rebind(self, opts: SessionOptions, reactor: Reactor, debug: Optional[DebugSink]) -> None:
        """Take a kept session for a new send: its ``-maxsecs``, ``-debug``
        and ``-pipelining``, and the caller's way of waiting."""
        self.opts = opts
        self._wait_cap = _wait_cap(opts)
        self.debug = debug
        self.conn.reactor = reactor
        self.delivered = False
        self.dot_sent = False
        self.final_reply = None
        self.transactions = 0
        if debug:
            debug("Reusing the connection to %s..." % self.server)

    def reusable(self) -> bool:
        """Whether the connection is in a known state for a next
        transaction: open, not broken, no reply outstanding, and no ONEX
        (one transaction per connection) was sent."""
        return self.dead is None and self.conn.sock is not None and not self.onex_sent

    def close(self, how: str) -> None:
        """tcllib's ``smtp::finalize -close orderly|abort|drop``.

        ``orderly`` sends QUIT and reads its reply; after a delivered
        message that reply must be QUIT's own: 221, or a 421, which may
        answer any command (RFC 5321 §3.8).  Another well-formed reply is
        one reply too many: if QUIT's 221 follows it, it was a late reply
        to the final dot (the replies were out of step by one, and the
        success read before was not the dot's); if nothing follows, it
        cannot be told from a broken QUIT reply.  Either way the send is
        not a success (S16).  A malformed reply, EOF or a time-out there is
        ignored, as tcllib ignores QUIT's reply.

        :raises ProtocolFailure: ``orderly`` only: the replies were, or may
            have been, out of step.
        """
        if how == "orderly":
            # On a dead connection the reply comes at once (hear), where
            # tcllib waits out the time-out (COMPATIBILITY.md S12).  QUIT
            # may have gone with the final dot (PIPELINING): its reply is
            # the next one due.
            r = self.hear(self._quit_wait()) if self.quit_sent else self.talk(120, cmds.QUIT)
            if self.delivered and r is not None and r.code not in (221, 421) and r.well_formed:
                follow = self.hear(min(5.0, float(self.opts.maxsecs) or 5.0))
                self.conn.close()
                if follow.well_formed and follow.code == 221:
                    self.final_reply = r  # by count, the final dot's real reply
                    raise ProtocolFailure(_out_of_step(None, r))
                raise ProtocolFailure(Reply.failure(
                    "QUIT was answered \"%d %s\", not 221: the replies may be out of step, so whether "
                    "the message was delivered is unknown" % (r.code, r.diagnostic), keys=("code", "diagnostic")))
            self.conn.close()
            return
        if how == "abort" and not self.quit_sent:
            # tcllib writes both without waiting, even after the server
            # hung up (the writes then fail silently).
            self.talk(0, cmds.RSET)
            self.talk(0, cmds.QUIT)
        self.conn.close()

    def _quit_wait(self) -> float:
        return min(120, self._wait_cap)  # 120 s, or an account's shorter timeout


_WAIT_OF = operator.attrgetter("wait")
_COMMAND_OF = operator.attrgetter("command")


@functools.lru_cache(maxsize=256)
def _advertised(esmtp: Tuple[str, ...], keyword: str, params: bool, prefix: bool) -> bool:
    # Session.has; pure, and every connection to a server gets the same
    # EHLO reply
    k = keyword.upper()
    return any(a.upper() == k or (params and a.upper().startswith(k + " "))
               or (prefix and a.upper().startswith(k)) for a in esmtp)


@functools.lru_cache(maxsize=64)
def _transaction_offers(esmtp: Tuple[str, ...]) -> Tuple[bool, bool, bool, bool]:
    # send_transaction's has("SIZE", prefix=True), has("8BITMIME"),
    # has("PIPELINING") and has("SMTPUTF8", params=True)
    return (_advertised(esmtp, "SIZE", False, True), _advertised(esmtp, "8BITMIME", False, False),
            _advertised(esmtp, "PIPELINING", False, False), _advertised(esmtp, "SMTPUTF8", True, False))


def _out_of_step(read: Optional[Reply], late: Reply) -> Reply:
    """The failure for replies out of step: ``late`` came where no reply was
    due (after ``read``, the final dot's reply, or as QUIT's reply).  By
    count it is the final dot's real reply: a 4xx/5xx is reported as it
    is; a 2xx cannot be told from a stray one, so it is a local failure that
    says the message may have been delivered."""
    if late.well_formed and late.code >= 400:
        return Reply(late.code, late.diagnostic, list(late.args), list(late.lines))
    what = "%d %s" % (late.code, late.diagnostic) if late.well_formed else late.diagnostic
    return Reply.failure("server replies out of step: %s came after the reply to the final dot "
                         "(the message may have been delivered)" % what, keys=("code", "diagnostic"))


def open_session(opts: SessionOptions, reactor: Reactor, debug: Optional[DebugSink] = None) -> Session:
    """Connect to the first server that greets with 220 and accepts EHLO or
    HELO, as tcllib's ``smtp::initialize``.

    :raises OpenFailure: none could be used; the message follows tcllib (the
        last attempt's diagnostic, or the error of a failed ``socket``).
    """
    last: Union[str, Reply, None] = None
    errorcode: Optional[Tuple[str, ...]] = None
    for server, port in zip_longest(opts.servers, opts.ports, fillvalue=""):
        if server == "":
            continue
        port = port or "25"
        if debug:
            debug("Trying %s..." % server)
        conn = Connection(reactor, not_connected=opts.not_connected or NOT_CONNECTED)
        errorcode = None
        limit = MAX_WAIT if opts.io_timeout is None else min(MAX_WAIT, opts.io_timeout)
        ctx = None
        port_no = 0
        try:
            port_no = (opts.port_parser or port_number)(port)
            conn.connect(server, port_no, limit)
            if opts.tlsimport:
                ctx = tls_context(opts)
                conn.start_tls(ctx, server, limit, fingerprint=opts.tls_fingerprint)
        except SMTPIOError as e:
            conn.close()
            if e.direct:
                last = e.message  # tcllib: the socket command itself failed
                errorcode = e.errorcode
                continue
            if debug:
                debug("    ... %s ..." % e.message)
            last = Reply.failure(e.message)
            continue
        session = Session(conn, opts, debug, server=server, port=port_no, tls=opts.tlsimport,
                          tls_verified=ctx is not None and (verifies(ctx) or opts.tls_fingerprint is not None))
        # -maxsecs also bounds the wait for the greeting when it is shorter
        # than tcllib's 600 s (a server that accepts and never greets).
        # (hear caps the wait at 600 s)
        greeting = session.hear(opts.maxsecs if opts.maxsecs > 0 else MAX_WAIT)
        last = greeting
        if greeting.code != 220:
            conn.close()
            continue
        holder: List[Optional[Tuple[str, ...]]] = [None]
        try:
            ok = session.greet(holder)
        except AuthFailure:
            session.close("orderly")  # say QUIT; the failure is code 7 (S6)
            raise
        except BaseException:
            conn.close()
            raise
        if ok:
            return session
        if session.failed_greeting is not None:
            last = session.failed_greeting
        if session.refusal is not None:
            last = session.refusal
            errorcode = ("SMTP", "TLSREQUIRED") if "-tlsrequire" in last else ("SMTP", "TLS")
            continue
        if holder[0] is not None:
            errorcode = holder[0]
    if last is None:
        raise OpenFailure('can\'t read "code": no such variable', ("TCL", "READ", "VARNAME"))
    if errorcode is not None:
        # tcllib throws the last greeting reply itself as the error value
        # (-tlspolicy said secure); -tlsrequire failures throw their reason.
        raise OpenFailure(last, errorcode)
    raise OpenFailure(last.diagnostic if isinstance(last, Reply) else last)


def port_number(port: str) -> int:
    """A ``-ports`` element as Tcl 8.6's ``socket`` reads it: an integer
    (Python's syntax), else a service name (``smtp``, ``submission``:
    ``getservbyname`` for tcp).  The bridge passes the host Tcl's own
    reading instead (``SessionOptions.port_parser``).

    :raises SMTPIOError: (direct) Tcl's texts for a non-integer, a port
        above 65535 and a negative one.
    """
    text = str(port).strip()
    try:
        n = int(text, 0)
    except ValueError:
        try:
            return socket.getservbyname(text, "tcp")
        except (OSError, ValueError, UnicodeError):
            raise SMTPIOError('expected integer but got "%s"' % port, direct=True,
                              errorcode=("TCL", "VALUE", "INTEGER")) from None
    if n > 65535:
        raise SMTPIOError("couldn't open socket: port number too high", direct=True)
    if n < 0:  # Tcl hands it to getaddrinfo, which refuses it thus
        raise SMTPIOError("couldn't open socket: Servname not supported for ai_socktype", direct=True)
    return n


#: DATA octets gathered before a send (fewer system calls per message).
SEND_BLOCK = 64 * 1024
#: A message up to this size is kept from the measuring pass and replayed.
KEEP_LIMIT = 256 * 1024


def _measure(source: MessageSource) -> Tuple[DataEncoder, Optional[bytes]]:
    """Run the message through a DATA encoder before sending it: its
    ``size`` and ``eight_bit`` describe the message.  A message of at most
    :data:`KEEP_LIMIT` octets is also kept, in wire form (the encoder's
    output, without the final dot), and sent from this one pass; for a
    bigger one the second element is ``None`` and the encoder only
    measures (the message is generated again while it is sent)."""
    enc = DataEncoder()
    out: Optional[List[bytes]] = []
    total = 0

    def sink(chunk: bytes) -> None:
        nonlocal out, total
        if out is not None:
            if type(chunk) is not WireSpan:  # (a span has no octets to keep)
                total += len(chunk)
                if total <= KEEP_LIMIT:
                    out.append(enc.feed(chunk))
                    return
            # too big to keep: measure only from here on (same state)
            out = None
            enc.measure_only = True
        enc.feed(chunk)

    # the source may hand this sink measurements (WireSpan) for big
    # base64 bodies instead of encoding them once more
    sink.measures_only = True  # type: ignore[attr-defined]
    source(sink)
    tail = enc.finish()
    if out is None:
        return enc, None
    out.append(tail)
    return enc, b"".join(out)


def _ascii(s: str) -> bool:
    return s.isascii()


def _shown(command: Command, wire: bytes) -> str:
    """A command as ``-debug`` shows it: never an AUTH response (S7)."""
    if isinstance(command, cmds.AuthResponse) and command.data != "*":
        return "[credentials redacted]"
    return wire[:-2].decode("utf-8")


def _fmt_secs(secs: float) -> str:
    return str(int(secs)) if float(secs).is_integer() else str(secs)


def _tcl_list_str(r: Reply) -> str:
    parts = []
    for x in r.as_tcl_list():
        if isinstance(x, tuple):
            x = " ".join(x)
            parts.append("{%s}" % x if x == "" or " " in x else x)
        else:
            parts.append("{%s}" % x if x == "" or " " in x else x)
    return " ".join(parts)
