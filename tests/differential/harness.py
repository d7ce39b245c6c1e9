"""Run one scenario under real tcllib and under pysmtp-tclsh; compare.

Each side gets its own fresh :class:`~support.scripted.ScriptedServer`
instances (same configuration), its own closed ports, and the same Tcl
script.  What is compared (each a *field*):

``commands``  the client's command lines, per connection (``SIZE=N`` is
              rewritten relative to the DATA bytes it announced, since the
              masked values below change the message length);
``data``      each DATA payload as received (dot-stuffing and line ends
              untouched), per connection, with the values of ``Date``,
              ``Message-ID``, ``Content-ID`` (and ``Resent-`` forms) and
              the MIME boundaries masked; payloads cut off by EOF are kept
              (marked ``aborted``);
``code``      the Tcl return code of ``catch {smtp::sendmessage ...}``;
``result``    its result (the return value or the error text);
``errorcode`` ``-errorcode`` when the code is 1;
``stdout``    any other line the script printed;
``stderr``    the ``-debug`` lines (socket channel names masked).

A scenario may declare expected differences (:class:`Diff`): the field must
then differ (a declared difference that does not occur fails, so the
declarations stay true), each declaration must cite an id of the ``## smtp``
table in COMPATIBILITY.md, and every other field must still be identical.

Every scenario with a server runs a second time with PIPELINING advertised
(:func:`with_pipelining`, name ``<name>+pipelining``): tcllib ignores it, we
pipeline MAIL/RCPT (and DATA where it cannot change the outcome), and
every field is compared again.  Our ``-debug`` lines show a batch's ``-->``
lines before its replies (COMPATIBILITY.md S24); :func:`lockstep_order`
puts each reply back after its command before comparing, so the lines and
their order per command must still be tcllib's.  Differences that only the
PIPELINING run has (commands a pipelining client writes before it knows
MAIL was refused) are declared in ``Scenario.pipelined``.  The servers
answer RCPT/DATA as a real server does when no MAIL/RCPT was accepted
(``transaction_state``).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

from support import oracle as host_oracle  # noqa: E402
from support.scripted import CLOSE, ScriptedServer  # noqa: E402


class DiffServer(ScriptedServer):
    """ScriptedServer where a reply may end with ``"__close__"`` (the lines
    before it are sent, then the connection is dropped), and where the reply
    of ``mail``/``rcpt``/``data_end``/``rset`` may be a list of replies (lists
    of lines): the n-th command gets the n-th, the last one repeats."""

    def __init__(self, **cfg) -> None:
        cfg.setdefault("transaction_state", True)
        for key in ("mail", "rcpt", "data_end", "rset"):
            rep = cfg.get(key)
            if isinstance(rep, list) and rep and isinstance(rep[0], list):
                cfg[key] = _sequence(rep)
        super().__init__(**cfg)

    def _reply(self, s, rep, arg):  # type: ignore[override]
        if callable(rep):
            rep = rep(arg)
        if isinstance(rep, (list, tuple)) and len(rep) > 1 and rep[-1] == CLOSE:
            try:
                super()._reply(s, list(rep[:-1]), arg)
            except OSError:
                pass
            return False
        try:
            return super()._reply(s, rep, arg)
        except OSError as e:
            # The client may close without reading our reply (tcllib's
            # "abort" close sends RSET and QUIT without waiting): keep
            # reading, so every line it sent is recorded.
            if isinstance(e, ConnectionResetError):
                self._local.conn.reset = True
            return True

FIELDS = ("commands", "data", "code", "result", "errorcode", "stdout", "stderr")


@dataclass(frozen=True)
class Diff:
    """A declared, documented divergence.

    :ivar field: one of :data:`FIELDS`, or several separated by spaces.
    :ivar ref: the COMPATIBILITY.md ``## smtp`` entry id (``S5``).
    :ivar why: one line for the report.
    :ivar ours: optional regex our (masked) value must match (``re.search``).
    :ivar theirs: optional regex tcllib's (masked) value must match.
    :ivar tcllib: the tcllib versions that differ so (the oracle is 1.21 on
        Tcl 8.6, 2.0 on Tcl 9); with another one the field must be equal.
    """

    field: str
    ref: str
    why: str = ""
    ours: Optional[str] = None
    theirs: Optional[str] = None
    tcllib: Tuple[str, ...] = ("1.21", "2.0")


@dataclass(frozen=True)
class Scenario:
    """One differential case (data only; see ``scenarios.py``).

    :ivar name: unique id (pytest id).
    :ivar servers: one ScriptedServer configuration per server; the script
        refers to their ports as ``@PORT0@``, ``@PORT1@`` …  Extra keys:
        ``tls: True`` (STARTTLS with a trustme certificate),
        ``implicit: True`` (TLS from the first byte).
    :ivar dead: how many closed loopback ports (``@DEAD0@`` …).
    :ivar opts: options for ``smtp::sendmessage`` after the target.
    :ivar target: the ``-servers``/``-ports`` part (default: server 0).
    :ivar body: the text/plain body, as one Tcl word (braced or quoted).
    :ivar setup: Tcl run after the token is made, before the send.
    :ivar after: Tcl run after the report (observations go to stdout).
    :ivar script: a whole script replacing the default one (must call
        ``report $code $res $ropts`` itself).
    :ivar differences: the declared divergences.
    :ivar timeout: seconds per side.
    :ivar pipelined: divergences declared for the PIPELINING run only.
    :ivar pipelining_run: this is the PIPELINING run of a scenario.
    """

    name: str
    opts: str = ""
    servers: Sequence[Dict[str, Any]] = ({},)
    dead: int = 0
    target: str = "-servers 127.0.0.1 -ports @PORT0@"
    body: str = "hello"
    setup: str = ""
    after: str = ""
    script: Optional[str] = None
    differences: Sequence[Diff] = ()
    timeout: float = 30.0
    doc: str = ""
    pipelined: Sequence[Diff] = ()
    pipelining_run: bool = False


def _advertise_pipelining(ehlo: Any) -> Any:
    """An EHLO reply (list of lines) with PIPELINING among its keywords; a
    reply that is not a 250 is left alone (HELO follows it)."""
    if not isinstance(ehlo, list) or not ehlo or not str(ehlo[0]).startswith("250"):
        return ehlo
    if any(str(line)[4:].upper() == "PIPELINING" for line in ehlo):
        return ehlo
    first = "250-" + str(ehlo[0])[4:]
    rest = list(ehlo[1:]) or []
    return [first, "250-PIPELINING"] + rest if rest else [first, "250 PIPELINING"]


def with_pipelining(sc: Scenario) -> Scenario:
    """``sc`` against servers that also advertise PIPELINING (RFC 2920)."""
    from dataclasses import replace

    servers = []
    for cfg in sc.servers:
        cfg = dict(cfg)
        cfg["ehlo"] = _advertise_pipelining(cfg.get("ehlo", ["250-test.example", "250 HELP"]))
        if cfg.get("ehlo_tls") is not None:
            cfg["ehlo_tls"] = _advertise_pipelining(cfg["ehlo_tls"])
        servers.append(cfg)
    return replace(sc, name=sc.name + "+pipelining", servers=servers,
                   differences=tuple(sc.differences) + tuple(sc.pipelined), pipelined=(),
                   pipelining_run=True)


def with_pipelining_runs(scenarios: Sequence[Scenario]) -> List[Scenario]:
    """Each scenario, then (for those with a server) its PIPELINING run."""
    out: List[Scenario] = []
    for sc in scenarios:
        out.append(sc)
        if sc.servers:
            out.append(with_pipelining(sc))
    return out


PRELUDE = r"""
package require mime
package require smtp
proc report {code res ropts} {
    puts "CODE: $code"
    puts "RESULT: [string map [list \\ \\\\ \n \\n \r \\r] $res]"
    if {$code == 1} { puts "ERRORCODE: [dict get $ropts -errorcode]" }
}
"""

DEFAULT = r"""
set tok [mime::initialize -canonical text/plain -string @BODY@]
@SETUP@
set code [catch {smtp::sendmessage $tok @TARGET@ @OPTS@} res ropts]
report $code $res $ropts
@AFTER@
"""


def script_text(sc: Scenario) -> str:
    if sc.script is not None:
        body = sc.script
    else:
        body = (DEFAULT.replace("@SETUP@", sc.setup).replace("@AFTER@", sc.after)
                .replace("@TARGET@", sc.target).replace("@OPTS@", sc.opts)
                .replace("@BODY@", sc.body))
    return PRELUDE + body


# -- TLS material (one trustme CA per process) ---------------------------------
_tls_lock = threading.Lock()
_server_ctx: Optional[ssl.SSLContext] = None


def server_tls_context() -> ssl.SSLContext:
    global _server_ctx
    with _tls_lock:
        if _server_ctx is None:
            import trustme

            ca = trustme.CA()
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
            _server_ctx = ctx
        return _server_ctx


# -- running one side ----------------------------------------------------------
@dataclass
class Side:
    """What one run produced, raw and masked."""

    label: str
    fields: Dict[str, Any] = field(default_factory=dict)
    raw_stdout: str = ""
    raw_stderr: str = ""
    returncode: Optional[int] = None
    timed_out: bool = False
    tcllib: str = ""  # the tcllib version of the oracle side
    #: a server connection had not ended SETTLE seconds after the client exited
    unsettled: bool = False
    #: what the observation restored, and why (shown by describe())
    notes: List[str] = field(default_factory=list)


def needs_tls(sc: "Scenario") -> bool:
    """True if a server of ``sc`` speaks TLS (STARTTLS or implicit)."""
    return any(cfg.get("tls") or cfg.get("implicit") for cfg in sc.servers)


def oracle_for(sc: Optional["Scenario"] = None):
    """The tcllib side for ``sc``: the host Tcl's oracle; for a TLS
    scenario on a host whose tclsh has no ``tls`` package (Tcl 9), tcllib
    1.21 with tcl-tls on Tcl 8.6 (support/oracle.py)."""
    if sc is not None and needs_tls(sc):
        return host_oracle.tls_oracle()
    return host_oracle.oracle()


def tclsh_cmd(sc: Optional["Scenario"] = None) -> List[str]:
    return oracle_for(sc).command()


def ours_cmd() -> List[str]:
    exe = shutil.which("pysmtp-tclsh")
    return [exe] if exe else [sys.executable, "-m", "pysmtp_tcl"]


def _sequence(replies: List[List[str]]):
    lock = threading.Lock()
    count = [0]

    def reply(arg: str) -> List[str]:
        with lock:
            i = min(count[0], len(replies) - 1)
            count[0] += 1
        return replies[i]

    return reply


def _start_servers(sc: Scenario) -> List[DiffServer]:
    out = []
    for cfg in sc.servers:
        cfg = dict(cfg)
        if cfg.pop("tls", False):
            cfg["tls_context"] = server_tls_context()
        if cfg.pop("implicit", False):
            cfg["implicit_tls"] = server_tls_context()
        out.append(DiffServer(**cfg))
    return out


def _dead_ports(n: int) -> Tuple[List[socket.socket], List[int]]:
    """Bound but not listening: connecting is refused, and no one else can
    take the port while the side runs."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    return socks, ports


