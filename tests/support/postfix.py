"""Private Postfix instances and Postfix's ``smtp-sink`` on 127.0.0.1.

:class:`PostfixServer` runs a complete Postfix (master, smtpd, cleanup, qmgr,
virtual, ...) from its own ``config_directory``/``queue_directory`` under a
fresh temporary directory, never touching the system instance in
``/etc/postfix``:

- smtpd listens on ``127.0.0.1:<free high port>`` only;
- STARTTLS is offered with a certificate issued by a caller-supplied
  ``trustme.CA`` (``smtpd_tls_security_level = may``);
- mail for the ``domain`` (default ``example.test``) is delivered by the
  ``virtual(8)`` agent into one Maildir per known recipient
  (:meth:`PostfixServer.messages` reads them); unknown recipients of that
  domain are refused at RCPT with ``550 5.1.1 ... User unknown``;
- everything is logged to ``<dir>/maillog`` (see :meth:`PostfixServer.log`).

The master runs in the foreground (``postfix start-fg``) as our child, so we
own its PID: :meth:`PostfixServer.stop` asks ``postfix -c DIR stop`` first and
then terminates/kills that PID if needed.

:class:`SmtpSink` runs ``smtp-sink`` (Postfix's test server) on a free port,
optionally dumping every transaction to a file (``-d``).

Both need Debian's ``postfix`` package (``scripts/install-test-deps`` installs it)
and root (Postfix's master must start as root).
"""
from __future__ import annotations

import email
import email.policy
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

POSTFIX = "/usr/sbin/postfix"
SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
DAEMON_DIRECTORY = "/usr/lib/postfix/sbin"

_MASTER_CF = """\
{listen} inet  n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class PostfixMissing(RuntimeError):
    """Postfix is not installed (run scripts/install-test-deps)."""


def require_postfix() -> None:
    """Raise :class:`PostfixMissing` unless Postfix and its tools are installed."""
    missing = [p for p in (POSTFIX, SMTP_SINK, SMTP_SOURCE, DAEMON_DIRECTORY + "/master")
               if not os.path.exists(p)]
    if missing:
        raise PostfixMissing("Postfix not installed (missing %s): run scripts/install-test-deps "
                             "(apt-get install postfix)" % ", ".join(missing))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_banner(port: int, timeout: float = 20.0, proc: Optional[subprocess.Popen] = None,
                    what: str = "server") -> bytes:
    """Connect to 127.0.0.1:port until a ``220`` greeting arrives; return it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with status %s before answering" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                banner = s.recv(512)
                if banner.startswith(b"220"):
                    try:
                        s.sendall(b"QUIT\r\n")
                        s.recv(512)
                    except OSError:
                        pass
                    return banner
                last = banner
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError("%s on 127.0.0.1:%d did not answer within %.0fs (%r)" % (what, port, timeout, last))


