"""The SMTP client's socket: connect, (implicit or STARTTLS) TLS, lines out
and in.  The only module of the core that touches sockets.

It never blocks the thread on I/O for long: every wait goes through a
:class:`Reactor`, so the Tcl bridge can wait inside Tcl's event loop (as
tcllib's ``vwait`` does: ``after`` timers, Tk and other file events keep
running) while pure-Python users wait in :class:`SelectorReactor`.  A
reactor may let a plain TCP socket's calls block briefly in the kernel
first (:attr:`Reactor.kernel_wait`): a reply that comes within that time
costs one ``recv`` instead of ``recv`` (EAGAIN), ``select``, ``recv``.
"""
from __future__ import annotations

import _socket
import errno
import functools
import os
import select
import selectors
import socket
import struct
import sys
import time

from .replies import MAX_LINE, Reply, take_reply

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    import ssl
    from typing import Optional, Protocol, Tuple
else:  # a plain base class at run time (nothing checks it there)
    Protocol = object


class _TLSNotLoaded(Exception):
    """Never raised: stands for ssl's "want read/write" exceptions until
    TLS is first used.  ``import ssl`` costs ~4 ms and 5 MB (libssl) at
    start-up, and a plain socket cannot raise them."""


_WantRead: type = _TLSNotLoaded
_WantWrite: type = _TLSNotLoaded


def _load_ssl():
    global _WantRead, _WantWrite
    import ssl

    _WantRead, _WantWrite = ssl.SSLWantReadError, ssl.SSLWantWriteError
    return ssl


class Reactor(Protocol):
    """Something that can wait for a socket.

    :ivar kernel_wait: optional (seconds, < 1): a connected plain TCP
        socket is then made blocking, each ``recv``/``send`` blocking at
        most this long in the kernel (``SO_RCVTIMEO``/``SO_SNDTIMEO``)
        before it fails with EAGAIN and the reactor is asked to wait.  The
        reactor must be content to get control back that much later.
        Absent or ``None``: sockets stay non-blocking.
    :ivar kernel_budget: optional (seconds; default 0.010): how long after
        the reactor's last turn (or the connect) such calls may still block
        in the kernel.  A server that drips a reply, or drains a message
        steadily, keeps each call returning data before its time-out (no
        EAGAIN): without the budget neither the reactor (Tcl's event loop)
        nor the caller's deadline (``-maxsecs``) would be consulted until
        the reply or the write ended.  Once it is spent, calls do not wait
        in the kernel (``MSG_DONTWAIT``) until the reactor has waited once.
    """

    def wait(self, sock: socket.socket, writable: bool, timeout: Optional[float]) -> bool:
        """Wait until ``sock`` is readable (or writable); ``timeout`` in
        seconds, ``None`` for no limit.  True if ready, False on timeout."""
        ...


class SelectorReactor:
    """A :class:`Reactor` for plain Python: one ``selectors`` wait per call."""

    def wait(self, sock: socket.socket, writable: bool, timeout: Optional[float]) -> bool:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_WRITE if writable else selectors.EVENT_READ)
            return bool(sel.select(timeout))


class SMTPIOError(OSError):
    """An I/O failure, with the text tcllib's ``smtp`` reports for it.

    :ivar timeout: True when it is a time-out.
    :ivar direct: True when Tcl's ``socket`` command itself would have
        failed (bad name or port), rather than the asynchronous connect.
    :ivar errorcode: the ``-errorcode`` Tcl gives such a direct failure
        (``None``: ``NONE``).
    """

    def __init__(self, message: str, errno_: Optional[int] = None, timeout: bool = False,
                 direct: bool = False, errorcode: Optional[Tuple[str, ...]] = None):
        super().__init__(errno_, message)
        self.message = message
        self.timeout = timeout
        self.direct = direct
        self.errorcode = errorcode  # Tcl's -errorcode for a direct failure, if not NONE

    def __str__(self) -> str:
        return self.message


