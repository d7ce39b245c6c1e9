"""A private X server (Xvfb) for Tk tests, and a process whose output lines
can be waited for.

Xvfb picks a free display itself (``-displayfd``) and is stopped by PID.
When it cannot be started the tests are skipped, except where a full run is
required (``CI`` or ``PYSMTP_TCL_REQUIRE_X`` set, as ``scripts/test-all``
does): there a missing X server is a failure, never a silent skip.
"""
from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import time
from typing import List, Optional

import pytest


def unavailable(why: str) -> None:
    """Skip, or fail where the environment promises everything."""
    if os.environ.get("CI") or os.environ.get("PYSMTP_TCL_REQUIRE_X"):
        pytest.fail(why + " (a full run needs it: scripts/install-test-deps installs xvfb xdotool tk)")
    pytest.skip(why)


class Xvfb:
    """``Xvfb -displayfd``: :attr:`display` is ``":N"`` once it is ready."""

    def __init__(self, timeout: float = 60) -> None:
        if shutil.which("Xvfb") is None:
            unavailable("Xvfb not installed")
        rfd, wfd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
            pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(wfd)
        number = b""
        sel = selectors.DefaultSelector()
        sel.register(rfd, selectors.EVENT_READ)
        end = time.monotonic() + timeout
        while not number.endswith(b"\n") and time.monotonic() < end:
            if sel.select(max(0.0, end - time.monotonic())):
                chunk = os.read(rfd, 64)
                if not chunk:
                    break
                number += chunk
        sel.close()
        os.close(rfd)
        if not number.strip().isdigit():
            err = self.stop()
            unavailable("Xvfb did not start: %s" % err.strip()[-300:])
        self.display = ":" + number.strip().decode()

    def stop(self) -> str:
        """Stop the server (by its PID); returns what it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return (err or b"").decode(errors="replace")


class LineProcess:
    """A child process whose stdout lines the test waits for."""

    def __init__(self, argv: List[str], env: dict, stdin: Optional[int] = subprocess.DEVNULL,
                 cwd: Optional[str] = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)
        self._buf = b""
        self.lines: List[str] = []

    def _fill(self, timeout: float) -> bool:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                return True
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self._buf += chunk
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            self.lines.append(line.decode("utf-8", "replace"))
        return True

    def wait_line(self, prefix: str, timeout: float = 60) -> str:
        """The first stdout line starting with ``prefix`` (waiting for it)."""
        end = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if line.startswith(prefix):
                    self.lines.remove(line)
                    return line
            left = end - time.monotonic()
            if left <= 0 or not self._fill(left):
                raise AssertionError("no line %r from %s; got %r, stderr %r" % (
                    prefix, self.proc.args, self.lines, self.stderr_now()))

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.kill()

    def stderr_now(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(running)"
        return self.proc.stderr.read().decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def close_window(display: str, window: str) -> None:
    """What a window manager does when the user closes a window (ICCCM
    §4.2.8.1): a ``WM_PROTOCOLS`` ClientMessage naming ``WM_DELETE_WINDOW``
    sent to the client's top-level window.  Xvfb runs no window manager and
    xdotool 3.2016 cannot send it, so libX11 is called directly.

    :param window: the X id of the top-level (Tk: ``wm frame .``).
    """
    import ctypes

    xlib = ctypes.CDLL("libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                ctypes.c_void_p]
    xlib.XFlush.argtypes = [ctypes.c_void_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                    ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                    ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    dpy = xlib.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError("cannot open display %s" % display)
    try:
        ev = XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = int(window, 0)
        ev.xclient.message_type = xlib.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.data[0] = xlib.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        ev.xclient.data[1] = 0  # CurrentTime
        if not xlib.XSendEvent(dpy, int(window, 0), 0, 0, ctypes.byref(ev)):
            raise RuntimeError("XSendEvent failed")
        xlib.XFlush(dpy)
    finally:
        xlib.XCloseDisplay(dpy)