def run_side(sc: Scenario, label: str, cmd: List[str], env: Optional[dict] = None) -> Side:
    side = Side(label)
    servers = _start_servers(sc)
    dsocks, dports = _dead_ports(sc.dead)
    try:
        text = script_text(sc)
        for i, s in enumerate(servers):
            text = text.replace("@PORT%d@" % i, str(s.port))
        for i, p in enumerate(dports):
            text = text.replace("@DEAD%d@" % i, str(p))
        with tempfile.TemporaryDirectory(prefix="wirediff-") as tmp:
            path = Path(tmp) / ("%s.tcl" % sc.name)
            path.write_text(text, encoding="utf-8")
            env = dict(os.environ if env is None else env)
            env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
            env.setdefault("LANG", "C.UTF-8")
            try:
                p = subprocess.run(cmd + [str(path)], capture_output=True, timeout=sc.timeout,
                                   env=env, cwd=tmp)
                side.raw_stdout = p.stdout.decode("utf-8", "replace")
                side.raw_stderr = p.stderr.decode("utf-8", "replace")
                side.returncode = p.returncode
            except subprocess.TimeoutExpired as e:
                side.timed_out = True
                side.raw_stdout = (e.stdout or b"").decode("utf-8", "replace")
                side.raw_stderr = (e.stderr or b"").decode("utf-8", "replace")
        # every connection's end, not a fixed pause: what the client sent
        # last is recorded before anything is compared
        side.unsettled = not all([s.settle(SETTLE) for s in servers])
    finally:
        for s in servers:
            s.stop()
        for d in dsocks:
            d.close()
    side.fields = observe(servers, side, [s.port for s in servers], dports)
    return side


