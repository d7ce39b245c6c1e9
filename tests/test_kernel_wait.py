"""Plain sockets may wait briefly in the kernel (SO_RCVTIMEO/SO_SNDTIMEO,
``Reactor.kernel_wait``) before Tcl's event loop: what a break-it pass
found.  A server that drips a reply, or drains a message steadily, keeps
every such call returning data before its time-out; the event loop
(``after`` timers) and ``-maxsecs`` must still get their turn, as with
non-blocking sockets.  Real sockets on 127.0.0.1; every wait is bounded by
an event (the servers drip until the client has moved on)."""
from __future__ import annotations

import socket
import threading
import time

from support.hostile import HostileServer


def _drip_forever(stop: threading.Event):
    """A greeting that never ends: continuation lines, one octet at a time,
    each well within the kernel wait (so no call times out)."""

    def handler(conn):
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while not stop.is_set():
            for octet in b"220-dripping\r\n":
                conn.sock.sendall(bytes([octet]))  # OSError when the client has gone
                time.sleep(0.0005)

    return handler


def test_a_dripped_reply_lets_timers_run_and_maxsecs_end_it(interp):
    stop = threading.Event()
    server = HostileServer(_drip_forever(stop))
    try:
        out = interp.eval("""
            set ::order {}
            after 50 {lappend ::order timer}
            set tok [mime::initialize -canonical text/plain -string hi]
            set rc [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -maxsecs 1 \
                -originator a@example.com -recipients r@example.org} m]
            lappend ::order sent
            list $rc $m $::order""" % server.port)
    finally:
        stop.set()
        server.stop()
    rc, msg, order = interp.tcl.tk.splitlist(out)
    # -maxsecs bounds the greeting (before9: the same); without the kernel
    # budget the drip went on until 1000 continuation lines (~10 s).
    assert (rc, msg) == ("1", "read from server timed out")
    # the timer ran during the wait, not after it
    assert interp.tcl.tk.splitlist(order) == ("timer", "sent")
    assert not server.errors


def test_a_steadily_drained_message_lets_timers_run_during_data(interp):
    """The server reads the message steadily but slowly (64 KiB every
    2 ms) until a Tcl timer has fired (it connects to ``sentinel``), then
    at full speed: the timer must fire early in the write."""
    sentinel = socket.socket()
    sentinel.bind(("127.0.0.1", 0))
    sentinel.listen(1)
    fired = threading.Event()
    seen = {}

    def watch():
        try:
            c, _ = sentinel.accept()
            c.close()
            fired.set()
        except OSError:
            pass

    def handler(conn):
        conn.send("220 steady ESMTP")
        while True:
            verb = conn.line()[:4].upper()
            if verb == "DATA":
                conn.send("354 go")
                break
            conn.send("221 bye" if verb == "QUIT" else "250 ok")
            if verb == "QUIT":
                return
        s, tail, total = conn.sock, conn._buf, 0
        while True:
            if not fired.is_set():
                time.sleep(0.002)  # well within the kernel wait: each send call makes progress
            chunk = s.recv(65536)
            if not chunk:
                return
            total += len(chunk)
            if fired.is_set() and "at_timer" not in seen:
                seen["at_timer"] = total
            tail = (tail + chunk)[-5:]
            if tail == b"\r\n.\r\n":
                break
        seen["octets"] = total
        conn.send("250 queued")
        while conn.line()[:4].upper() != "QUIT":
            conn.send("250 ok")
        conn.send("221 bye")

    threading.Thread(target=watch, daemon=True).start()
    server = HostileServer(handler)
    try:
        out = interp.eval("""
            set tok [mime::initialize -canonical text/plain \
                -string [string repeat [string repeat x 63]\\n [expr {24 * 16384}]]]
            after 20 {close [socket 127.0.0.1 %d]}
            list [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d \
                -originator a@example.com -recipients r@example.org} m] $m""" % (
            sentinel.getsockname()[1], server.port))
    finally:
        fired.set()
        sentinel.close()
        server.stop()
    assert interp.tcl.tk.splitlist(out) == ("0", "")
    total_octets = 24 * 1024 * 1024
    assert seen["octets"] > total_octets
    # Due after 20 ms, when the server has read at most ~1 MB: without the
    # kernel budget it fired only near the end (13 of 17 MB read), when a
    # send call happened to fail with EAGAIN.  (Half the message: reading
    # that much at the slow pace takes the server 0.4 s.)
    assert seen.get("at_timer", total_octets) < seen["octets"] // 2, seen
    assert not server.errors
