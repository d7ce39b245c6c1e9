"""Passwords and OAuth 2 access tokens from ``passwordeval`` commands.

msmtp runs the command with ``/bin/sh -c`` and uses the first line it
prints (a final CR LF or LF removed) as the password; for ``auth xoauth2`` /
``oauthbearer`` that secret is the access token, which is how the usual
token helpers (``oama``, ``mutt_oauth2.py``, ``gcloud``, ``az``…) plug in.
We do the same, bounded by the account's ``timeout`` (:data:`DEFAULT_TIMEOUT`
when it has none), and stricter than msmtp in one point: a command that
exits with a non-zero status, or prints nothing, is an error (msmtp would
use whatever it printed).

**How a command reports an expiry** (our extension; without one the
command runs for every message, as msmtp runs it once per mail):

- after the secret's line, a line ``expires_in=SECONDS`` (lifetime from
  now, as RFC 6749 §5.1's ``expires_in``) or ``expires_at=UNIX-TIME``;
- or the whole output is an RFC 6749 §5.1 token response, a JSON object
  with ``access_token`` (and optionally ``expires_in``), as a token
  endpoint returns it (``curl … https://oauth2.googleapis.com/token``).

A reported secret is kept in this process's memory only (never on disk)
until :data:`MARGIN` before it expires, and forgotten at once when the
server refuses it.  Secrets never appear in error texts, ``-debug`` output
or the send log.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ..smtp.connection import Reactor
from . import process

#: Bound for a command when the account sets no ``timeout`` (seconds).
DEFAULT_TIMEOUT = 60.0
#: A cached secret is renewed this long before it expires (seconds; at most
#: a tenth of its lifetime).
MARGIN = 60.0


class SecretError(Exception):
    """The command gave no usable secret; ``str(e)`` says why (never the
    secret, never the command line, which may hold one)."""


@dataclass(frozen=True)
class Secret:
    """A secret and when it stops being usable (``time.time()`` seconds,
    ``None``: unknown, use once)."""

    value: str
    expires_at: Optional[float] = None


def parse_output(data: bytes, now: float) -> Secret:
    """The secret (and expiry) in a command's standard output.

    :raises SecretError: no secret in it.
    """
    text = data.decode("utf-8", "replace")
    stripped = text.strip()
    if stripped.startswith("{"):
        token = _token_response(stripped, now)
        if token is not None:
            return token
    lines = text.split("\n")
    first = lines[0][:-1] if lines[0].endswith("\r") else lines[0]
    if not first:
        raise SecretError("printed nothing" if not data else "printed an empty first line")
    expires_at = None
    for line in lines[1:]:
        key, eq, value = line.strip().partition("=")
        if not eq:
            continue
        if key == "expires_in":
            expires_at = now + _seconds(value, key)
        elif key == "expires_at":
            expires_at = _seconds(value, key)
    return Secret(first, expires_at)


def _seconds(value: object, key: str) -> float:
    """A lifetime or time as a finite number of seconds.

    :raises SecretError: not a number, or not a finite one (``inf``, ``nan``,
        a JSON integer beyond float range) -- ``inf`` would keep a secret
        for ever."""
    try:
        n = float(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        n = math.nan
    if not math.isfinite(n) or isinstance(value, bool):
        raise SecretError("printed an unreadable %s" % key)
    return n


def _token_response(text: str, now: float) -> Optional[Secret]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to be a token response
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("access_token"), str):
        if isinstance(doc, dict) and "error" in doc:
            # RFC 6749 §5.2: the endpoint refused (error codes are not secret)
            raise SecretError("printed an OAuth 2 error response: %s" % str(doc.get("error"))[:100])
        return None
    if not doc["access_token"]:
        raise SecretError("printed an empty access_token")
    expires_in = doc.get("expires_in")
    expires_at = (now + _seconds(expires_in, "expires_in")
                  if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else None)
    return Secret(doc["access_token"], expires_at)


def evaluate(command: str, reactor: Reactor, timeout: Optional[float]) -> Secret:
    """Run a ``passwordeval`` command and read its secret.

    :param timeout: seconds (``None``: :data:`DEFAULT_TIMEOUT`).
    :raises SecretError: it failed, timed out or printed nothing usable.
    """
    limit = DEFAULT_TIMEOUT if timeout is None else timeout
    try:
        # stderr stays the script's, as under msmtp's popen: a helper's own
        # message ("token expired: run oama authorize") is what tells why
        done = process.run(command, reactor, limit, capture_stdout=True, capture_stderr=False)
    except process.ProcessTimeout:
        raise SecretError("did not finish within %g seconds (timeout)" % limit) from None
    except process.ProcessError as e:
        raise SecretError(e.message) from None
    if done.status != 0:
        how = ("was killed by signal %d" % -done.status if done.status < 0
               else "exited with status %d" % done.status)
        raise SecretError(how)
    return parse_output(done.stdout, time.time())


class SecretStore:
    """Secrets per account, cached while their reported lifetime lasts."""

    def __init__(self) -> None:
        # key -> (secret, renew when time.time() reaches this)
        self._cache: Dict[Tuple[str, ...], Tuple[str, float]] = {}

    def get(self, key: Tuple[str, ...], command: str, reactor: Reactor,
            timeout: Optional[float]) -> Tuple[str, bool]:
        """The secret for ``key`` (e.g. file, account, command).

        :returns: ``(secret, fresh)``; ``fresh`` is False when it came from
            the cache.
        :raises SecretError: see :func:`evaluate`.
        """
        now = time.time()
        cached = self._cache.get(key)
        if cached is not None and now < cached[1]:
            return cached[0], False
        self._cache.pop(key, None)
        secret = evaluate(command, reactor, timeout)
        if secret.expires_at is not None:
            # Renew MARGIN (at most a tenth of the lifetime) early, so the
            # server never sees an expired token.
            now = time.time()
            renew = secret.expires_at - min(MARGIN, max(0.0, secret.expires_at - now) / 10)
            if renew > now:
                self._cache[key] = (secret.value, renew)
        return secret.value, True

    def forget(self, key: Tuple[str, ...]) -> None:
        """Drop a secret the server refused."""
        self._cache.pop(key, None)
