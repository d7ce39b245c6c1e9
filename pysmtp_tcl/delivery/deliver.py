"""Where and how each message goes (the ``delivery`` layer, DESIGN.md §1).

The bridge hands every ``smtp::sendmessage`` here when a configuration
file (``--config``, ``PYSMTP_TCL_CONFIG``, ``install(config=…)``) or
``--route sendmail`` is in force; otherwise it sends as tcllib does and
this module is not involved.  For each message :class:`Delivery`:

1. derives the envelope and the outgoing copy exactly as without it
   (:func:`pysmtp_tcl.smtp.sendmessage.prepare`): the script's envelope,
   headers and message are never changed;
2. chooses the route: ``--route sendmail``, or the account whose ``from``
   matches the envelope sender (else ``default``);
3. for an SMTP account: gets the password or token (``passwordeval``),
   builds plain :class:`~pysmtp_tcl.smtp.session.SessionOptions` from the
   account (whatever the script's ``-servers -ports -username -password
   -usetls -tlsimport`` say) and lets the SMTP core send; for
   ``sendmail_path``: pipes the message to the local MTA;
4. writes the send log line (``logfile``, ``syslog``).

Failures reach the bridge as the core's exceptions, with texts naming the
account, or as :class:`DeliveryError` (a Tcl error).
"""
from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from typing import Any, Callable, Dict, Generator, List, Optional, Tuple

from ..smtp import sendmessage as core
from ..smtp.auth import MECHANISMS, WANTS_ENDPOINT, CredentialError
from ..smtp.connection import Reactor
from ..smtp.replies import Reply
from ..smtp.session import (AuthFailure, CredentialsRefused, OpenFailure, ProtocolFailure,
                            SessionOptions)
from ..smtp.session import EnvelopeError as AddressRefused
from ..smtp.tls import TLSSettingError, client_context
from . import sendlog
from .msmtprc import Account, Config
from .secrets import SecretError, SecretStore
from .sendmail import HandoffError, handoff

#: msmtp's order for ``auth on``: CRAM-MD5; PLAIN and LOGIN only over TLS.
AUTH_ON_TLS = ("CRAM-MD5", "PLAIN", "LOGIN")
AUTH_ON_PLAIN = ("CRAM-MD5",)
#: Bound for a sendmail hand-off when the account sets no timeout (seconds).
HANDOFF_TIMEOUT = 600.0

Refused = List[Tuple[str, str, str]]


class DeliveryError(Exception):
    """A failure the script sees as a Tcl error (nothing was sent).

    :ivar errorcode: ``-errorcode`` list.
    """

    def __init__(self, message: str, errorcode: Tuple[str, ...] = ("SMTP", "CONFIG"),
                 exitcode: str = "EX_CONFIG"):
        super().__init__(message)
        self.message = message
        self.errorcode = errorcode
        self.exitcode = exitcode  # for the send log


@dataclass(frozen=True)
class ScriptSide:
    """What the script asked for that an account does not override.

    :ivar client: ``-client`` when given (else ``""``).
    :ivar script: the running script's path, for the send log.
    :ivar warn: writes a line to the script's stderr (log failures).
    :ivar stdout: writes a line to the script's stdout (``logfile -``).
    """

    debug: bool
    maxsecs: float
    queue: bool
    atleastone: bool
    client: str
    script: str = ""
    warn: Callable[[str], None] = lambda line: None
    stdout: Callable[[str], None] = lambda line: None
    #: ``-pipelining`` (RFC 2920 when the server offers it)
    pipelining: bool = True


