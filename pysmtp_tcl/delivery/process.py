"""Running a helper program (``passwordeval`` commands, ``sendmail``)
without blocking the caller's event loop.

Every wait goes through the same :class:`~pysmtp_tcl.smtp.connection.Reactor`
the SMTP connection uses, so inside Tcl ``after`` timers, Tk and other file
events keep running while a token helper or the local MTA works (DESIGN.md
§1).  The child's exit is awaited through a pidfd where the kernel has them
(Linux >= 5.3); elsewhere by short polls.  Every run is bounded by a
deadline, after which the child is killed.

Children run as ``popen`` runs them (as msmtp runs its helpers): in the
caller's session and process group, so a helper can ask on the terminal
(``/dev/tty``: a pass phrase, a confirmation) and the terminal's interrupt
(Ctrl-C) reaches it with the script; a ``sendmail`` interrupted mid-message
discards it, where one that only saw its input end would queue it
truncated.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

from ..smtp.connection import Reactor

#: A message source: called with a sink, writes octets to it chunk by chunk.
Source = Callable[[Callable[[bytes], None]], None]

#: Most output read from a child's stdout (a token or password needs little).
MAX_OUTPUT = 1 << 20
#: Poll interval where no pidfd is available (seconds).
POLL = 0.02
#: How often a child's exit is checked while its output pipe stays open
#: (a process it left behind may hold it), and how often the input pipe is
#: checked for what the child has not read yet (seconds).
EXIT_CHECK = 0.05
DRAIN_CHECK = 0.01


class ProcessError(Exception):
    """The program could not be run (``message`` is Tcl's ``exec`` wording,
    e.g. ``couldn't execute "/x": no such file or directory``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProcessTimeout(ProcessError):
    """The deadline passed; the child was killed."""


class OutputTooLong(ProcessError):
    """It printed more than :data:`MAX_OUTPUT` octets (it was killed)."""


class SourceError(ProcessError):
    """The input could not be produced (e.g. a ``-file`` part vanished); the
    child was killed before it saw the end of its input, so it cannot take
    a truncated message.  ``cause``: the exception."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class Completed:
    """How a child ended.

    :ivar status: exit status (0-255), or ``-N`` when killed by signal N.
    :ivar stdout: what it wrote to stdout (empty unless captured).
    :ivar stderr: what it wrote to stderr (at most :data:`MAX_OUTPUT`).
    :ivar stdin_closed_early: it stopped reading its input before the end.
    """

    status: int
    stdout: bytes
    stderr: bytes
    stdin_closed_early: bool = False


class _Fd:
    """Something with ``fileno()`` for :meth:`Reactor.wait`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def run(args: Union[str, Sequence[str]], reactor: Reactor, timeout: float, *,
        stdin: Optional[Source] = None, capture_stdout: bool = False,
        env: Optional[dict] = None, capture_stderr: bool = True) -> Completed:
    """Run ``args`` (a list: no shell; a str: ``/bin/sh -c args``, as
    ``popen`` does) and wait for it, at most ``timeout`` seconds in all.

    :param stdin: writes the child's standard input (else ``/dev/null``).
    :param capture_stdout: read its standard output (else it is discarded).
    :param capture_stderr: keep what it writes to stderr (``Completed.stderr``);
        ``False``: it writes to the caller's stderr, as under ``popen``.
    :raises ProcessError: it could not be started.
    :raises ProcessTimeout: it took longer than ``timeout``.
    :raises SourceError: ``stdin`` failed (the child is killed first).
    """
    deadline = time.monotonic() + timeout
    shell = isinstance(args, str)
    argv = ["/bin/sh", "-c", args] if shell else list(args)
    try:
        err_file = tempfile.TemporaryFile() if capture_stderr else None
    except OSError as e:
        raise ProcessError("cannot make a file for the standard error of %s: %s" % (argv[0], _text(e))) from None
    try:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
                                    stderr=err_file, close_fds=True, env=env)
        except (OSError, ValueError) as e:  # ValueError: a NUL in an argument
            raise ProcessError('couldn\'t execute "%s": %s' % (argv[0], _text(e))) from None
        try:
            early = False
            if stdin is not None:
                assert proc.stdin is not None
                early = _feed(proc.stdin.fileno(), stdin, reactor, deadline)
                if not early:
                    early = not _read_all(proc.stdin.fileno(), proc, reactor, deadline)
                proc.stdin.close()
            out = b""
            if capture_stdout:
                assert proc.stdout is not None
                out = _drain(proc.stdout.fileno(), proc, reactor, deadline)
                proc.stdout.close()
            status = _wait_exit(proc, reactor, deadline)
        except BaseException:
            _kill(proc)
            raise
        err = b""
        if err_file is not None:
            err_file.seek(0)
            err = err_file.read(MAX_OUTPUT)
        return Completed(status, out, err, early)
    finally:
        if err_file is not None:
            err_file.close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProcessTimeout("timed out")
    return left


