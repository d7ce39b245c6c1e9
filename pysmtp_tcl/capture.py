"""Capture mode: an SMTP server (aiosmtpd) inside the process that stores
every message it receives instead of delivering it.

Each message becomes ``DIR/NNNN.eml`` (the DATA octets as received, dot-
stuffing undone, CRLF line ends) with ``DIR/NNNN.json`` beside it holding the
envelope (``mail_from``, ``rcpt_tos``, ``size`` in bytes, ``subject``).
"""
from __future__ import annotations

import json
import os
import threading
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import List, Optional, Tuple


class _Handler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self.records: List[dict] = []
        numbers = [int(p.stem) for p in directory.glob("[0-9]*.eml") if p.stem.isdigit()]
        self.next = max(numbers, default=0) + 1

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        data: bytes = envelope.original_content or b""
        try:
            subject = str(BytesHeaderParser(policy=default_policy).parsebytes(data).get("Subject", ""))
        except Exception:  # a malformed header must not lose the message
            subject = ""
        with self.lock:
            # Exclusive creation of both files: another process capturing
            # into the same directory never has its file overwritten, and
            # a name planted in a shared directory (0001.json -> ~/.bashrc)
            # is skipped, never written through (O_EXCL follows no link).
            while True:
                name = "%04d" % self.next
                self.next += 1
                record = {"file": name + ".eml", "mail_from": envelope.mail_from,
                          "rcpt_tos": list(envelope.rcpt_tos), "size": len(data), "subject": subject}
                try:
                    with open(self.directory / (name + ".eml"), "xb") as f:
                        f.write(data)
                except FileExistsError:
                    continue
                try:
                    with open(self.directory / (name + ".json"), "x") as g:
                        g.write(json.dumps(record, indent=2) + "\n")
                    break
                except FileExistsError:
                    os.unlink(self.directory / (name + ".eml"))
                    continue
            self.records.append(record)
        return "250 2.0.0 Ok: captured as " + name


class CaptureServer:
    """A loopback SMTP server writing messages to ``directory``.

    :param directory: where messages go (created if missing).
    :ivar address: ``(host, port)`` it listens on, after :meth:`start`.
    """

    def __init__(self, directory: os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.handler = _Handler(self.directory)
        self.controller = None
        self.address: Optional[Tuple[str, int]] = None

    def start(self) -> Tuple[str, int]:
        """Start listening on 127.0.0.1 on a free port; returns the address."""
        from aiosmtpd.controller import Controller
        import socket

        with socket.socket() as s:  # a free port (Controller wants a number)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port,
                                     server_hostname="pysmtp-tcl-capture",
                                     data_size_limit=None)
        self.controller.start()
        self.address = ("127.0.0.1", port)
        return self.address

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def summary_lines(self) -> List[str]:
        """One line per captured message: file, envelope, subject, size."""
        out = []
        for r in self.handler.records:
            out.append("captured %s: from <%s> to %s subject %s %d bytes" % (
                self.directory / r["file"], r["mail_from"],
                ", ".join("<%s>" % t for t in r["rcpt_tos"]), json.dumps(r["subject"]), r["size"]))
        if not out:
            out.append("captured no messages (in %s)" % self.directory)
        return out