class Delivery:
    """Routes messages by a configuration and/or a sendmail route.

    :param config: parsed accounts (:func:`.msmtprc.load`), or ``None``.
    :param sendmail: ``--route sendmail[:PATH]``: every message goes to
        this program (the config is then not consulted).
    """

    def __init__(self, config: Optional[Config] = None, sendmail: Optional[str] = None) -> None:
        self.config = config
        self.sendmail = sendmail
        self.secrets = SecretStore()
        self._contexts: Dict[str, ssl.SSLContext] = {}
        #: the syslog daemon's socket (tests point it elsewhere)
        self.syslog_socket = sendlog.SYSLOG_SOCKET

    # -- one message ------------------------------------------------------------
    def send(self, req: core.SendRequest, reactor: Reactor, services: core.Services,
             side: ScriptSide, debug: Optional[Callable[[str], None]] = None,
             pool: Optional[Any] = None) -> Refused:
        """Send one message; see the module docstring.  ``pool``: kept
        connections (opt-in reuse, :mod:`pysmtp_tcl.smtp.pool`); a kept
        connection carries only messages of its own account.

        :returns: refused recipients, as :func:`pysmtp_tcl.smtp.sendmessage.send`.
        :raises DeliveryError, OpenFailure, ProtocolFailure, AuthFailure,
            CredentialsRefused, envelope errors: as the bridge maps them.
        """
        prepared = core.prepare(req, services)
        env = prepared.envelope
        if self.sendmail is not None:
            self._handoff(self.sendmail, prepared, reactor, HANDOFF_TIMEOUT, debug)
            return []
        assert self.config is not None
        account = self.config.choose(env.sender)
        if account is None:
            e = DeliveryError("%s: no account matches the envelope sender <%s> and there is no "
                              "account default" % (self.config.path, env.sender), ("SMTP", "NOACCOUNT"))
            self._log(None, _record(None, env, side, prepared, e), side, Redactor())
            raise e
        why = account.problem()
        if why:  # (load() checks the accounts it can choose: a Config made otherwise)
            e = DeliveryError("%s: %s" % (account.where(), why))
            self._log(account, _record(account, env, side, prepared, e), side, Redactor())
            raise e
        if debug:
            debug("Using %s" % account.where())
        size = _Counter(prepared.source)
        prepared = prepared.replace(source=size)
        record = _record(account, env, side, prepared)
        redact = Redactor()
        try:
            if account.sendmail_path is not None:
                record.host = account.sendmail_path
                try:
                    self._handoff(account.sendmail_path, prepared, reactor,
                                  account.timeout or HANDOFF_TIMEOUT, debug)
                except HandoffError as e:
                    raise _named_handoff(e, account) from None
                refused: Refused = []
            else:
                password = self._secret(account, reactor)
                redact = Redactor(account, password)
                refused = self._smtp(account, password, prepared, reactor, side, debug, record, redact, pool)
        except HandoffError as e:
            record.exitcode, record.errormsg = e.exitcode, e.message
            self._log(account, record, side, redact)
            raise
        except DeliveryError as e:
            record.exitcode, record.errormsg = e.exitcode, e.message
            self._log(account, record, side, redact)
            raise
        except (ProtocolFailure, OpenFailure, CredentialsRefused, AddressRefused) as e:
            _fill_failure(record, e)
            self._log(account, record, side, redact)
            raise
        except core.InputError as e:
            # a value no command line can carry (the account's user or
            # password/token, the script's -client), found before
            # connecting: nothing went, but the attempt is logged as every
            # other failure is
            record.errormsg = str(e)
            record.exitcode = "EX_CONFIG" if e.option in core.ACCOUNT_CREDENTIAL.values() else "EX_DATAERR"
            self._log(account, record, side, redact)
            raise
        record.mailsize = size.last
        record.refused = [r[0] for r in refused]
        if refused and (not side.atleastone or len(refused) == len(record.recipients)):
            # nothing went (tcllib: RSET when any recipient is refused)
            record.exitcode = _exitcode_for(int(refused[0][1]) if refused[0][1].isdigit() else 500)
            record.errormsg = "recipient %s not accepted by the server" % refused[0][0]
            record.mailsize = None
        self._log(account, record, side, redact)
        return [tuple(redact(x) for x in r) for r in refused]  # type: ignore[misc]

    # -- SMTP through an account ---------------------------------------------------
    def _secret(self, account: Account, reactor: Reactor) -> str:
        """The account's password or token (``""`` without ``auth``)."""
        if account.auth is None:
            return ""
        if account.password is not None:
            return account.password
        assert account.passwordeval is not None
        try:
            password, _ = self.secrets.get(_secret_key(account), account.passwordeval, reactor, account.timeout)
        except SecretError as e:
            raise DeliveryError("account %s: passwordeval %s" % (account.name, e),
                                ("SMTP", "PASSWORDEVAL")) from None
        return password

    def _smtp(self, account: Account, password: str, prepared: core.Prepared, reactor: Reactor,
              side: ScriptSide, debug: Optional[Callable[[str], None]], record: sendlog.Record,
              redact: "Redactor", pool: Optional[Any] = None) -> Refused:
        opts = self.session_options(account, side, password)
        sessions: list = []
        shown = (lambda line: debug(redact(line))) if debug else None
        try:
            refused = core.transmit(prepared, opts, reactor, side.atleastone, shown, on_session=sessions.append,
                                    pool=pool)
        except AuthFailure as e:
            self.secrets.forget(_secret_key(account))  # a refused token is never offered again
            # AUTH is only reached over the TLS the account demands, which
            # the handshake verified as the account says
            record.tls = account.tls
            record.tls_verified = account.tls and (account.tls_certcheck or account.tls_fingerprint is not None)
            _note_session(record, sessions)
            raise AuthFailure(_named(redact.reply(e.reply), account)) from None
        except ProtocolFailure as e:
            _note_session(record, sessions)
            raise ProtocolFailure(_named(redact.reply(e.reply), account)) from None
        except OpenFailure as e:
            msg = e.message
            raise OpenFailure("account %s: %s" % (account.name, redact(msg)) if isinstance(msg, str)
                              else redact.reply(msg), e.errorcode) from None
        except CredentialsRefused as e:
            raise CredentialsRefused("account %s: %s" % (account.name, e)) from None
        except AddressRefused as e:  # e.g. non-ASCII and no SMTPUTF8 at the account's server
            _note_session(record, sessions)
            raise AddressRefused("account %s: %s" % (account.name, e)) from None
        _note_session(record, sessions)
        return refused

    def session_options(self, account: Account, side: ScriptSide, password: str) -> SessionOptions:
        """The core's options for ``account`` (plain values, no config)."""
        auth = account.auth
        return SessionOptions(
            servers=(account.host or "",), ports=(str(account.effective_port),),
            client=account.domain or side.client or "localhost",
            debug=side.debug, maxsecs=side.maxsecs, queue=side.queue,
            usetls=account.tls and account.tls_starttls,
            tlsimport=account.tls and not account.tls_starttls,
            tls_require=account.tls,
            tls_context=self._context(account) if account.tls else None,
            tls_fingerprint=account.tls_fingerprint if account.tls else None,
            username=account.user or "" if auth is not None else "",
            password=password if auth is not None else "",
            auth_mechanism=auth or None,
            auth_required=auth is not None,
            auth_preference=AUTH_ON_TLS if account.tls else AUTH_ON_PLAIN,
            auth_needs_verified_tls=True,
            io_timeout=account.timeout,
            account=account.name,
            pipelining=side.pipelining)

    def _context(self, account: Account) -> ssl.SSLContext:
        ctx = self._contexts.get(account.name)
        if ctx is None:
            verify = account.tls_certcheck and account.tls_fingerprint is None
            trust = account.tls_trust_file if account.tls_trust_file != "system" else None
            try:
                ctx = client_context(verify=verify, trust_file=trust, cert_file=account.tls_cert_file,
                                     key_file=account.tls_key_file)
            except TLSSettingError as e:
                raise DeliveryError("%s: %s" % (account.where(), e), ("SMTP", "TLS")) from None
            self._contexts[account.name] = ctx
        return ctx

    # -- the local MTA --------------------------------------------------------------
    def _handoff(self, path: str, prepared: core.Prepared, reactor: Reactor, timeout: float,
                 debug: Optional[Callable[[str], None]]) -> None:
        env = prepared.envelope
        try:
            if env.recipients:
                # none (only Bcc recipients): over SMTP the main transaction
                # ends in RSET and only the blind copy goes; sendmail would
                # refuse a message without recipients and the copy be lost
                handoff(path, env.sender, env.recipients, prepared.source, reactor, timeout, debug)
            if env.has_bcc and env.bcc:
                handoff(path, env.sender, env.bcc, prepared.bcc()[0], reactor, timeout, debug)
        except ValueError as e:
            raise DeliveryError(str(e), ("SMTP", "ADDRESS"), "EX_DATAERR") from None

    # -- the send log -----------------------------------------------------------------
    def _log(self, account: Optional[Account], record: sendlog.Record, side: ScriptSide,
             redact: "Redactor") -> None:
        """Write the send log line where ``account`` logs (``None``: where
        ``defaults`` logs, for a failure before an account was chosen).
        Never raises: the message's fate is decided, and a log failure must
        not turn a sent message into an error (a script retrying would send
        it twice); it is reported on the script's stderr instead."""
        target = account.log_target if account is not None else self.config.log if self.config else None
        if target is None:
            return
        sendlog.write(target.logfile, target.logfile_time_format, target.syslog,
                      redact(sendlog.format_info(record)), record.exitcode != "EX_OK", side.stdout,
                      side.warn, self.syslog_socket)