#: Seconds a server connection may take to end after its client exited (a
#: bound for a broken harness, never reached when the connection ends).
SETTLE = 60.0


# -- masking -------------------------------------------------------------------
_SOCK = re.compile(r"\bsock[0-9a-fA-F]+\b")
_VOLATILE = re.compile(rb"(?im)^((?:Resent-)?(?:Date|Message-ID)|Content-ID):[ \t]*[^\r\n]*")
_BOUNDARY = re.compile(rb'boundary="([^"]+)"|boundary=([^\s;"]+)', re.I)


def mask_data(data: bytes) -> bytes:
    data = _VOLATILE.sub(lambda m: m.group(1) + b": <masked>", data)
    seen: List[bytes] = []
    for m in _BOUNDARY.finditer(data):
        b = m.group(1) or m.group(2)
        if b not in seen:
            seen.append(b)
    for i, b in enumerate(seen):
        data = data.replace(b, b"<boundary-%d>" % i)
    return data


_TMP = re.compile(r"[^\s\"'{}]*/wirediff-[^/\s\"'{}]+")


def mask_text(s: str, ports: Sequence[int] = (), dead: Sequence[int] = ()) -> str:
    s = _SOCK.sub("sockN", s)
    s = _TMP.sub("<tmpdir>", s)
    for i, p in enumerate(ports):
        s = re.sub(r"\b%d\b" % p, "@PORT%d@" % i, s)
    for i, p in enumerate(dead):
        s = re.sub(r"\b%d\b" % p, "@DEAD%d@" % i, s)
    return s


