"""Run a program with its stdin, stdout and stderr on a pseudo-terminal,
so that it sees a terminal (``isatty(0)``) as a user's shell gives it.

Terminal echo is off, so the transcript is exactly what the program wrote;
the input is written at once (the terminal hands it over a line per read,
as typing would) and ``^D`` in it is the terminal's end-of-file character.
"""
from __future__ import annotations

import os
import selectors
import subprocess
import termios
import time
from typing import List, Optional, Tuple


def run_on_pty(argv: List[str], text: str, env: Optional[dict] = None,
               timeout: float = 60) -> Tuple[str, int]:
    """:returns: ``(everything written to the terminal, exit status)``."""
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    out = b""
    try:
        os.write(master, text.replace("^D", "\x04").encode("utf-8"))
        end = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(master, selectors.EVENT_READ)
            while time.monotonic() < end:
                if not sel.select(max(0.0, end - time.monotonic())):
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every holder of the terminal is gone
                    break
                if not chunk:
                    break
                out += chunk
        status = proc.wait(timeout=max(1.0, end - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return out.decode("utf-8", "replace"), status