def _feed(fd: int, source: Source, reactor: Reactor, deadline: float) -> bool:
    """Write the source to ``fd``; True when the child closed it early."""
    os.set_blocking(fd, False)
    closed = False

    class _Closed(Exception):
        pass

    def sink(chunk: bytes) -> None:
        nonlocal closed
        view = memoryview(chunk)
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
            except BlockingIOError:
                if not reactor.wait(_Fd(fd), True, _remaining(deadline)):  # type: ignore[arg-type]
                    raise ProcessTimeout("timed out")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                raise _Closed()

    try:
        source(sink)
    except _Closed:
        pass
    except ProcessError:
        raise
    except Exception as e:
        raise SourceError(e) from None
    return closed


def _read_all(fd: int, proc: subprocess.Popen, reactor: Reactor, deadline: float) -> bool:
    """After the whole input is written to the pipe ``fd`` (but before it
    is closed): wait until the child has read all of it (True) or has
    exited without doing so (False).  A program that exits 0 without
    reading its input (``/bin/true``) has not taken the message; without
    this check, whether that is noticed depends on a race (a broken pipe
    only when it is gone before the pipe buffer is written).

    Needs ``FIONREAD`` on a pipe's write end and a pidfd (Linux); elsewhere
    it answers True at once (the race stays).
    """
    if _unread(fd) in (None, 0):
        return True
    pidfd = _pidfd(proc)
    if pidfd is None:
        return True
    try:
        while True:
            if proc.poll() is not None:
                return _unread(fd) == 0
            reactor.wait(_Fd(pidfd), False, min(_remaining(deadline), DRAIN_CHECK))  # type: ignore[arg-type]
            if _unread(fd) == 0:
                return True
    finally:
        os.close(pidfd)


def _unread(fd: int) -> Optional[int]:
    """Octets written to the pipe ``fd`` and not read yet (``None``: the
    platform cannot tell)."""
    import array
    import fcntl
    import termios

    buf = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, buf)
    except OSError:
        return None
    return buf[0]


def _pidfd(proc: subprocess.Popen) -> Optional[int]:
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(proc.pid)
    except OSError:
        return None


def _drain(fd: int, proc: subprocess.Popen, reactor: Reactor, deadline: float) -> bytes:
    """Read the child's output until it closes it or the child exits.

    As msmtp's ``popen``/``pclose`` (which read one line and then wait for
    the shell only): once the child has exited, what is in the pipe is
    taken and a process it left behind holding the pipe open (an agent it
    started, ``cmd &``) is not waited for.

    :raises OutputTooLong: more than :data:`MAX_OUTPUT` octets.
    """
    os.set_blocking(fd, False)
    out = bytearray()
    exited = False
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            if exited:
                return bytes(out)
            reactor.wait(_Fd(fd), False, min(_remaining(deadline), EXIT_CHECK))  # type: ignore[arg-type]
            # read once more after the exit: everything the child wrote is in the pipe by then
            exited = proc.poll() is not None
            continue
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) > MAX_OUTPUT:
            raise OutputTooLong("printed more than %d octets" % MAX_OUTPUT)


def _wait_exit(proc: subprocess.Popen, reactor: Reactor, deadline: float) -> int:
    pidfd = _pidfd(proc) if proc.returncode is None else None
    try:
        while proc.poll() is None:
            left = _remaining(deadline)
            if pidfd is not None:
                reactor.wait(_Fd(pidfd), False, left)  # type: ignore[arg-type]
            else:
                time.sleep(min(POLL, left))
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return proc.returncode


def _kill(proc: subprocess.Popen) -> None:
    # The child only: its process group is the caller's.  A shell's own
    # children lose their way to report back (the pipes close).
    try:
        proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
    proc.wait()


def _text(e: OSError) -> str:
    text = e.strerror or str(e)
    return text[:1].lower() + text[1:]
