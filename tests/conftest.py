"""Shared fixtures: interpreters with our packages, real SMTP servers on
127.0.0.1 (scripted and aiosmtpd), trustme certificates, the launcher, and
real tcllib as the oracle."""
from __future__ import annotations

import gc
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import oracle  # noqa: E402
from support.aio import AioServer  # noqa: E402
from support.scripted import ScriptedServer  # noqa: E402

# Property tests in the landing gate are deterministic: "gate" (the
# default) derives each test's examples from its own code (derandomize), and
# reads and writes no example database, so a fresh clone, CI and a
# developer's machine run the same examples with the pinned hypothesis
# (scripts/ci-constraints.txt); the inputs that once failed are explicit
# @example()s next to their tests.  "random" is for the longer random run
# outside the gate (scripts/test-random): fresh examples each time, failures
# remembered in .hypothesis/ and printed with a reproduction blob.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("gate", derandomize=True, database=None, print_blob=True)
_hyp_settings.register_profile("random", derandomize=False, print_blob=True)
_hyp_settings.load_profile(os.environ.get("PYSMTP_TCL_HYPOTHESIS_PROFILE", "gate"))

# A Tcl 9 host gets tcllib 2.0 where a Debian Tcl 8.6 host has tcllib 1.21:
# on every interpreter's auto_path (fetched once; fails loudly if it cannot).
oracle.activate()


@pytest.fixture(scope="module", autouse=True)
def _free_tcl_on_main_thread():
    """Collect each module's garbage on the main thread: a Tcl interpreter
    left in a reference cycle (e.g. by an exception's frames) and collected
    later by a server thread would be deleted off its thread, which makes
    Tcl abort the process."""
    yield
    gc.collect()


@pytest.fixture
def interp():
    """A fresh ``tkinter.Tcl()`` with pysmtp-tcl installed."""
    from pysmtp_tcl import Interpreter

    return Interpreter()


@pytest.fixture
def scripted() -> Callable[..., ScriptedServer]:
    """Factory: ``scripted(**cfg)`` starts a ScriptedServer, stopped after."""
    servers: List[ScriptedServer] = []

    def make(**cfg) -> ScriptedServer:
        s = ScriptedServer(**cfg)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def aio() -> Callable[..., AioServer]:
    """Factory: ``aio(tls_context=..., users=...)`` starts aiosmtpd."""
    servers: List[AioServer] = []

    def make(**kw) -> AioServer:
        s = AioServer(**kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def ca():
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca) -> ssl.SSLContext:
    """Server-side TLS context with a certificate for localhost/127.0.0.1."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def ca_file(ca, tmp_path_factory) -> str:
    p = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(p))
    return str(p)


def launcher_cmd() -> List[str]:
    """How to start our tclsh drop-in (installed script, else -m)."""
    exe = shutil.which("pysmtp-tclsh")
    return [exe] if exe else [sys.executable, "-m", "pysmtp_tcl"]


def run_launcher(args: List[str], *, stdin: Optional[str] = None, cwd: Optional[Path] = None,
                 env: Optional[dict] = None, timeout: float = 60) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    return subprocess.run(launcher_cmd() + args, input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=e, timeout=timeout)


@pytest.fixture(scope="session")
def tcllib_tclsh() -> str:
    """Real tclsh with real tcllib, the behaviour oracle: the host Tcl's
    tclsh with tcllib 1.21 (Tcl 8.6) or 2.0 (Tcl 9; support/oracle.py).
    Fails (does not skip) when missing: .ci/run installs it."""
    problem = oracle.host.check(oracle.oracle())
    if problem:
        pytest.fail(problem + " (apt-get install tcl tcllib tcl-tls)")
    return oracle.tclsh()
