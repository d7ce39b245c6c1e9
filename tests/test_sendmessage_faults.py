"""Failures in the middle of a send: nothing half-written is delivered."""
from __future__ import annotations

import os


def test_file_vanishing_mid_data_is_not_delivered_truncated(interp, scripted, tmp_path):
    srv = scripted()
    f = tmp_path / "attachment.txt"
    f.write_text("data\n" * 1000)
    interp.eval("set tok [mime::initialize -canonical text/plain -file {%s}]" % f)
    os.unlink(f)
    out = interp.eval("""list [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d \
        -originator a@example.com -recipients r@example.org} m] $m""" % srv.port)
    rc, res = interp.tcl.tk.splitlist(out)
    assert rc == "7", res
    parts = interp.tcl.tk.splitlist(res)
    assert parts[0:2] == ("code", "400")
    assert srv.datas == [], "a truncated message was accepted"
    assert any(c == "DATA" for c in srv.commands)
