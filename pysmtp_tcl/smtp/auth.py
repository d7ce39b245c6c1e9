"""SASL mechanisms for SMTP AUTH (RFC 4954), as pure encoders.

Each mechanism is a generator, primed with ``next()``; it is then sent each
server challenge (bytes, already base64-decoded) and yields the client
response to it (bytes, before base64).  tcllib sends ``AUTH <mech>`` without
an initial response, so every response answers a 334 challenge.  tcllib's SASL package offers, by preference: NTLM OTP DIGEST-MD5
CRAM-MD5 LOGIN PLAIN ANONYMOUS; we implement CRAM-MD5, LOGIN, PLAIN,
XOAUTH2 and OAUTHBEARER (RFC 7628) and keep tcllib's order among the first
three.  The two OAuth 2 mechanisms carry an access token in place of the
password and are only used when asked for by name (a password is not a
token, so choosing them automatically could only fail).
"""
from __future__ import annotations

import hashlib
import hmac

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Callable, Dict, Generator, List, Optional
    Mechanism = Generator[bytes, bytes, None]


class CredentialError(ValueError):
    """A credential a mechanism cannot carry intact.

    :ivar option: ``-username`` or ``-password``.
    :ivar reason: why (with the RFC section).
    """

    def __init__(self, option: str, reason: str) -> None:
        super().__init__("%s %s" % (option, reason))
        self.option = option
        self.reason = reason


def _refuse(username: str, password: str, chars: str, why: str) -> None:
    for option, value in (("-username", username), ("-password", password)):
        for c in chars:
            if c in value:
                raise CredentialError(option, "contains U+%04X, which %s" % (ord(c), why))
        _check_utf8(option, value)


def _check_utf8(option: str, value: str) -> None:
    # Every mechanism sends the credentials as UTF-8: a lone surrogate (a
    # script's "\ud800") has no UTF-8 form (RFC 3629 §3).
    for c in value:
        if "\ud800" <= c <= "\udfff":
            raise CredentialError(option, "contains U+%04X, a lone surrogate, which has no UTF-8 "
                                          "form (RFC 3629 §3)" % ord(c))

#: Strongest first, as tcllib's ``SASL::mechanisms`` orders them.
PREFERENCE: List[str] = ["CRAM-MD5", "LOGIN", "PLAIN"]


def plain(username: str, password: str) -> Mechanism:
    """RFC 4616: one response ``authzid NUL authcid NUL passwd``; a NUL in
    either would move the field boundaries (RFC 4616 §2: UTF8SAFE)."""
    _refuse(username, password, "\0", "would change the PLAIN fields (RFC 4616 §2)")
    yield b""
    yield b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")


def login(username: str, password: str) -> Mechanism:
    """The LOGIN mechanism: user name, then password, one per challenge."""
    _check_utf8("-username", username)
    _check_utf8("-password", password)
    yield b""
    yield username.encode("utf-8")
    yield password.encode("utf-8")


def cram_md5(username: str, password: str) -> Mechanism:
    """RFC 2195: ``user SP hex(HMAC-MD5(password, challenge))``."""
    _check_utf8("-username", username)
    _check_utf8("-password", password)
    challenge = yield b""
    digest = hmac.new(password.encode("utf-8"), challenge, hashlib.md5).hexdigest()
    yield username.encode("utf-8") + b" " + digest.encode("ascii")


def xoauth2(username: str, token: str) -> Mechanism:
    """Google/Microsoft XOAUTH2: ``user=U^Aauth=Bearer T^A^A`` (a ^A in
    either would add fields).  A refused token comes back as an error
    document in a further 334 challenge, which is answered with an empty
    response (the server then fails the exchange with 535)."""
    _refuse(username, token, "\x01", "separates XOAUTH2 fields")
    yield b""
    yield b"user=" + username.encode("utf-8") + b"\x01auth=Bearer " + token.encode("utf-8") + b"\x01\x01"
    yield b""


def _saslname(name: str) -> bytes:
    # RFC 5801 §4 saslname: "," and "=" are escaped in the gs2 header.
    return name.replace("=", "=3D").replace(",", "=2C").encode("utf-8")


def oauthbearer(username: str, token: str, host: Optional[str] = None,
                port: Optional[int] = None) -> Mechanism:
    """RFC 7628 §3.1: ``n,a=USER,^Ahost=H^Aport=P^Aauth=Bearer T^A^A``.

    ``host``/``port`` name the server connected to (optional key/value
    pairs).  When the server refuses the token it sends an error document
    as a further 334 challenge (§3.2.2); the client must then answer with a
    lone ``^A`` and the server ends the exchange with a failure reply.  A
    ^A in the user name or token would add key/value pairs: refused.
    """
    _refuse(username, token, "\x01", "separates OAUTHBEARER key/value pairs (RFC 7628 §3.1)")
    yield b""
    kv = b""
    if host:
        kv += b"host=" + host.encode("utf-8") + b"\x01"
    if port:
        kv += b"port=%d\x01" % port
    yield (b"n,a=" + _saslname(username) + b",\x01" + kv
           + b"auth=Bearer " + token.encode("utf-8") + b"\x01\x01")
    yield b"\x01"


MECHANISMS: Dict[str, Callable[..., Mechanism]] = {
    "PLAIN": plain,
    "LOGIN": login,
    "CRAM-MD5": cram_md5,
    "XOAUTH2": xoauth2,
    "OAUTHBEARER": oauthbearer,
}

#: Mechanisms that are told the server's host name and port.
WANTS_ENDPOINT = ("OAUTHBEARER",)


def offered_mechanisms(ehlo_args: List[str]) -> List[str]:
    """Mechanisms from the first EHLO keyword line matching ``AUTH*``
    (``AUTH PLAIN LOGIN`` or the old ``AUTH=PLAIN LOGIN``), as tcllib reads
    them: the text after the first five characters, split on white space."""
    for line in ehlo_args:
        if line.startswith("AUTH"):
            return [m.upper() for m in line[5:].split()]
    return []


def responses(mechanism: str, username: str, password: str,
              challenge: bytes = b"<1.1@preflight.invalid>", **endpoint: object) -> List[bytes]:
    """Every response ``mechanism`` gives when each challenge is
    ``challenge``: lets the caller check, before connecting, that the
    responses can be sent (the same renderer checks them on the wire).

    :param endpoint: ``host``/``port`` for :data:`WANTS_ENDPOINT` mechanisms.
    :raises CredentialError: the credentials cannot be carried.
    """
    gen = MECHANISMS[mechanism](username, password, **(endpoint if mechanism in WANTS_ENDPOINT else {}))
    next(gen)
    out: List[bytes] = []
    while True:
        try:
            out.append(gen.send(challenge))
        except StopIteration:
            return out