def _conn_view(conn, data_ok: bool, lost: Sequence[str] = ()) -> Tuple[List[str], List[str]]:
    """Masked command lines and payloads of one connection (``lost``:
    commands restored after its last recorded one, :func:`lost_on_reset`)."""
    payloads = [(d, "") for d in conn.datas] + [(d, " (aborted: EOF before the final dot)")
                                                 for d in conn.aborted]
    cmds: List[str] = []
    datas: List[str] = []
    k = 0
    size_at: Optional[int] = None
    for line in list(conn.commands) + list(lost):
        if line.upper().startswith("MAIL "):
            size_at = len(cmds)
        cmds.append(line)
        if line.upper() == "DATA" and data_ok and k < len(payloads):
            raw, note = payloads[k]
            k += 1
            masked = mask_data(raw)
            datas.append(masked.decode("latin-1") + note)
            if size_at is not None:
                cmds[size_at] = re.sub(
                    r"SIZE=(\d+)",
                    lambda m: "SIZE=<len(DATA)%+d>" % (int(m.group(1)) - len(raw)),
                    cmds[size_at])
                size_at = None
    cmds = [re.sub(r"SIZE=(\d+)", "SIZE=<n>", c) for c in cmds]
    return cmds, datas


def observe(servers: Sequence[ScriptedServer], side: Side, ports: Sequence[int],
            dead: Sequence[int]) -> Dict[str, Any]:
    commands: List[str] = []
    data: List[str] = []
    written = debug_commands(side.raw_stderr) if side.label == "tcllib" else []
    for si, s in enumerate(servers):
        data_ok = bool(s.cfg["data"]) and str(s.cfg["data"][0]).startswith("354")
        for ci, conn in enumerate(s.conns):
            lost = lost_on_reset(conn, written)
            if lost:
                side.notes.append("server%d/conn%d: restored %s: tcllib wrote %s without waiting (its -debug), "
                                  "then closed with replies unread; the reset dropped %s in its kernel "
                                  "(no TCP_NODELAY, S13)" % (si, ci, " | ".join(lost),
                                                             "them" if len(lost) > 1 else "it",
                                                             "them" if len(lost) > 1 else "it"))
            cmds, datas = _conn_view(conn, data_ok, lost)
            tag = "server%d/conn%d%s" % (si, ci, " (TLS)" if conn.tls else "")
            commands.append(tag + ": " + " | ".join(cmds))
            for d in datas:
                data.append(tag + ":\n" + d)
    f: Dict[str, Any] = {"commands": commands, "data": data, "code": None, "result": None,
                         "errorcode": None, "stdout": [], "stderr": []}
    for line in side.raw_stdout.splitlines():
        if line.startswith("CODE: ") and f["code"] is None:
            f["code"] = line[6:]
        elif line.startswith("RESULT: ") and f["result"] is None:
            f["result"] = mask_text(line[8:], ports, dead)
        elif line.startswith("ERRORCODE: ") and f["errorcode"] is None:
            f["errorcode"] = mask_text(line[11:], ports, dead)
        else:
            f["stdout"].append(mask_text(line, ports, dead))
    # SIZE values follow the masked Message-ID/Content-ID lengths; the wire
    # field checks them relative to the DATA bytes.
    lines = side.raw_stderr.splitlines()
    if side.label == "ours":
        lines = lockstep_order(lines)
    f["stderr"] = [re.sub(r"SIZE=\d+", "SIZE=<n>", mask_text(l, ports, dead)) for l in lines]
    if side.timed_out:
        f["stdout"].append("<timed out>")
    elif side.returncode:
        f["stdout"].append("<exit status %d>" % side.returncode)
    return f