class Redactor:
    """Removes an account's secret from text that leaves the process
    (``-debug`` lines, the send log, error texts), in every form AUTH sends
    it: as given, and each SASL response holding it, base64-encoded as on
    the wire.  A server may echo what it got (``535 … <base64>``); its
    reply then reaches the log and the script without the secret.

    Without an account (or a secret under :data:`MIN_SECRET` characters,
    which would garble unrelated text) only the encoded forms are removed.
    """

    #: Shortest secret removed as plain text.
    MIN_SECRET = 4
    #: What a removed secret is shown as (as ``-debug`` shows AUTH responses).
    SHOWN = "[credentials redacted]"

    def __init__(self, account: Optional[Account] = None, secret: str = "") -> None:
        forms = set()
        if account is not None and secret:
            if len(secret) >= self.MIN_SECRET:
                forms.add(secret)
            user = account.user or ""
            for name, mechanism in MECHANISMS.items():
                extra = ({"host": account.host or "", "port": account.effective_port}
                         if name in WANTS_ENDPOINT else {})
                for response in _responses(mechanism(user, secret, **extra)):
                    if secret.encode("utf-8") in response:
                        forms.add(base64.b64encode(response).decode("ascii"))
        # longest first: a base64 form may contain a shorter one
        self.forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self.forms:
            if form in text:
                text = text.replace(form, self.SHOWN)
        return text

    def reply(self, reply: Reply) -> Reply:
        if not self.forms:
            return reply
        return reply.replace(diagnostic=self(reply.diagnostic), args=[self(a) for a in reply.args],
                       lines=[self(line) for line in reply.lines])


