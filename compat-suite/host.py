"""The host Tcl (the one this Python's tkinter links) and the tcllib that is
the behaviour oracle on it.  The test side's one place for Tcl-version facts.

* Tcl 8.6 host: tcllib **1.21** (Debian's ``tcllib`` package, installed by
  ``scripts/install-test-deps``) in the system ``tclsh``, with ``tcl-tls``.
* Tcl 9 host: tcllib **2.0** (Debian trixie's, fetched by :mod:`fetch` and
  cached) in the ``tclsh9.x`` installed beside the Tcl library tkinter
  links.  No ``tls`` package for Tcl 9 is to be had from the archive, so
  scenarios that need TLS on the oracle side use the Tcl 8.6 oracle
  (:func:`tls_oracle`): tcllib 2.0's smtp differs from 1.21's only in its
  ``package require Tcl`` line and version number.

Environment: ``PYSMTP_ORACLE_TCLSH`` overrides the tclsh found for the host.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent


def _fetch_module():
    name = "pysmtp_compat_fetch"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "fetch.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@functools.lru_cache(maxsize=None)
def _probe() -> tuple:
    import tkinter

    t = tkinter.Tcl()
    level = t.eval("info patchlevel")
    auto_path = [str(p) for p in t.tk.splitlist(t.eval("set auto_path"))]
    return level, tuple(auto_path)


def tcl_patchlevel() -> str:
    """The host Tcl's patchlevel (``"8.6.13"``, ``"9.0.4"``)."""
    return _probe()[0]


def tcl_major() -> int:
    """The host Tcl's major version (8 or 9)."""
    return int(tcl_patchlevel().split(".")[0])


def tcl9() -> bool:
    """True on a Tcl 9 host."""
    return tcl_major() >= 9


@dataclass(frozen=True)
class Oracle:
    """Real tcllib on one Tcl: how to run it and what it provides.

    :ivar tcllib: tcllib's version (``"1.21"``, ``"2.0"``).
    :ivar mime: the ``mime`` package version it provides.
    :ivar smtp: the ``smtp`` package version it provides.
    :ivar tclsh: path of a tclsh of that Tcl.
    :ivar auto_path: directories to put first on ``auto_path`` so that Tcl
        finds this tcllib (empty: it is on the default path).
    :ivar tls: True if ``package require tls`` works in that tclsh.
    :ivar library: the directory holding tcllib's modules (``<library>/smtpd/``).
    :ivar smtpd: the ``smtpd`` package version it provides.
    """

    tcllib: str
    mime: str
    smtp: str
    tclsh: str
    auto_path: tuple = ()
    tls: bool = False
    library: str = "/usr/share/tcltk/tcllib1.21"
    smtpd: str = "1.5"

    def command(self) -> List[str]:
        """argv prefix to run a script with this tcllib (add a file or
        feed stdin)."""
        return [self.tclsh]

    def environ(self, base: Optional[dict] = None) -> dict:
        """``base`` (default ``os.environ``) with ``TCLLIBPATH`` set so the
        tclsh finds this tcllib first (removed when it needs none)."""
        e = dict(os.environ if base is None else base)
        e.pop("TCLLIBPATH", None)
        if self.auto_path:
            e["TCLLIBPATH"] = self.tcllibpath()
        return e

    def tcllibpath(self) -> str:
        """``TCLLIBPATH`` value (a Tcl list) naming :attr:`auto_path`."""
        return " ".join(_tcl_word(p) for p in self.auto_path)

    def load_into(self, tcl) -> None:
        """Make this tcllib the one ``package require`` finds in ``tcl`` (a
        ``tkinter.Tcl()`` of the host Tcl)."""
        for d in reversed(self.auto_path):
            tcl.tk.call("set", "::auto_path", (d,) + tuple(
                tcl.tk.splitlist(tcl.tk.call("set", "::auto_path"))))


def _tcl_word(s: str) -> str:
    return "".join("\\" + c if c in ' \t\\"$[]{};' else c for c in s)


def _host_tclsh() -> str:
    """A tclsh of the Tcl that tkinter links."""
    override = os.environ.get("PYSMTP_ORACLE_TCLSH")
    return override or host_program("tclsh")


@functools.lru_cache(maxsize=None)
def host_program(name: str) -> str:
    """``tclsh`` or ``wish`` of the Tcl that tkinter links: the system's
    on Tcl 8.6, ``tclsh9.0``/``wish9.0`` beside the Tcl 9 library."""
    level = tcl_patchlevel()
    major_minor = ".".join(level.split(".")[:2])
    if tcl_major() < 9:
        found = shutil.which(name) or shutil.which(name + major_minor)
        if not found:
            raise RuntimeError(f"{name} not found: apt-get install tcl tk tcllib tcl-tls")
        return found
    # Tcl 9 keeps its library in a zipfs; the install prefix shows in
    # auto_path (<prefix>/lib) and in the link flags Python was built with.
    libdirs = [p for p in _probe()[1] if not p.startswith("//zipfs:")]
    libdirs += re.findall(r"-L(\S+)", sysconfig.get_config_var("TCLTK_LIBS") or "")
    for lib in libdirs:
        exe = Path(lib).parent / "bin" / (name + major_minor)
        if exe.is_file() and os.access(exe, os.X_OK):
            return str(exe)
    raise RuntimeError(
        f"no {name}{major_minor} beside the Tcl {level} that tkinter links "
        f"(looked in {', '.join(str(Path(d).parent / 'bin') for d in libdirs)})"
    )


@functools.lru_cache(maxsize=None)
def oracle() -> Oracle:
    """The oracle for the host Tcl (fetches tcllib 2.0 on a Tcl 9 host;
    raises ``FetchError`` if it cannot be had)."""
    if tcl_major() < 9:
        return Oracle("1.21", "1.7.0", "1.5.1", _host_tclsh(), tls=True)
    tree = _fetch_module().fetch(release="2.0")
    modules = str(tree / "modules")
    return Oracle("2.0", "1.7.2", "1.5.2", _host_tclsh(), auto_path=(modules,), tls=False,
                  library=modules, smtpd="1.6")


@functools.lru_cache(maxsize=None)
def tcl86_oracle() -> Oracle:
    """tcllib 1.21 with tcl-tls in the system's Tcl 8.6 ``tclsh``."""
    exe = shutil.which("tclsh8.6") or shutil.which("tclsh")
    if not exe:
        raise RuntimeError("tclsh not found: apt-get install tcl tcllib tcl-tls")
    return Oracle("1.21", "1.7.0", "1.5.1", exe, tls=True)


def tls_oracle() -> Oracle:
    """The oracle for a scenario whose server speaks TLS: the host's when
    its tclsh has the ``tls`` package, else tcllib 1.21 on Tcl 8.6."""
    o = oracle()
    return o if o.tls else tcl86_oracle()


def check(o: Oracle) -> str:
    """Run ``package require smtp`` in ``o``'s tclsh; return a problem or ""."""
    try:
        p = subprocess.run(o.command(), input="puts [package require smtp]; puts [info patchlevel]",
                           capture_output=True, text=True, env=o.environ(), timeout=60)
    except OSError as exc:
        return f"{o.tclsh}: {exc}"
    lines = p.stdout.split()
    if not lines or lines[0] != o.smtp:
        return (f"tcllib {o.tcllib} (smtp {o.smtp}) not available to {o.tclsh}: "
                f"got {p.stdout!r} {p.stderr!r}")
    return ""