READ_TIMEOUT = "read from server timed out"
#: Tcl 8.6's text for ENOTCONN (``Tcl_ErrnoMsg``), in tcllib's connect error.
NOT_CONNECTED = "socket is not connected"
PREMATURE_EOF = "premature end-of-file from server"
LINE_TOO_LONG = "reply line longer than %d octets" % MAX_LINE


class Connection:
    """One client connection.

    :param reactor: how to wait for the socket.
    :param name: a channel-like name used in error texts (tcllib reports
        e.g. ``error reading "sock55d0…": socket is not connected``).
    :param not_connected: the host Tcl's text for ``ENOTCONN`` (Tcl 9 says
        ``transport endpoint is not connected``).
    """

    # What every connection starts with: class defaults (an assignment
    # makes an instance's own), fewer stores per connection.
    sock: Optional[socket.socket] = None
    tls = False
    _eof = False
    #: (socket, poll object watching it): poll_input asks it first
    _poller: Optional[Tuple[socket.socket, "select.poll"]] = None
    #: a plain socket's calls may block in the kernel until this many
    #: seconds (Reactor.kernel_budget) after _turn_at, the reactor's
    #: last turn (time.monotonic()); then they are made with _dontwait's
    #: flags.  0 for a non-blocking (or TLS) socket: no flags, no clock.
    _budget = 0.0
    _turn_at = 0.0
    _dontwait = 0

    def __init__(self, reactor: Reactor, name: str = "",
                 not_connected: str = NOT_CONNECTED) -> None:
        self.reactor = reactor
        self.not_connected = not_connected
        self._name = name
        self._buf = bytearray()

    @property
    def name(self) -> str:
        """The channel-like name of error texts (made when one is needed)."""
        return self._name or "sock%x" % (id(self) & 0xFFFFFFFFFFFF)

    # -- connecting -------------------------------------------------------
    def connect(self, host: str, port: int, timeout: Optional[float]) -> None:
        """Open a TCP connection (non-blocking, waiting via the reactor).

        :raises SMTPIOError: ``couldn't open socket: …`` when the name does
            not resolve (as Tcl's ``socket`` says), or ``error reading
            "sockN": socket is not connected`` when no address accepts, as
            tcllib reports an asynchronous connect failure.
        """
        infos = _literal_address(host, port)  # an IP address: nothing to resolve
        if infos is None:
            infos = _resolve(host, port)
        last: Optional[int] = None
        deadline = None if timeout is None else time.monotonic() + timeout
        for family, type_, proto, _, addr in infos:
            # created non-blocking (no second system call to make it so);
            # the C socket type: socket.socket's Python layer adds only
            # makefile() bookkeeping, which nothing here uses (ssl wraps
            # either kind)
            sock = _socket.socket(family, type_ | _NONBLOCK, proto)
            if not _NONBLOCK:
                sock.setblocking(False)
            try:
                sock.connect(addr)
                connected = True
            except BlockingIOError:
                connected = _established(sock)
            except OSError as e:
                last = e.errno
                sock.close()
                continue
            if not connected:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self.reactor.wait(sock, True, remaining):
                    sock.close()
                    raise SMTPIOError(READ_TIMEOUT, timeout=True)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    last = err
                    sock.close()
                    continue
            # Commands are written whole; never let Nagle hold one back
            # waiting for an ACK (tcllib's 40 ms stall per message).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            kernel_wait = getattr(self.reactor, "kernel_wait", None)
            if kernel_wait and _KERNEL_WAIT:
                _block_at_most(sock, kernel_wait)
                self._budget = getattr(self.reactor, "kernel_budget", None) or KERNEL_BUDGET
                self._dontwait = socket.MSG_DONTWAIT
                self._turn_at = time.monotonic()
            self.sock = sock
            return
        raise SMTPIOError('error reading "%s": %s' % (self.name, self.not_connected),
                          last or errno.ENOTCONN)

    def start_tls(self, context: ssl.SSLContext, server_hostname: Optional[str], timeout: Optional[float],
                  fingerprint: Optional[Tuple[str, bytes]] = None) -> None:
        """Wrap the socket in TLS and complete the handshake.

        Bytes the server sent before the handshake (STARTTLS response
        injection, CVE-2011-0411 kind) are discarded.

        :param fingerprint: ``(hashlib name, digest)``: the server's
            certificate (DER) must have exactly this digest (pinning, as
            msmtp's ``tls_fingerprint``; ``context`` then need not verify).
        :raises SMTPIOError: handshake failure, fingerprint mismatch or
            time-out.
        """
        assert self.sock is not None
        ssl = _load_ssl()
        self._buf.clear()
        # A blocking SSL socket retries a read or write that its socket's
        # time-out cut short, inside ssl, for ever: TLS stays non-blocking.
        self.sock.setblocking(False)
        self._budget = 0.0
        self._dontwait = 0  # (an SSL socket refuses flags)
        # The name is always given: ssl sends it as SNI only when it is a host
        # name, and checks it against an IP certificate entry otherwise.
        tls = context.wrap_socket(self.sock, server_hostname=server_hostname or None,
                                  do_handshake_on_connect=False)
        self.sock = tls
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._wait(False, deadline, "TLS handshake timed out")
            except ssl.SSLWantWriteError:
                self._wait(True, deadline, "TLS handshake timed out")
            except ssl.SSLCertVerificationError as e:
                raise SMTPIOError("TLS handshake failed: certificate verify failed: %s"
                                  % (e.verify_message or e.reason), e.errno) from None
            except (ssl.SSLError, OSError) as e:
                raise SMTPIOError("TLS handshake failed: %s" % (getattr(e, "reason", None) or e),
                                  getattr(e, "errno", None)) from None
        if fingerprint is not None:
            from .tls import fingerprint_text, matches

            der = tls.getpeercert(binary_form=True) or b""
            if not matches(der, fingerprint):
                raise SMTPIOError("TLS handshake failed: the certificate fingerprint does not match "
                                  "(the server's %s fingerprint is %s)"
                                  % (fingerprint[0].upper(), fingerprint_text(der, fingerprint[0])))
        self.tls = True

    # -- I/O ----------------------------------------------------------------
    def _wait(self, writable: bool, deadline: Optional[float], what: str = READ_TIMEOUT) -> None:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        assert self.sock is not None
        ready = self.reactor.wait(self.sock, writable, remaining)
        self._turn_at = time.monotonic()  # the reactor had its turn
        if not ready:
            raise SMTPIOError(what, timeout=True)

    def send(self, data: bytes, timeout: Optional[float]) -> None:
        """Write all of ``data``; ``timeout`` (seconds) bounds the whole write.

        :raises SMTPIOError: on a write error or time-out.
        """
        if self.sock is None:
            raise SMTPIOError('can not find channel named "%s"' % self.name)
        flags = 0
        if self._budget and time.monotonic() - self._turn_at > self._budget:
            flags = self._dontwait  # the reactor's turn is due: no wait in the kernel
        try:
            n = self.sock.send(data, flags)
        except (BlockingIOError, _WantWrite, _WantRead):
            n = 0  # (the loop below finds out what to wait for)
        except OSError as e:
            raise SMTPIOError('error writing "%s": %s' % (self.name, _posix_text(e)), e.errno) from None
        if n == len(data):
            return  # the usual case: all of it went at once (a command, a small message)
        view = memoryview(data)[n:]
        deadline = None if timeout is None else time.monotonic() + timeout
        while view:
            flags = 0
            if self._budget and time.monotonic() - self._turn_at > self._budget:
                flags = self._dontwait
            try:
                n = self.sock.send(view, flags)
                view = view[n:]
            except (BlockingIOError, _WantWrite):
                self._wait(True, deadline, "write to server timed out")
            except _WantRead:
                self._wait(False, deadline, "write to server timed out")
            except OSError as e:
                raise SMTPIOError('error writing "%s": %s' % (self.name, _posix_text(e)), e.errno) from None

    def next_line(self) -> Optional[str]:
        """A complete line already received (as :meth:`read_line` returns
        it), or ``None``: never waits, never reads the socket.

        :raises SMTPIOError: the line is longer than
            :data:`~.replies.MAX_LINE` octets (the cap holds whether or not
            the line's end came in the same read, which takes up to 64 KiB:
            no reply line, complete or not, is held beyond it)."""
        i = self._buf.find(b"\n")
        if i < 0:
            return None
        if i > MAX_LINE:
            raise SMTPIOError(LINE_TOO_LONG)
        raw = bytes(self._buf[:i])
        del self._buf[: i + 1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw.decode("latin-1")

    def has_line(self) -> bool:
        """Whether a complete line has been received and not read."""
        return b"\n" in self._buf

    def take_reply(self) -> Optional[Reply]:
        """A whole reply already received, of the usual shape
        (:func:`~.replies.parse_reply`), or ``None``: never waits, never
        reads the socket."""
        return take_reply(self._buf) if self._buf else None

    def read_line(self, timeout: Optional[float]) -> str:
        """Next line from the server without its line end, as tcllib reads
        it (binary channel: each octet one char).

        :param timeout: seconds to wait for the line (tcllib waits per line).
        :raises SMTPIOError: time-out (``read from server timed out``), EOF
            (``premature end-of-file from server``), read error, or a line
            longer than :data:`~.replies.MAX_LINE` octets.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            line = self.next_line()
            if line is not None:
                return line
            self.fill(deadline)

    def fill(self, deadline: Optional[float]) -> None:
        """Receive what the server sent, waiting until ``deadline``
        (``time.monotonic()`` seconds; ``None``: no limit) when nothing has
        come yet; may return having received nothing (call again).

        :raises SMTPIOError: as :meth:`read_line` (a line longer than
            :data:`~.replies.MAX_LINE` octets: when this much is buffered
            without a line end).
        """
        if len(self._buf) > MAX_LINE:
            raise SMTPIOError(LINE_TOO_LONG)
        if self._eof:
            raise SMTPIOError(PREMATURE_EOF)
        if self.sock is None:
            raise SMTPIOError('can not find channel named "%s"' % self.name)
        flags = 0
        if self._budget and time.monotonic() - self._turn_at > self._budget:
            flags = self._dontwait  # the reactor's turn is due: no wait in the kernel
        try:
            chunk = self.sock.recv(65536, flags)
        except (BlockingIOError, _WantRead):
            self._wait(False, deadline)
            return
        except _WantWrite:
            self._wait(True, deadline)
            return
        except OSError as e:
            raise SMTPIOError('error reading "%s": %s' % (self.name, _posix_text(e)), e.errno) from None
        if not chunk:
            raise SMTPIOError(PREMATURE_EOF)
        self._buf += chunk

    def poll_input(self, data_only: bool = False) -> bool:
        """Take in whatever the server has sent, without waiting.

        :param data_only: count only octets, not an end-of-file.
        :returns: True when unread input (or, unless ``data_only``,
            end-of-file) is waiting: before the final dot that means the
            server replied early; after a reply, that it sent more than one.
        """
        if self._buf or (self._eof and not data_only):
            return True
        sock = self.sock
        if sock is None:
            return False
        if not self.tls and _HAS_POLL:
            # Nothing readable (no data, EOF or error): what recv would
            # say with EAGAIN, without the exception (the usual answer: a
            # reply-free check per message).  Over TLS, decrypted octets
            # may wait inside the SSL object: recv asks it.
            poller = self._poller
            if poller is None or poller[0] is not sock:
                poll = select.poll()
                poll.register(sock, select.POLLIN)
                poller = self._poller = (sock, poll)
            if not poller[1].poll(0):
                return False
        try:
            chunk = sock.recv(65536)
        except (BlockingIOError, InterruptedError, _WantRead, _WantWrite):
            return False  # nothing (or only TLS housekeeping) arrived
        except OSError:
            return not data_only  # let the reader report the error
        if not chunk:
            self._eof = True
            return not data_only
        self._buf += chunk
        return True

    def peer_is_loopback(self) -> bool:
        """Whether the server's address is a loopback address."""
        import ipaddress

        if self.sock is None:
            return False
        try:
            host = self.sock.getpeername()[0]
            return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self._poller = None
                self._buf.clear()


def _resolve(host: str, port: int) -> list:
    """``getaddrinfo`` for TCP, failing as Tcl's ``socket`` does."""
    try:
        try:
            # an ASCII name as octets: Python's (slow) IDNA codec adds
            # nothing for it, and a name it would refuse goes on below
            return socket.getaddrinfo(host.encode("ascii") if host.isascii() else host, port, 0,
                                      socket.SOCK_STREAM)
        except (UnicodeError, ValueError):
            # A name Python's IDNA codec refuses (a control character,
            # U+2028, an over-long label, NUL): hand the resolver the
            # octets Tcl's socket would (UTF-8, NUL as C0 80), so the
            # error is the resolver's, as in Tcl, never Python's text.
            return socket.getaddrinfo(host.encode("utf-8", "surrogatepass").replace(b"\0", b"\xc0\x80"),
                                      port, 0, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise SMTPIOError("couldn't open socket: " + (e.strerror or str(e)), e.errno,
                          direct=True) from None
    except (UnicodeError, OverflowError, TypeError, ValueError):
        raise SMTPIOError("couldn't open socket: Name or service not known", direct=True) from None


#: select.poll exists (not on Windows)
_HAS_POLL = hasattr(select, "poll")

#: socket type flag: create the socket non-blocking (Linux); 0 elsewhere
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)

#: Reactor.kernel_budget's default (seconds)
KERNEL_BUDGET = 0.010

#: Linux with a 64-bit ``struct timeval`` of two longs: SO_RCVTIMEO and
#: SO_SNDTIMEO bound a blocking call, which then fails with EAGAIN
#: (socket(7)); elsewhere sockets stay non-blocking.
_KERNEL_WAIT = sys.platform.startswith("linux") and struct.calcsize("@l") == 8


def _established(sock: socket.socket) -> bool:
    """Whether a non-blocking connect that said EINPROGRESS is complete
    already, as it usually is to a loopback address (the handshake runs
    before ``connect`` returns): one ``getpeername`` instead of a wait and
    ``SO_ERROR``.  False: still in progress, or failed (the wait and
    ``SO_ERROR`` tell which)."""
    try:
        sock.getpeername()
        return True
    except OSError:
        return False


def _block_at_most(sock: socket.socket, seconds: float) -> None:
    """Make the connected ``sock`` blocking, each ``recv``/``send``
    blocking at most ``seconds`` (< 1) in the kernel: after that it fails
    with EAGAIN (``BlockingIOError``; CPython does not retry a blocking
    socket's EAGAIN) and a partial ``send`` returns its count, as a
    non-blocking socket's calls do after a wait."""
    tv = _timeval(seconds)
    sock.setblocking(True)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


@functools.lru_cache(maxsize=8)
def _timeval(seconds: float) -> bytes:
    return struct.pack("@ll", 0, min(999999, max(1, int(seconds * 1e6))))


@functools.lru_cache(maxsize=64)  # pure; a script sends to the same servers again and again
def _literal_address(host: str, port: int) -> Optional[tuple]:
    """What ``getaddrinfo(host, port, 0, SOCK_STREAM)`` returns for an IPv4
    or IPv6 address in its standard text form (``127.0.0.1``, ``::1``),
    as a tuple, without calling the resolver; ``None`` for anything else
    (names, scoped or abbreviated forms such as ``127.1``, which the
    resolver reads its own way)."""
    if not host or not host.isascii():
        return None
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        if not 0 <= port <= 65535:
            return None
        addr = (host, port) if family == socket.AF_INET else (host, port, 0, 0)
        return ((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr),)
    return None


def _posix_text(e: OSError) -> str:
    """Tcl's wording for an errno: strerror, first letter lower-cased."""
    text = os.strerror(e.errno) if e.errno else str(e)
    return text[:1].lower() + text[1:]