def _stop_pid(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.wait(grace)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class PostfixServer:
    """A private Postfix on 127.0.0.1; see the module docstring.

    ``users``: local parts that have a mailbox in ``domain``.
    ``ca``: a ``trustme.CA``; when given, smtpd offers STARTTLS with a
    certificate for ``localhost``/``127.0.0.1``/``hostname`` issued by it.
    ``extra``: additional ``main.cf`` settings.
    """

    def __init__(self, *, users: Iterable[str] = ("alice", "bob", "carol"),
                 domain: str = "example.test", ca: Any = None, hostname: str = "mx.pysmtp.test",
                 extra: Optional[Dict[str, str]] = None, start_timeout: float = 30.0) -> None:
        require_postfix()
        if os.geteuid() != 0:
            raise PermissionError("a private Postfix instance must be started as root")
        self.domain = domain
        self.hostname = hostname
        self.users = list(users)
        self.port = free_port()
        # Not under pytest's tmp_path: the virtual(8) agent runs as nobody and
        # must traverse the path to the mailboxes (pytest's base is 0700).
        self.dir = Path(tempfile.mkdtemp(prefix="pysmtp-postfix-"))
        os.chmod(self.dir, 0o755)
        self.config_dir = self.dir / "etc"
        self.queue_dir = self.dir / "queue"
        self.data_dir = self.dir / "data"
        self.mail_dir = self.dir / "mail"
        self.log_file = self.dir / "maillog"
        self.proc: Optional[subprocess.Popen] = None
        try:
            self._configure(ca, extra or {})
            self._start(start_timeout)
        except BaseException:
            self.stop()
            raise

    # -- setup --------------------------------------------------------------
    def _configure(self, ca: Any, extra: Dict[str, str]) -> None:
        for d in (self.config_dir, self.queue_dir, self.data_dir, self.mail_dir):
            d.mkdir()
        os.chown(self.data_dir, _uid("postfix"), _gid("postfix"))
        os.chown(self.mail_dir, _uid("nobody"), _gid("nogroup"))
        vmailbox = self.config_dir / "vmailbox"
        # "user@domain user/": a Maildir (trailing slash) under virtual_mailbox_base
        vmailbox.write_text("".join("%s@%s %s/\n" % (u, self.domain, u) for u in self.users))
        main: Dict[str, str] = {
            "compatibility_level": "3.6",
            "config_directory": str(self.config_dir),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "command_directory": "/usr/sbin",
            "daemon_directory": DAEMON_DIRECTORY,
            "meta_directory": "/etc/postfix",
            "shlib_directory": "/usr/lib/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(self.dir),
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": self.hostname,
            "mydomain": "pysmtp.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "smtpd_banner": "$myhostname ESMTP Postfix",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
            "local_transport": "error:local delivery is disabled",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "relay_domains": "",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_base": str(self.mail_dir),
            "virtual_mailbox_maps": "texthash:%s" % vmailbox,
            "virtual_uid_maps": "static:%d" % _uid("nobody"),
            "virtual_gid_maps": "static:%d" % _gid("nogroup"),
            "virtual_mailbox_limit": "0",
            "mailbox_size_limit": "0",
            "message_size_limit": "200000000",
            "biff": "no",
            "append_dot_mydomain": "no",
            "in_flow_delay": "0",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_message_rate_limit": "0",
            "smtpd_client_recipient_rate_limit": "0",
            "default_process_limit": "20",
            "delay_warning_time": "0",
            "maximal_queue_lifetime": "1h",
        }
        if ca is not None:
            cert = ca.issue_cert("localhost", "127.0.0.1", self.hostname)
            key_file = self.config_dir / "smtpd.key"
            cert_file = self.config_dir / "smtpd.pem"
            cert.private_key_pem.write_to_path(str(key_file))
            os.chmod(key_file, 0o600)
            cert.cert_chain_pems[0].write_to_path(str(cert_file))
            for blob in cert.cert_chain_pems[1:]:
                with open(cert_file, "ab") as fh:
                    fh.write(blob.bytes())
            main.update({
                "smtpd_tls_security_level": "may",
                "smtpd_tls_cert_file": str(cert_file),
                "smtpd_tls_key_file": str(key_file),
                "smtpd_tls_loglevel": "1",
                "smtpd_tls_received_header": "yes",
            })
        main.update(extra)
        (self.config_dir / "main.cf").write_text("".join("%s = %s\n" % kv for kv in main.items()))
        (self.config_dir / "master.cf").write_text(_MASTER_CF.format(listen="127.0.0.1:%d" % self.port))
        # Creates the queue's subdirectories with Postfix's owners and modes.
        self._postfix("check", timeout=60)

    def _postfix(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        p = subprocess.run([POSTFIX, "-c", str(self.config_dir), *args], capture_output=True,
                           text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("postfix %s failed (%d): %s%s\n%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr, self.log()))
        return p

    def _start(self, timeout: float) -> None:
        with open(self.dir / "master.out", "wb") as out:
            self.proc = subprocess.Popen([POSTFIX, "-c", str(self.config_dir), "start-fg"],
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        try:
            self.banner = wait_for_banner(self.port, timeout, self.proc, "postfix")
        except RuntimeError as exc:
            out = (self.dir / "master.out").read_text(errors="replace")
            raise RuntimeError("%s\n--- postfix output ---\n%s\n--- maillog ---\n%s"
                               % (exc, out, self.log())) from None

    # -- inspection -----------------------------------------------------------
    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def mailbox(self, user: str) -> Path:
        return self.mail_dir / user

    def raw_messages(self, user: str) -> List[bytes]:
        """The delivered files (LF line ends, as Postfix stores them) of a
        user's Maildir, oldest first."""
        files = glob.glob(str(self.mailbox(user) / "new" / "*")) + glob.glob(
            str(self.mailbox(user) / "cur" / "*"))
        files.sort(key=lambda f: (os.stat(f).st_mtime, f))
        return [Path(f).read_bytes() for f in files]

    def messages(self, user: str) -> List[email.message.Message]:
        return [email.message_from_bytes(b, policy=email.policy.compat32)
                for b in self.raw_messages(user)]

    def wait_delivered(self, user: str, count: int = 1, timeout: float = 20.0,
                       containing: Optional[bytes] = None) -> List[bytes]:
        """Wait until ``user`` has at least ``count`` messages (containing
        ``containing``, if given: earlier tests deliver to the same users);
        return those messages."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = [m for m in self.raw_messages(user) if containing is None or containing in m]
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise AssertionError("%d message(s) for %s after %.0fs, wanted %d\n--- maillog ---\n%s"
                                     % (len(msgs), user, timeout, count, self.log()))
            time.sleep(0.05)

    # -- teardown -------------------------------------------------------------
    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                subprocess.run([POSTFIX, "-c", str(self.config_dir), "stop"],
                               capture_output=True, timeout=30)
                _stop_pid(proc)
        # Daemons that outlived the master (they exit on their own when it
        # dies, but do not leave them behind): find them by our config dir.
        _kill_strays(str(self.config_dir))
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PostfixServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _kill_strays(config_dir: str) -> None:
    """SIGKILL, by PID, processes whose command line names ``config_dir``."""
    for _ in range(50):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path("/proc", entry, "cmdline").read_bytes()
            except OSError:
                continue
            if config_dir.encode() in cmdline and int(entry) != os.getpid():
                pids.append(int(entry))
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid


def _gid(name: str) -> int:
    import grp

    return grp.getgrnam(name).gr_gid


class SmtpSink:
    """Postfix's ``smtp-sink`` on 127.0.0.1:<free port>.

    ``dump``: write every transaction to its own file (``smtp-sink -d``:
    the envelope as ``X-*`` lines, then the message), read back with
    :meth:`dumps`.  ``options``: extra command-line options.  As root,
    smtp-sink must drop privileges (``-u nobody``), so the dump directory is
    a fresh temporary directory that nobody can write to, removed at stop.
    """

    def __init__(self, *, dump: bool = False, backlog: int = 256,
                 options: Iterable[str] = ()) -> None:
        require_postfix()
        self.port = free_port()
        self.dir: Optional[Path] = None
        args = [SMTP_SINK, "-h", "sink.pysmtp.test"]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        if dump:
            self.dir = Path(tempfile.mkdtemp(prefix="pysmtp-sink-"))
            os.chmod(self.dir, 0o777)
            args += ["-d", str(self.dir / "%H%M%S.")]
        args += list(options)
        args += ["127.0.0.1:%d" % self.port, str(backlog)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        try:
            wait_for_banner(self.port, 10, self.proc, "smtp-sink")
        except RuntimeError as exc:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("%s: %s" % (exc, err)) from None
        except BaseException:
            self.stop()
            raise

    def dumps(self) -> List[bytes]:
        """The dumped transactions, oldest first."""
        if self.dir is None:
            return []
        files = sorted(glob.glob(str(self.dir / "*")), key=lambda f: (os.stat(f).st_mtime, f))
        return [Path(f).read_bytes() for f in files]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "SmtpSink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
