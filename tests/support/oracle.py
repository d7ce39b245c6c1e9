"""The host Tcl and its tcllib oracle, for tests (``compat-suite/host.py``).

On a Tcl 8.6 host the oracle is Debian's tcllib 1.21, on the default
``auto_path`` of every Tcl 8.6 interpreter.  :func:`activate` gives a Tcl 9
host the same set-up with tcllib 2.0: ``TCLLIBPATH`` names its (fetched,
cached) tree, so every interpreter started afterwards (``tkinter.Tcl()`` in
this process, ``tclsh9.0`` and ``pysmtp-tclsh`` subprocesses) sees it as an
installed tcllib.
"""
from __future__ import annotations

import os
from pathlib import Path

from .modules import load_file

_HOST_PY = Path(__file__).resolve().parents[2] / "compat-suite" / "host.py"


host = load_file("pysmtp_compat_host", _HOST_PY)
tcl9 = host.tcl9
tcl_patchlevel = host.tcl_patchlevel


def oracle():
    """The host's :class:`Oracle` (tcllib 1.21 on 8.6, 2.0 on 9)."""
    return host.oracle()


def tls_oracle():
    """The oracle for scenarios whose server speaks TLS (see host.py)."""
    return host.tls_oracle()


def tclsh() -> str:
    """The host Tcl's tclsh (``tclsh`` on 8.6, ``tclsh9.0`` on 9)."""
    return host.oracle().tclsh


def program(name: str) -> str:
    """The host Tcl's ``tclsh`` or ``wish`` (``wish9.0`` on Tcl 9)."""
    return host.host_program(name)


def activate() -> None:
    """On a Tcl 9 host, put tcllib 2.0 on every later interpreter's
    ``auto_path`` (``TCLLIBPATH``).  Raises if it cannot be fetched."""
    if host.tcl9():
        os.environ["TCLLIBPATH"] = host.oracle().tcllibpath()
