"""Capture mode: README command 1, end to end through the launcher."""
from __future__ import annotations

import json
import os

from conftest import REPO, run_launcher


def test_manual_example_in_capture_mode(tmp_path):
    out = tmp_path / "captured"
    r = run_launcher(["--capture", str(out), str(REPO / "examples" / "send_simple_message.tcl")])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "sent to postmaster@localhost via localhost\n"
    eml = (out / "0001.eml").read_bytes()
    env = json.loads((out / "0001.json").read_text())
    assert env["rcpt_tos"] == ["postmaster@localhost"]
    assert env["subject"] == "This is the subject."
    assert env["size"] == len(eml)
    assert b"\r\nSubject: This is the subject.\r\n" in eml
    assert eml.endswith(b"\r\n\r\nThis is the message.\r\n")
    assert "captured %s" % (out / "0001.eml") in r.stderr
    assert '"This is the subject."' in r.stderr


def test_capture_ignores_servers_and_numbers_messages(tmp_path):
    script = tmp_path / "two.tcl"
    script.write_text("""
        package require mime; package require smtp
        foreach n {1 2} {
            set t [mime::initialize -canonical text/plain -string "body $n"]
            smtp::sendmessage $t -servers mail.invalid -ports 2525 -tlsimport 1 \
                -originator a@example.com -recipients "r$n@example.org"
            mime::finalize $t
        }
    """)
    out = tmp_path / "cap"
    r = run_launcher(["--capture", str(out), str(script)])
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0001.eml", "0001.json", "0002.eml", "0002.json"]
    assert json.loads((out / "0002.json").read_text())["rcpt_tos"] == ["r2@example.org"]


def test_capture_never_writes_through_a_planted_link(tmp_path):
    # A capture directory someone else can write to (a shared /tmp path):
    # 0001.json planted as a link to the user's file.  The .eml was made
    # exclusively, the .json was not: the record overwrote the link's target.
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "cap"
    out.mkdir()
    os.symlink(victim, out / "0001.json")
    script = tmp_path / "one.tcl"
    script.write_text("""
        package require mime; package require smtp
        set t [mime::initialize -canonical text/plain -string "body"]
        smtp::sendmessage $t -originator a@example.com -recipients r@example.org
    """)
    r = run_launcher(["--capture", str(out), str(script)])
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["0001.json", "0002.eml", "0002.json"]
    assert json.loads((out / "0002.json").read_text())["rcpt_tos"] == ["r@example.org"]
