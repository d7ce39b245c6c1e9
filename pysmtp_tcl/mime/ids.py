"""Identifiers tcllib's ``mime`` generates: Content-IDs and boundaries."""
from __future__ import annotations

import _thread
import base64
import itertools
import os
import socket
import time
from functools import lru_cache

__all__ = ["unique_id", "make_boundary", "tcl_hostname"]

_counter = itertools.count(1)
# _thread, not threading: the send path needs no more (threading costs ~1 ms)
_lock = _thread.allocate_lock()


@lru_cache(maxsize=1)
def tcl_hostname() -> str:
    """What Tcl's ``info hostname`` answers: the canonical name that
    ``gethostbyname(uname().nodename)`` resolves to, else the node name."""
    node = socket.gethostname()
    try:
        # an ASCII name as bytes: a str goes through the "idna" codec,
        # whose import (encodings.idna, stringprep) costs ~1 ms per process
        return socket.gethostbyname_ex(node.encode("ascii") if node.isascii() else node)[0] or node
    except OSError:
        return node


def unique_id() -> str:
    """A Content-ID / Message-ID as ``mime::uniqueID`` makes it:
    ``<pid.seconds.n@hostname>`` with ``n`` a process-wide counter
    (RFC 2045 §7 / RFC 5322 §3.6.4 msg-id form)."""
    with _lock:
        n = next(_counter)
    # (%d writes the whole seconds of the float, as int() would)
    return "<%d.%d.%d@%s>" % (_pid[0], time.time(), n, tcl_hostname())


# os.getpid() is a system call each time: kept, and renewed in a forked child
_pid = [os.getpid()]
if hasattr(os, "register_at_fork"):  # (not on Windows: no fork there)
    os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


def make_boundary(seed: str = "") -> str:
    """A multipart boundary in tcllib's shape: ``----- =_`` + base64 of an
    upper-case hex MD5 digest (44 characters).

    Unlike tcllib (whose key is the clock second plus token state, so two
    parts built in the same second may share one) the key also carries
    random bytes, so nested multiparts never collide (RFC 2046 §5.1.1).
    """
    import hashlib  # here: loading OpenSSL's libcrypto costs ~3 ms and 4 MB at start-up

    key = ("%d%s%s" % (time.time_ns(), seed, tcl_hostname())).encode("utf-8", "replace")
    key += os.urandom(16)
    digest = hashlib.md5(key).hexdigest().upper().encode("ascii")
    return "----- =_" + base64.b64encode(digest).decode("ascii")
