"""Tests for COMPATIBILITY.md entries that have no other test in this
repository (the shared bug-report cases live outside it)."""
from __future__ import annotations


def test_s11_ehlo_keywords_match_in_any_case(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 size 100000"])
    interp.eval("""set tok [mime::initialize -canonical text/plain -string hi]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com \
            -recipients r@example.org""" % srv.port)
    assert [c for c in srv.commands if c.startswith("MAIL")][0].startswith("MAIL FROM:<a@example.com> SIZE=")


def test_m12_two_multiparts_made_together_get_different_boundaries(interp):
    out = interp.eval("""
        set a [mime::initialize -canonical text/plain -string one]
        set b [mime::initialize -canonical text/plain -string two]
        set m1 [mime::initialize -canonical multipart/mixed -parts [list $a]]
        set m2 [mime::initialize -canonical multipart/mixed -parts [list $b]]
        list [mime::buildmessage $m1] [mime::buildmessage $m2]""")
    import re
    m1, m2 = interp.tcl.tk.splitlist(out)
    b1 = re.search(r'boundary="([^"]+)"', m1).group(1)
    b2 = re.search(r'boundary="([^"]+)"', m2).group(1)
    assert b1.startswith("----- =_") and b2.startswith("----- =_") and b1 != b2


def test_m13_failed_setheader_records_nothing(interp):
    out = interp.eval("""
        set t [mime::initialize -canonical text/plain -string x]
        set rc [catch {mime::setheader $t X-Test v -mode bogus} m]
        list $rc $m [mime::getheader $t -names]""")
    rc, msg, names = interp.tcl.tk.splitlist(out)
    assert rc == "1" and "bogus" in msg
    assert "X-Test" not in interp.tcl.tk.splitlist(names)


def test_m3_crlf_message_headers_parse_without_bracket(interp):
    out = interp.eval(r"""
        set t [mime::initialize -string "Subject: hello\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nbody\r\n"]
        list [mime::getheader $t Subject] [mime::getproperty $t content] [dict get [mime::getproperty $t params] charset]""")
    assert interp.tcl.tk.splitlist(out) == ("hello", "text/plain", "us-ascii")


def test_m11_rfc2231_parameter_is_decoded_under_its_plain_name(interp):
    out = interp.eval(r"""
        set t [mime::initialize -string "Content-Type: application/octet-stream; name*=utf-8''%E2%82%AC.txt\n\nx\n"]
        dict get [mime::getproperty $t params] name""")
    assert out == "\u20ac.txt"
