"""Every smtp::sendmessage option error: same text as real tcllib (run in
tclsh in the same test), and nothing is sent."""
from __future__ import annotations

import subprocess

import pytest

# Each entry: the option words after the token.  None of them may reach a
# server (they fail before connecting, in tcllib as in ours); the server
# given is a closed port so a wrong "success" would show as another error.
CASES = [
    "-recipients",
    "-servers 127.0.0.1 -ports",
    "-foo 1",
    "-atleastone maybe",
    "-debug 2",
    "-queue yesno",
    "-usetls {}",
    "-tlsimport nope",
    "-header {a b c}",
    "-header {justone}",
    "-header {Content-Type text/html}",
    "-header {content-transfer-encoding 8bit}",
    "-header {Content-MD5 x}",
    "-header {MIME-Version 1.0}",
    '-header "a \\{b"',
    '-servers "a \\{b"',
    "-servers 127.0.0.1",
    "-originator {a@b, c@d} -recipients x@y",
    "-originator <<< -recipients x@y",
    "-recipients <<<",
    "-header {To <<<}",
    "-header {To a@b} -header {Bcc <<<}",
    "-header {From {a@b, c@d}} -recipients x@y",
    "-header {From x@y} -originator z@w -header {Sender bad<} -recipients r@s",
    "-header {Resent-From a@b}",
    "-header {Resent-To <<<} -header {Resent-From a@b}",
    "-recipients {a@b, <<<}",
    "-header {To a@b} -header {cc <<<}",
]


def batch_script(cases):
    lines = ["package require mime", "package require smtp",
             "set tok [mime::initialize -canonical text/plain -string hi]"]
    for c in cases:
        lines.append("set rc [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports 9 %s} m]" % c)
        lines.append('puts [list $rc $m]')
    return "\n".join(lines) + "\n"


def test_option_and_envelope_errors_match_tcllib(interp, tcllib_tclsh):
    script = batch_script(CASES)
    theirs = subprocess.run([tcllib_tclsh], input=script, capture_output=True, text=True, timeout=60)
    assert theirs.returncode == 0, theirs.stderr
    ours = []
    interp.eval('set ::out {}; proc puts {s} { lappend ::out $s }')
    interp.eval(script.replace("package require mime\npackage require smtp\n", ""))
    ours = list(interp.tcl.tk.splitlist(interp.eval("set ::out")))
    want = theirs.stdout.splitlines()
    assert len(ours) == len(want) == len(CASES)
    import re
    for case, o, t in zip(CASES, ours, want):
        o, t = (re.sub(r"sock[0-9a-f]+", "sockN", x) for x in (o, t))
        assert o == t, "options %s: ours %r, tcllib %r" % (case, o, t)


@pytest.mark.parametrize("opts,needle", [
    ("-maxsecs abc -recipients r@s", "-maxsecs"),
    ("-originator \"a@b\\nRSET\" -recipients r@s", "-originator"),
    ("-client \"me\\r\\nMAIL FROM:<x@y>\" -recipients r@s", "-client"),
    ("-header {{X Bad} v} -recipients r@s", "-header"),
    ("-header [list Subject \"a\\rb\"] -recipients r@s", "-header"),
])
def test_our_extra_checks_name_the_option(interp, scripted, opts, needle):
    srv = scripted()
    out = interp.eval("""set tok [mime::initialize -canonical text/plain -string hi]
        list [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d %s} m] $m""" % (srv.port, opts))
    rc, msg = interp.tcl.tk.splitlist(out)
    assert rc == "1" and needle in msg, msg
    assert srv.conns == []


def test_folded_header_value_is_accepted(interp, scripted):
    srv = scripted()
    interp.eval("""set tok [mime::initialize -canonical text/plain -string hi]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -recipients r@s \
            -header [list Subject "part one\\n\\tpart two"]""" % srv.port)
    assert b"Subject: part one\r\n\tpart two\r\n" in srv.datas[0]


def test_error_codes_match_tcllib(interp, tcllib_tclsh):
    script = """package require smtp; package require mime
set t [mime::initialize -canonical text/plain -string x]
foreach opts {{-servers {} -recipients a@b} {-servers 127.0.0.1 -ports -1 -recipients a@b}
              {-servers 127.0.0.1 -ports 70000 -recipients a@b} {-servers 127.0.0.1 -ports abc -recipients a@b}} {
    catch {smtp::sendmessage $t {*}$opts} m o; puts [list $m [dict get $o -errorcode]]
}
catch {smtp::sendmessage ::mime::99 -recipients a@b} m o; puts [list $m [dict get $o -errorcode]]
"""
    theirs = subprocess.run([tcllib_tclsh], input=script, capture_output=True, text=True, timeout=60)
    interp.eval('set ::out {}; proc puts {s} { lappend ::out $s }')
    interp.eval(script.replace("package require smtp; package require mime\n", ""))
    ours = list(interp.tcl.tk.splitlist(interp.eval("set ::out")))
    assert ours == theirs.stdout.splitlines()