def _responses(mechanism: Generator[bytes, bytes, None]) -> List[bytes]:
    # Every response a mechanism sends (empty challenges; CRAM-MD5's answer
    # is a digest, never the secret).
    out: List[bytes] = []
    try:
        next(mechanism)
        while len(out) < 8:
            out.append(mechanism.send(b""))
    except StopIteration:
        pass
    except CredentialError:
        # a secret this mechanism cannot carry (a NUL for PLAIN, ^A for the
        # OAuth 2 ones): it never goes, so it has no form to remove; the
        # send fails on it before connecting, naming the account
        pass
    return out


def _secret_key(account: Account) -> Tuple[str, ...]:
    return (account.path, account.name, account.passwordeval or "")


def _record(account: Optional[Account], env: Any, side: ScriptSide, prepared: core.Prepared,
            failure: Optional[DeliveryError] = None) -> sendlog.Record:
    """The send log record of one message (``failure``: it ended before
    anything was sent)."""
    host = (account.host or account.sendmail_path or "") if account is not None else ""
    record = sendlog.Record(host=host, tls=False, auth=False, user=account.user if account else None,
                            sender=env.sender, recipients=list(env.recipients) + list(env.bcc),
                            exitcode="EX_OK", account=account.name if account else None, script=side.script,
                            message_id=_message_id(prepared.outgoing))
    if failure is not None:
        record.exitcode, record.errormsg = failure.exitcode, failure.message
    return record