_DEBUG_CMD = re.compile(r"^--> (.*) \(wait upto (\S+) seconds\)$")


def debug_commands(stderr: str) -> List[List[Tuple[str, str]]]:
    """tcllib's ``-debug`` output as the commands it wrote, one list of
    ``(command, wait)`` per connection it tried (``Trying host...``); the
    final dot is left out (a server records it as the end of DATA)."""
    out: List[List[Tuple[str, str]]] = []
    for line in stderr.splitlines():
        if line.startswith("Trying "):
            out.append([])
            continue
        m = _DEBUG_CMD.match(line)
        if m and out and m.group(1) != ".":
            out[-1].append((m.group(1), m.group(2)))
    return out


def lost_on_reset(conn: Any, written: Sequence[Sequence[Tuple[str, str]]]) -> List[str]:
    """Commands tcllib wrote on ``conn`` that its own close dropped.

    tcllib writes the final dot (with ``-maxsecs 0``), RSET and QUIT without
    waiting for their replies, then closes the socket.  Replies it has not
    read make that close a reset (RFC 1122 §4.2.2.13: RST, not FIN),
    and the reset discards what the kernel still holds back: tcllib does
    not set TCP_NODELAY, so Nagle's algorithm may still hold QUIT while
    RSET is unacknowledged.  The server then never gets QUIT, at random.

    Restored only when all of this holds: the server saw the connection
    reset by the client; what it recorded is a proper prefix of what
    tcllib's ``-debug`` says it wrote on one connection (every matching
    connection agreeing); and each missing command was written with a
    0-second wait (tcllib never read anything about it).  The result is
    compared with our side as it is: ours must have sent all of it.
    """
    if not getattr(conn, "reset", False) or not written:
        return []
    got = list(conn.commands)
    tails = set()
    for seg in written:
        cmds = [c for c, _ in seg]
        if len(cmds) > len(got) and cmds[:len(got)] == got:
            rest = seg[len(got):]
            if any(wait != "0" for _, wait in rest):
                return []
            tails.add(tuple(c for c, _ in rest))
    return list(tails.pop()) if len(tails) == 1 else []


_BATCHABLE = re.compile(r"^--> (MAIL FROM:|RCPT TO:|DATA |RSET |\. |QUIT )")


