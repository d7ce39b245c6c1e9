"""Accounts in msmtp's configuration format (``msmtprc``).

The syntax and the meaning of each supported command are msmtp's
(``doc/msmtp.texi``, ``src/conf.c`` in marlam/msmtp):

- one command per line (a line ends at LF; a CR before it is dropped, as
  msmtp's ``fgets`` reading does: no other character ends a line), then
  optional blanks and its argument; blank lines and lines whose first
  non-blank character is ``#`` are ignored (a ``#`` after an argument is
  part of it); an argument may be enclosed in double quotes (which are
  removed), e.g. to keep blanks at its ends; a command that takes ``on``
  also takes an empty argument as ``on``; a leading ``~`` in a file name is
  ``$HOME``; numbers are read as C's ``strtol`` with base 0 reads them
  (``0x19``, ``031`` octal); in ``from`` and ``domain``, ``%U`` ``%H``
  ``%C`` ``%M`` are the user name, host name, canonical host name and
  /etc/mailname (``from`` only: ``%U``);
- ``defaults`` starts a group of settings every *following* account starts
  with (several ``defaults`` groups accumulate);
- ``account NAME [: PARENT[,PARENT…]]`` starts an account: the current
  defaults, then the settings each (earlier defined) parent set itself;
  ``account default : NAME`` makes NAME's settings the default account;
  commands before the first ``account``/``defaults`` form the account
  ``default`` (msmtp 1.2 files);
- the last setting of a command in an account wins.

An unknown command, one we do not support, or a bad argument is a
:class:`ConfigError` naming the file, line and command; nothing is ever
silently ignored.  Stricter than msmtp: a control character (other than
TAB) in a line is an error (it could only end up in an SMTP command, a
file name or a shell command line), and so is a file that others could
change (:func:`load`: it can make pysmtp-tcl run commands).  See README ("Send through Gmail, Microsoft 365 or your
relay without editing scripts") for the table of commands.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from ..smtp.tls import parse_fingerprint


class LogTarget(NamedTuple):
    """Where an account's send log goes (``logfile``, ``logfile_time_format``,
    ``syslog`` as :class:`Account` holds them)."""

    logfile: Optional[str]
    logfile_time_format: Optional[str]
    syslog: Optional[str]


class ConfigError(ValueError):
    """A configuration file that cannot be used.

    ``str(e)`` is msmtp-style, with the account the line belongs to:
    ``FILE: line N: account NAME: invalid argument X for command port``.

    :ivar path: the file; :ivar line: line number (``None`` for the whole
        file); :ivar key: the command, if one is at fault; :ivar account:
        the account the line belongs to (``None``: ``defaults``, or the
        whole file).
    :ivar log: where this failure is to be logged: the send logs in force
        where it was found (``defaults`` and the account's own settings read
        before the faulty line; for a whole-file check, every account's),
        and only in a file that passed the ownership check (whoever could
        change it could make us append to any file).  Empty: nowhere.
    """

    def __init__(self, path: str, line: Optional[int], message: str, key: Optional[str] = None,
                 account: Optional[str] = None):
        named = "account %s: " % account if account is not None and not message.startswith("account ") else ""
        super().__init__("%s: %s%s%s" % (path, "line %d: " % line if line else "", named, message))
        self.path = path
        self.line = line
        self.key = key
        self.account = account
        self.log: Tuple[LogTarget, ...] = ()


@dataclass(frozen=True)
class Account:
    """One account's settings, with msmtp's defaults.

    :ivar name: the account's name; :ivar path: its file; :ivar line: the
        line of its ``account`` command.
    :ivar auth: ``None`` (``auth off``), ``""`` (``auth on``: choose) or a
        mechanism name in upper case (``PLAIN``, ``XOAUTH2`` …).
    :ivar tls_trust_file: a PEM file, ``"system"`` (the system's store,
        msmtp's default) or ``None`` (unset).
    :ivar tls_fingerprint: ``(hashlib name, digest)`` or ``None``.
    :ivar timeout: seconds, or ``None`` (``off``).
    :ivar syslog: a facility name (``LOG_USER`` …) or ``None``.
    :ivar sendmail_path: ours: hand messages to this ``sendmail`` program
        instead of speaking SMTP.
    """

    name: str
    path: str
    line: int
    host: Optional[str] = None
    port: Optional[int] = None
    timeout: Optional[float] = None
    domain: Optional[str] = None
    auth: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = None
    passwordeval: Optional[str] = None
    tls: bool = False
    tls_starttls: bool = True
    tls_trust_file: Optional[str] = "system"
    tls_fingerprint: Optional[Tuple[str, bytes]] = None
    tls_certcheck: bool = True
    tls_cert_file: Optional[str] = None
    tls_key_file: Optional[str] = None
    from_: Optional[str] = None
    logfile: Optional[str] = None
    logfile_time_format: Optional[str] = None
    syslog: Optional[str] = None
    sendmail_path: Optional[str] = None
    #: settings given in this account or inherited from a parent (what a
    #: child inherits); :ivar configured: also those from ``defaults``
    explicit: Tuple[str, ...] = field(default=(), compare=False, repr=False)
    configured: Tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def effective_port(self) -> int:
        """The port: as set, else 465 for TLS without STARTTLS, else 25."""
        if self.port is not None:
            return self.port
        return 465 if self.tls and not self.tls_starttls else 25

    @property
    def log_target(self) -> Optional[LogTarget]:
        """Where this account's send log goes, or ``None`` (no logging)."""
        if not self.logfile and not self.syslog:
            return None
        return LogTarget(self.logfile, self.logfile_time_format, self.syslog)

    def where(self) -> str:
        """``account NAME (FILE line N)`` for error texts."""
        return "account %s (%s line %d)" % (self.name, self.path, self.line)

    def problem(self) -> Optional[str]:
        """What keeps the account from being used (msmtp's checks), or
        ``None``."""
        if self.sendmail_path is None and not self.host:
            return "host not set"
        if self.tls_key_file and not self.tls_cert_file:
            return "tls_key_file requires tls_cert_file"
        if self.tls_cert_file and not self.tls_key_file:
            return "tls_cert_file requires tls_key_file"
        if not self.tls_certcheck and self.tls_fingerprint:
            return "cannot use tls_fingerprint with tls_certcheck turned off"
        if "tls_trust_file" in self.configured and self.tls_trust_file and self.tls_fingerprint:
            return "cannot use both tls_trust_file and tls_fingerprint"
        if (self.tls and self.tls_certcheck and not self.tls_trust_file
                and not self.tls_fingerprint):
            return ("tls requires either tls_trust_file (highly recommended) or tls_fingerprint "
                    "or a disabled tls_certcheck")
        if self.auth is not None and self.sendmail_path is None:
            if not self.user:
                return "auth %s needs a user name (user)" % (self.auth.lower() or "on")
            if self.password is None and self.passwordeval is None:
                return ("auth %s needs password or passwordeval (pysmtp-tcl reads neither "
                        "~/.netrc nor a keyring, and never prompts)" % (self.auth.lower() or "on"))
        return None


@dataclass(frozen=True)
class Config:
    """A parsed file: its accounts in file order.

    :ivar log: the send log ``defaults`` configures (a failure that belongs
        to no account, e.g. no account for an envelope sender, goes there).
    """

    path: str
    accounts: Tuple[Account, ...]
    log: Optional[LogTarget] = None

    def account(self, name: str) -> Optional[Account]:
        for a in self.accounts:
            if a.name == name:
                return a
        return None

    def choose(self, sender: str) -> Optional[Account]:
        """msmtp's choice by envelope-from: the first account whose ``from``
        matches ``sender`` (:func:`from_matches`), else ``default``."""
        for a in self.accounts:
            if a.from_ and from_matches(sender, a.from_):
                return a
        return self.account("default")


def from_matches(sender: str, pattern: str) -> bool:
    """msmtp's matching of an envelope-from against an account's ``from``.

    With ``*``, ``?`` or ``[`` in ``pattern``: shell wildcard matching
    (``fnmatch``); otherwise equality.  Both ignore case (mail domains do;
    local parts in practice).  Without wildcards a sub-address matches its
    base: ``joe+lists@example.org`` matches ``joe@example.org``.
    """
    s, p = sender.lower(), pattern.lower()
    if any(c in p for c in "*?["):
        return fnmatch.fnmatchcase(s, p)
    if s == p:
        return True
    local, at, domain = s.rpartition("@")
    if at and "+" in local:
        return local.split("+", 1)[0] + "@" + domain == p
    return False


# -- parsing -------------------------------------------------------------------

class _Bad(Exception):
    """A command's argument is not acceptable: message for ConfigError."""


def _on_off(arg: str) -> bool:
    if arg in ("", "on"):
        return True
    if arg == "off":
        return False
    raise _Bad("invalid argument %s" % arg)


def _text(arg: str) -> Optional[str]:
    return arg or None


def _file(arg: str) -> Optional[str]:
    return _expand(arg) if arg else None


def _needed(arg: str) -> str:
    if not arg:
        raise _Bad("needs an argument")
    return arg


def _port(arg: str) -> int:
    n = _int(_needed(arg))
    if not 1 <= n <= 65535:
        raise _Bad("invalid argument %s" % arg)
    return n


def _timeout(arg: str) -> Optional[float]:
    if _needed(arg) == "off":
        return None
    n = _int(arg)
    if n < 1:
        raise _Bad("invalid argument %s" % arg)
    return float(n)


#: What C's ``strtol(s, &end, 0)`` reads as a whole (msmtp's ``get_pos_int``):
#: optional sign, then hexadecimal ``0x…``, octal ``0…`` or decimal digits.
_C_INTEGER = re.compile(r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))\Z")


def _int(arg: str) -> int:
    m = _C_INTEGER.match(arg)
    if not m:
        raise _Bad("invalid argument %s" % arg)
    sign, hexa, octal, decimal = m.groups()
    n = int(hexa, 16) if hexa else int(octal, 8) if octal else int(decimal)
    return -n if sign == "-" else n


#: ``auth`` arguments: msmtp's names we implement.
AUTH_METHODS = {"plain": "PLAIN", "login": "LOGIN", "cram-md5": "CRAM-MD5",
                "xoauth2": "XOAUTH2", "oauthbearer": "OAUTHBEARER"}
#: msmtp's other ``auth`` methods (GNU SASL ones): refused, named as such.
AUTH_UNSUPPORTED = ("scram-sha-1", "scram-sha-256", "gssapi", "external", "digest-md5", "ntlm")


def _auth(arg: str) -> Optional[str]:
    if arg in ("", "on"):
        return ""
    if arg == "off":
        return None
    if arg in AUTH_METHODS:
        return AUTH_METHODS[arg]
    if arg in AUTH_UNSUPPORTED:
        raise _Bad("authentication method %s is not supported by pysmtp-tcl (supported: on, off, %s)"
                   % (arg, ", ".join(AUTH_METHODS)))
    raise _Bad("invalid argument %s" % arg)


def _substitute(arg: str, letters: str) -> str:
    """msmtp's patterns (1.8.7 ``from``, 1.8.16 ``domain``): ``%U`` the user
    name, ``%H`` the host name, ``%C`` its canonical (DNS) name, ``%M`` the
    first line of /etc/mailname; ``%%`` is ``%``.  Other ``%`` sequences
    stay as written."""
    if "%" not in arg:
        return arg
    out, i = [], 0
    while i < len(arg):
        c, nxt = arg[i], arg[i + 1:i + 2]
        if c == "%" and (nxt == "%" or (nxt and nxt in letters)):
            out.append("%" if nxt == "%" else _PATTERNS[nxt]())
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _ehlo_domain(arg: str) -> Optional[str]:
    """``domain``: what EHLO can carry (RFC 5321 §4.1.1.1): one word of
    ASCII, a non-ASCII name in its IDNA form (as msmtp's IDN support sends
    it), at most 255 characters."""
    if not arg:
        return None
    if any(c in arg for c in " \t"):
        raise _Bad("invalid argument %s (EHLO takes one domain name)" % arg)
    if not arg.isascii():
        try:
            arg = arg.encode("idna").decode("ascii")
        except UnicodeError:
            raise _Bad("invalid argument %s (not a domain name IDNA can encode)" % arg) from None
    if len(arg) > 255:
        raise _Bad("invalid argument %s… (longer than 255 characters)" % arg[:40])
    return arg


def _user_name() -> str:
    # msmtp: $USER, else $LOGNAME, else the password database
    name = os.environ.get("USER") or os.environ.get("LOGNAME")
    if name:
        return name
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        raise _Bad("%U: no user name for uid %d" % os.getuid()) from None


def _canonical_host() -> str:
    import socket

    host = socket.gethostname()
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
    except (OSError, UnicodeError):
        return host
    return next((i[3] for i in infos if i[3]), host)


def _mail_name() -> str:
    try:
        with open("/etc/mailname", encoding="utf-8") as f:
            name = f.readline().strip()
    except (OSError, UnicodeDecodeError) as e:
        why = str(getattr(e, "strerror", None) or e)
        raise _Bad("%%M: cannot read /etc/mailname (%s)" % (why[:1].lower() + why[1:])) from None
    if not name:
        raise _Bad("%M: /etc/mailname is empty")
    return name


def _host_name() -> str:
    import socket

    return socket.gethostname()


_PATTERNS: Dict[str, Callable[[], str]] = {"U": _user_name, "H": _host_name, "C": _canonical_host,
                                           "M": _mail_name}


def _trust_file(arg: str) -> Optional[str]:
    if arg == "system":
        return "system"
    return _file(arg)


def _fingerprint(arg: str) -> Optional[Tuple[str, bytes]]:
    if not arg:
        return None
    try:
        return parse_fingerprint(arg)
    except ValueError as e:
        raise _Bad("invalid argument %s (%s)" % (arg, e)) from None


SYSLOG_FACILITIES = ("LOG_USER", "LOG_MAIL") + tuple("LOG_LOCAL%d" % i for i in range(8))


def _program(arg: str) -> Optional[str]:
    path = _file(arg)
    if path is not None and "/" not in path:
        # a bare name would be looked up in $PATH, which the script's
        # environment controls: absolute, or relative to the working directory
        raise _Bad("invalid argument %s (a path is needed, e.g. /usr/sbin/%s)" % (arg, arg))
    return path


def _syslog(arg: str) -> Optional[str]:
    if arg in ("", "on"):
        return "LOG_USER"
    if arg == "off":
        return None
    if arg in SYSLOG_FACILITIES:
        return arg
    raise _Bad("invalid argument %s" % arg)


def _protocol(arg: str) -> None:
    if _needed(arg) == "smtp":
        return None
    if arg == "lmtp":
        raise _Bad("protocol lmtp is not supported by pysmtp-tcl (only smtp)")
    raise _Bad("invalid argument %s" % arg)


def _no_argument(value: Any) -> Callable[[str], Any]:
    def parse(arg: str) -> Any:
        if arg:
            raise _Bad("does not take an argument")
        return value
    return parse


#: command -> (field, parser).  A parser turns the argument into the
#: field's value or raises _Bad.
COMMANDS: Dict[str, Tuple[str, Callable[[str], Any]]] = {
    "host": ("host", _needed),
    "port": ("port", _port),
    "timeout": ("timeout", _timeout),
    "connect_timeout": ("timeout", _timeout),  # msmtp's old alias
    "protocol": ("", _protocol),
    "domain": ("domain", lambda arg: _ehlo_domain(_substitute(arg, "HCM"))),
    "auth": ("auth", _auth),
    "user": ("user", _text),
    "password": ("password", _text),
    "passwordeval": ("passwordeval", _text),
    "tls": ("tls", _on_off),
    "tls_starttls": ("tls_starttls", _on_off),
    "tls_nostarttls": ("tls_starttls", _no_argument(False)),  # msmtp 1.2 spelling
    "tls_trust_file": ("tls_trust_file", _trust_file),
    "tls_fingerprint": ("tls_fingerprint", _fingerprint),
    "tls_certcheck": ("tls_certcheck", _on_off),
    "tls_nocertcheck": ("tls_certcheck", _no_argument(False)),  # msmtp 1.2 spelling
    "tls_cert_file": ("tls_cert_file", _file),
    "tls_key_file": ("tls_key_file", _file),
    "from": ("from_", lambda arg: _text(_substitute(arg, "UHCM"))),
    "logfile": ("logfile", _file),
    "logfile_time_format": ("logfile_time_format", _text),
    "syslog": ("syslog", _syslog),
    # ours (README: extensions)
    "sendmail_path": ("sendmail_path", _program),
}

_CHANGES_MESSAGE = "the script's message is sent unchanged, so this command has no place"
#: msmtp commands we know and do not support, with the reason given.
UNSUPPORTED: Dict[str, str] = {
    "source_ip": "not implemented",
    "proxy_host": "SOCKS proxies are not implemented",
    "proxy_port": "SOCKS proxies are not implemented",
    "socket": "local sockets are not implemented",
    "ntlmdomain": "NTLM is not implemented",
    "tls_crl_file": "certificate revocation lists are not implemented",
    "tls_priorities": "GnuTLS priority strings do not apply (Python's ssl/OpenSSL)",
    "tls_min_dh_prime_bits": "not applicable (Python's ssl/OpenSSL)",
    "tls_host_override": "not implemented",
    "tls_force_sslv3": "SSLv3 is insecure and unavailable",
    "dsn_notify": "DSN is not implemented",
    "dsn_return": "DSN is not implemented",
    "auto_from": "the envelope-from is the script's",
    "maildomain": "the envelope-from is the script's",
    "from_full_name": _CHANGES_MESSAGE,
    "allow_from_override": "the envelope-from is the script's",
    "set_from_header": _CHANGES_MESSAGE,
    "set_date_header": _CHANGES_MESSAGE,
    "set_msgid_header": _CHANGES_MESSAGE,
    "remove_bcc_headers": _CHANGES_MESSAGE + " (Bcc fields are never sent)",
    "undisclosed_recipients": _CHANGES_MESSAGE,
    "keepbcc": _CHANGES_MESSAGE + " (Bcc fields are never sent)",
    "aliases": "alias expansion is not implemented",
    "eval": "not implemented",
}

def _strip(text: str) -> str:
    return text.strip(" \t")


def _argument(rest: str) -> str:
    """msmtp's ``trim_string``: blanks around removed, then one pair of
    enclosing double quotes."""
    arg = _strip(rest)
    if len(arg) >= 2 and arg[0] == '"' and arg[-1] == '"':
        arg = arg[1:-1]
    return arg


def _lines(text: str):
    """``(number, line)`` as msmtp's ``fgets`` loop sees them: only LF ends a
    line (``str.splitlines`` would also split at CR, VT, FF, U+0085,
    U+2028… inside an argument), and a CR before it is dropped."""
    for number, line in enumerate(text.split("\n"), 1):
        yield number, line[:-1] if line.endswith("\r") else line


def _control(text: str) -> Optional[str]:
    """The first control character (Unicode Cc, but TAB) in ``text``."""
    for c in text:
        if c != "\t" and unicodedata.category(c) == "Cc":
            return c
    return None


def _expand(path: str) -> str:
    return os.path.expanduser(path) if path.startswith("~") else path


def parse(text: str, path: str) -> Config:
    """Parse msmtprc ``text`` (read from ``path``, which error texts name).

    :raises ConfigError: the first problem found.
    """
    defaults: Dict[str, Any] = {}
    accounts: List[Account] = []
    current: Optional[Dict[str, Any]] = None  # settings being collected
    meta: Optional[Tuple[str, int, Dict[str, Any]]] = None  # name, line, inherited start

    def finish() -> None:
        if meta is not None and current is not None:
            name, line, start = meta
            values = dict(start)
            values.update(current)
            explicit = tuple(sorted(set(values.pop("explicit", ())) | set(current)))
            configured = tuple(sorted(set(explicit) | set(defaults)))
            accounts.append(Account(name=name, path=path, line=line, explicit=explicit,
                                    configured=configured, **values))

    def fail(lineno: int, message: str, cmd: str, in_account: bool = True) -> ConfigError:
        """The error for ``lineno``, naming the account it belongs to and
        carrying the send log in force there (``in_account``: the line is a
        setting of the current account, not an ``account`` command)."""
        values = dict(defaults)
        name = None
        if in_account and meta is not None and current is not defaults:
            name = meta[0]
            values.update(meta[2])
            values.update(current or {})
        e = ConfigError(path, lineno, message, cmd, name)
        target = _log_target(values)
        e.log = (target,) if target is not None else ()
        return e

    for lineno, raw in _lines(text):
        stripped = _strip(raw)
        if not stripped or stripped.startswith("#"):
            continue
        blank = min((i for i in (stripped.find(" "), stripped.find("\t")) if i >= 0), default=len(stripped))
        cmd, rest = stripped[:blank], stripped[blank:]
        bad = _control(stripped)
        if bad is not None:
            where = ("the argument of command %s" % cmd) if bad not in cmd else "a command name"
            raise fail(lineno, "control character U+%04X in %s (not allowed)" % (ord(bad), where), cmd,
                       cmd not in ("account", "defaults"))
        arg = _argument(rest)
        if cmd == "defaults":
            if arg:
                raise fail(lineno, "command defaults does not take an argument", cmd, False)
            finish()
            meta = None
            current = defaults
            continue
        if cmd == "account":
            finish()
            name, colon, parents = arg.partition(":")
            name = _strip(name)
            if not name:
                raise fail(lineno, "missing account name", cmd, False)
            if "," in name:
                raise fail(lineno, "an account name must not contain colons or commas", cmd, False)
            if any(a.name == name for a in accounts):
                raise fail(lineno, "account %s was already defined in this file" % name, cmd, False)
            start = {k: v for k, v in defaults.items()}
            inherited: set = set()
            if colon:
                for parent_name in parents.split(","):
                    parent_name = _strip(parent_name)
                    if not parent_name:
                        raise fail(lineno, "missing account name", cmd, False)
                    parent = next((a for a in accounts if a.name == parent_name), None)
                    if parent is None:
                        raise fail(lineno, "account %s not (yet) defined" % parent_name, cmd, False)
                    for key in parent.explicit:
                        start[key] = getattr(parent, key)
                    inherited |= set(parent.explicit)
            start["explicit"] = tuple(inherited)
            meta = (name, lineno, start)
            current = {}
            continue
        if current is None:
            # msmtp 1.2 files: commands before any account form "default".
            meta = ("default", lineno, {k: v for k, v in defaults.items() if k != "explicit"})
            current = {}
        if cmd in COMMANDS:
            name_, parser = COMMANDS[cmd]
            try:
                value = parser(arg)
            except _Bad as e:
                raise fail(lineno, "%s for command %s" % (e, cmd) if str(e).startswith("invalid argument")
                           else "command %s %s" % (cmd, e), cmd) from None
            if name_:
                current[name_] = value
        elif cmd in UNSUPPORTED:
            raise fail(lineno, "command %s is not supported by pysmtp-tcl (%s)" % (cmd, UNSUPPORTED[cmd]), cmd)
        else:
            raise fail(lineno, "unknown command %s" % cmd, cmd)
    finish()
    return Config(path, tuple(accounts), _log_target(defaults))


def _log_target(values: Dict[str, Any]) -> Optional[LogTarget]:
    if not values.get("logfile") and not values.get("syslog"):
        return None
    return LogTarget(values.get("logfile"), values.get("logfile_time_format"), values.get("syslog"))


def load(path: str) -> Config:
    """Read and check a configuration file.

    Besides :func:`parse`'s checks: a file holding a ``password`` must be
    private (msmtp's rule: owned by you with no more than user read/write
    permissions; a root-owned system file may be group-readable but not
    accessible to others), and every account that can be chosen (``default``
    and those with a ``from``) must be usable (:meth:`Account.problem`).

    :raises ConfigError: naming the file (and line, account).
    """
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read(MAX_SIZE + 1)
    except OSError as e:
        raise ConfigError(path, None, (e.strerror or str(e)).lower()) from None
    if len(data) > MAX_SIZE:
        raise ConfigError(path, None, "longer than %d KiB: not a configuration file" % (MAX_SIZE // 1024))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(path, data.count(b"\n", 0, e.start) + 1, "not UTF-8 text") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte order mark some editors write
    _check_safe(path, st)
    config = parse(text, path)
    try:
        if any(a.password for a in config.accounts):
            _check_private(path, st)
        choosable = [a for a in config.accounts if a.name == "default" or a.from_]
        if not choosable:
            raise ConfigError(path, None, "no account can be used: define an account named default "
                              "(account default : NAME) or give accounts a from address")
        for a in choosable:
            why = a.problem()
            if why:
                e = ConfigError(path, a.line, why, None, a.name)
                e.log = (a.log_target,) if a.log_target else ()
                raise e
    except ConfigError as e:
        if e.account is None:  # a whole-file problem: every account's send log
            targets = [config.log] + [a.log_target for a in config.accounts]
            e.log = tuple(dict.fromkeys(t for t in targets if t is not None))
        raise
    return config


#: Largest configuration file read (octets): a device such as /dev/zero or a
#: wrong path is refused, never read without bound.
MAX_SIZE = 1 << 20


def _check_safe(path: str, st: os.stat_result) -> None:
    """A file someone else could change is refused: its ``passwordeval`` and
    ``sendmail_path`` run commands as you, and its accounts decide where
    mail (and credentials) go.  It must be owned by you or root and not
    writable by others; writable by its group only when that group is the
    owner's private group with no other members (Debian's user groups,
    umask 002), as OpenSSH allows."""
    if _regular(st) and st.st_uid not in (os.geteuid(), 0):
        raise ConfigError(path, None, "must be owned by you or root: whoever can change it can make "
                          "pysmtp-tcl run commands (passwordeval, sendmail_path) and redirect mail")
    mode = stat.S_IMODE(st.st_mode)
    if _regular(st) and (mode & 0o002 or (mode & 0o020 and not _private_group(st))):
        raise ConfigError(path, None, "must not be writable by %s: whoever can change it can make "
                          "pysmtp-tcl run commands (passwordeval, sendmail_path) and redirect mail "
                          "(chmod go-w)" % ("others" if mode & 0o002 else "its group"))


def _regular(st: os.stat_result) -> bool:
    """Whether ``st`` is a regular file (pipes such as ``<(…)`` have no
    meaningful owner or mode)."""
    return stat.S_ISREG(st.st_mode)


def _private_group(st: os.stat_result) -> bool:
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(st.st_uid)
        group = grp.getgrgid(st.st_gid)
    except KeyError:
        return False
    return owner.pw_gid == st.st_gid and all(m == owner.pw_name for m in group.gr_mem)


def _check_private(path: str, st: os.stat_result) -> None:
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid == os.geteuid():
        if mode & 0o077:
            raise ConfigError(path, None, "contains secrets and therefore must have no more than "
                              "user read/write permissions")
    elif st.st_uid == 0:
        if mode & 0o007:
            raise ConfigError(path, None, "contains secrets and therefore must not be accessible "
                              "to others")
    else:
        raise ConfigError(path, None, "contains secrets and therefore must be owned by you")