class _Counter:
    """Wraps a message source and remembers the size of its last run: the
    message's octets with CRLF line ends (what the server stores)."""

    def __init__(self, source: Callable[[Callable[[bytes], None]], None]) -> None:
        self.source = source
        self.last: Optional[int] = None

    def __call__(self, sink: Callable[[bytes], None]) -> None:
        total = 0
        last = b"\n"

        def count(chunk: bytes) -> None:
            nonlocal total, last
            total += len(chunk) + chunk.count(b"\n") - chunk.count(b"\r\n")
            last = chunk[-1:] or last
            sink(chunk)

        self.source(count)
        # DATA ends an unterminated last line with CRLF
        self.last = total + (0 if last == b"\n" else 2)


def _named(reply: Reply, account: Account) -> Reply:
    return reply.replace(diagnostic="account %s: %s" % (account.name, reply.diagnostic))


def _named_handoff(e: HandoffError, account: Account) -> HandoffError:
    text = "account %s: %s" % (account.name, e.message)
    reply = e.reply.replace(diagnostic="account %s: %s" % (account.name, e.reply.diagnostic)) if e.reply else None
    return HandoffError(text, reply, e.exitcode)


def _note_session(record: sendlog.Record, sessions: list) -> None:
    if not sessions:
        return
    s = sessions[-1]  # a kept connection that broke was replaced by this one
    record.tls, record.tls_verified, record.auth = s.tls, s.tls_verified, s.authenticated
    if not s.authenticated:
        record.user = None
    if s.final_reply is not None and not s.final_reply.local:
        record.reply_code, record.reply_lines = s.final_reply.code, list(s.final_reply.lines)


def _fill_failure(record: sendlog.Record, e: Exception) -> None:
    if isinstance(e, ProtocolFailure):
        r = e.reply
        if not r.local:
            record.reply_code, record.reply_lines = r.code, list(r.lines)
        if isinstance(e, AuthFailure):
            record.exitcode = "EX_NOPERM" if not r.local else "EX_UNAVAILABLE"
        elif r.local:
            record.exitcode = "EX_IOERR" if r.code == 400 else "EX_PROTOCOL"
        else:
            record.exitcode = _exitcode_for(r.code)
        record.errormsg = r.diagnostic
    elif isinstance(e, OpenFailure):
        msg = e.message if isinstance(e.message, str) else e.message.diagnostic
        record.errormsg = msg
        record.exitcode = "EX_UNAVAILABLE" if e.errorcode and e.errorcode[:1] == ("SMTP",) else "EX_TEMPFAIL"
    elif isinstance(e, AddressRefused):
        record.errormsg = str(e)
        record.exitcode = "EX_DATAERR"
    else:
        record.errormsg = str(e)
        record.exitcode = "EX_UNAVAILABLE"


def _exitcode_for(code: int) -> str:
    return "EX_TEMPFAIL" if 400 <= code < 500 else "EX_UNAVAILABLE"


def _message_id(entity: object) -> Optional[str]:
    try:
        values = entity.get_header("Message-ID")  # type: ignore[attr-defined]
    except KeyError:
        return None
    return values[0] if values else None