def lockstep_order(lines: Sequence[str]) -> List[str]:
    """Our ``-debug`` lines with each pipelined batch put in tcllib's
    lock-step order: every ``--> CMD`` line followed by its reply's lines.

    A batch is a run of ``-->`` lines of MAIL/RCPT/DATA/RSET, or of the
    final ``.`` and QUIT (with a non-zero wait); its replies follow it, one
    per command in order: ``<--`` lines up to one without a ``-`` after
    the code, or one ``    ... why ...`` line (a local failure; on a dead
    connection the later replies show nothing).  Lock-step output is
    returned unchanged (each batch has one command)."""
    out: List[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not (_BATCHABLE.match(line) and "(wait upto 0 seconds)" not in line):
            out.append(line)
            i += 1
            continue
        j = i
        while j < n and _BATCHABLE.match(lines[j]) and "(wait upto 0 seconds)" not in lines[j]:
            j += 1
        batch, i = lines[i:j], j
        for cmd in batch:
            out.append(cmd)
            if i < n and lines[i].startswith("    ... "):
                out.append(lines[i])
                i += 1
                continue
            while i < n and lines[i].startswith("<-- "):
                out.append(lines[i])
                i += 1
                if lines[i - 1][7:8] != "-":
                    break
    return out


# -- comparing -----------------------------------------------------------------
def compat_ids(path: Path = REPO / "COMPATIBILITY.md") -> List[str]:
    """Entry ids of the ``## smtp`` table."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^## smtp\s*$(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        return []
    return re.findall(r"^\|\s*(S\d+)\s*\|", m.group(1), re.M)


@dataclass
class Verdict:
    scenario: Scenario
    theirs: Side
    ours: Side
    status: str  # identical | documented | unexplained
    problems: List[str] = field(default_factory=list)
    documented: List[Diff] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "unexplained"


def _show(v: Any) -> str:
    if isinstance(v, list):
        return "\n".join("      " + line for x in v for line in str(x).splitlines() or [""]) or "      <none>"
    return "      %r" % (v,)


def compare(sc: Scenario, theirs: Side, ours: Side, ids: Optional[Sequence[str]] = None) -> Verdict:
    ids = compat_ids() if ids is None else ids
    problems: List[str] = []
    declared: Dict[str, List[Diff]] = {}
    # differences a later tcllib fixed are not expected from that oracle
    differences = [d for d in sc.differences if not theirs.tcllib or theirs.tcllib in d.tcllib]
    for d in differences:
        for f in d.field.split():
            declared.setdefault(f, []).append(d)
            if f not in FIELDS:
                problems.append("declared difference on unknown field %r" % f)
        if d.ref not in ids:
            problems.append("declared difference on %s cites %r, not an entry of COMPATIBILITY.md's "
                            "## smtp table (%s)" % (d.field, d.ref, " ".join(ids)))
    for side in (theirs, ours):
        if side.timed_out:
            problems.append("%s timed out" % side.label)
        if side.unsettled:
            problems.append("%s: a server connection was still open %g s after the client exited"
                            % (side.label, SETTLE))
        if side.fields.get("code") is None:
            problems.append("%s printed no result (stderr: %s)" % (side.label, side.raw_stderr[-500:]))
    for f in FIELDS:
        t, o = theirs.fields.get(f), ours.fields.get(f)
        if f in declared:
            refs = "/".join(d.ref for d in declared[f])
            if t == o:
                problems.append("declared difference on %s (%s) did not occur; both:\n%s" % (f, refs, _show(t)))
                continue

        elif t != o:
            problems.append("%s differs:\n    tcllib:\n%s\n    ours:\n%s" % (f, _show(t), _show(o)))
    # A declared shape must be found in (at least one of) its fields.
    for d in differences:
        fs = [f for f in d.field.split() if f in FIELDS]
        for label, pattern, side in (("ours", d.ours, ours), ("tcllib's", d.theirs, theirs)):
            if pattern and not any(re.search(pattern, _flat(side.fields.get(f)), re.S | re.M) for f in fs):
                problems.append("%s (%s): %s value does not show the declared shape %r:\n%s"
                                % (d.field, d.ref, label, pattern,
                                   "\n".join(_show(side.fields.get(f)) for f in fs)))
    if problems:
        status = "unexplained"
    elif differences:
        status = "documented"
    else:
        status = "identical"
    return Verdict(sc, theirs, ours, status, problems, differences)


def _flat(v: Any) -> str:
    return "\n".join(str(x) for x in v) if isinstance(v, list) else str(v)


def run_scenario(sc: Scenario, ids: Optional[Sequence[str]] = None) -> Verdict:
    """Both sides at once (each with its own servers), then compare."""
    with ThreadPoolExecutor(2) as ex:
        o = oracle_for(sc)
        ft = ex.submit(run_side, sc, "tcllib %s" % o.tcllib, o.command(), o.environ())
        fo = ex.submit(run_side, sc, "ours", ours_cmd())
        theirs, ours = ft.result(), fo.result()
    theirs.tcllib = o.tcllib
    return compare(sc, theirs, ours, ids)


def describe(v: Verdict, verbose: bool = False) -> str:
    head = "%-40s %s" % (v.scenario.name, v.status.upper() if v.status == "unexplained" else v.status)
    lines = [head]
    for d in v.documented:
        if v.status != "unexplained":
            lines.append("    documented %s on %s: %s" % (d.ref, d.field, d.why))
    for side in (v.theirs, v.ours):
        for note in side.notes:
            lines.append("    note (%s): %s" % (side.label, note))
    for p in v.problems:
        lines.append("    " + p.replace("\n", "\n    "))
    if verbose:
        for side in (v.theirs, v.ours):
            lines.append("  [%s]" % side.label)
            for f in FIELDS:
                lines.append("    %s:\n%s" % (f, _show(side.fields.get(f))))
    return "\n".join(lines)
