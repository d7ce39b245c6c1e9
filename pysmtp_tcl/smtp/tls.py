"""TLS settings beyond tcllib's: contexts with a trust file or the system
store, client certificates, and certificate pinning by fingerprint (the
settings msmtp's ``tls_*`` commands make).

Pure functions over :mod:`ssl` and :mod:`hashlib`; the handshake itself is
:meth:`.connection.Connection.start_tls`.
"""
from __future__ import annotations

import hashlib
import hmac
import ssl

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Optional, Tuple

#: Digest length in octets -> hashlib name (msmtp's accepted fingerprints).
FINGERPRINT_ALGORITHMS = {32: "sha256", 20: "sha1", 16: "md5"}


class TLSSettingError(ValueError):
    """A trust file, certificate or key that cannot be used; ``str(e)``
    says which file and why."""


def client_context(*, verify: bool, trust_file: Optional[str] = None,
                   cert_file: Optional[str] = None, key_file: Optional[str] = None) -> ssl.SSLContext:
    """A client context.

    :param verify: check the chain and host name (RFC 6125) against
        ``trust_file`` (PEM CA certificates) or, when it is ``None``, the
        system's trust store.  ``False``: no checks at all (for msmtp's
        ``tls_certcheck off``, or when a fingerprint is pinned instead).
    :param cert_file: PEM client certificate, sent when the server asks
        (with ``key_file``, its private key).
    :raises TLSSettingError: a file is missing or holds nothing usable.
    """
    if verify:
        try:
            ctx = ssl.create_default_context(cafile=trust_file)
        except (OSError, ValueError) as e:
            raise TLSSettingError("tls_trust_file %s: %s" % (trust_file, _reason(e))) from None
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_file or key_file:
        try:
            ctx.load_cert_chain(cert_file or "", key_file or None, password=_no_passphrase)
        except _EncryptedKey:
            raise TLSSettingError("tls_key_file %s: the private key is encrypted, and there is no one to "
                                  "ask for its pass phrase (use a key without one, readable only by you)"
                                  % (key_file or cert_file)) from None
        except (OSError, ValueError) as e:
            raise TLSSettingError("tls_cert_file %s / tls_key_file %s: %s"
                                  % (cert_file, key_file, _reason(e))) from None
    return ctx


class _EncryptedKey(Exception):
    pass


def _no_passphrase() -> bytes:
    # Without a password callback OpenSSL asks on the controlling terminal
    # ("Enter PEM pass phrase:"), blocking the script (and its event loop)
    # until someone types; msmtp cannot use an encrypted key either.
    raise _EncryptedKey()


def parse_fingerprint(text: str) -> Tuple[str, bytes]:
    """``01:23:…`` (or with spaces) as msmtp's ``tls_fingerprint`` takes it:
    32 octets SHA-256, 20 SHA-1 or 16 MD5, hex digits in either case.

    :returns: ``(hashlib name, digest)``.
    :raises ValueError: any other form.
    """
    parts = text.replace(" ", ":").split(":")
    try:
        if not all(len(p) == 2 for p in parts):
            raise ValueError
        digest = bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError("not a fingerprint of the form 01:23:45:…") from None
    if len(digest) not in FINGERPRINT_ALGORITHMS:
        raise ValueError("a fingerprint has 32 (SHA-256), 20 (SHA-1) or 16 (MD5) octets, not %d"
                         % len(digest))
    return FINGERPRINT_ALGORITHMS[len(digest)], digest


def matches(der: bytes, fingerprint: Tuple[str, bytes]) -> bool:
    """Whether the DER certificate ``der`` has the pinned digest."""
    algorithm, digest = fingerprint
    return hmac.compare_digest(hashlib.new(algorithm, der).digest(), digest)


def fingerprint_text(der: bytes, algorithm: str = "sha256") -> str:
    """``AB:CD:…`` of ``der`` (what to put in ``tls_fingerprint``)."""
    return ":".join("%02X" % b for b in hashlib.new(algorithm, der).digest())


def _reason(e: Exception) -> str:
    if isinstance(e, ssl.SSLError):
        return str(e.reason or e)
    if isinstance(e, OSError) and e.strerror:
        return e.strerror[:1].lower() + e.strerror[1:]
    return str(e)
