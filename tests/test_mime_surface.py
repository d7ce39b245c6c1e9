"""The wider mime:: surface scripts use, against real tcllib 1.21 (a second
``tkinter.Tcl()`` with tcllib's package): the same script in both
interpreters gives the same result, error and token numbers.

Each test here was a difference found by the surface hunt (tcllib's
behaviour is the reference unless COMPATIBILITY.md lists it):

* ``getbody -blocksize`` is used by tcllib as Tcl evaluates it (``expr``
  string comparison for ``""``/``08``, octal ``010``, floats failing as
  string indices, ``read`` refusing non-integers for file bodies);
* return codes of ``-command`` callbacks act as in tcllib's loops
  (``break`` leaves the loop, ``continue`` repeats the call), and a
  non-error code from the last call keeps ``-errorcode``;
* ``setheader Content-MD5`` fails as tcllib (``key content-md5 not in
  header``);
* a finalized subordinate stays listed by its parent under its name and
  every later use fails with tcllib's error (as do ``-parts`` names that
  name no part), ``finalize -subordinates all|dynamic`` stops there.
"""
from __future__ import annotations

import pytest

from test_mime_differential import mask, normalise_tcllib, ours_interp, run, tcllib_interp


def same(script: str) -> str:
    theirs = normalise_tcllib(mask(run(tcllib_interp(), script)))
    ours = mask(run(ours_interp(), script))
    assert ours == theirs
    return ours


# --- getbody -blocksize -----------------------------------------------------------

BLOCKSIZES = ["1", "3", "11", "12", "0x4", "1.5", "-1", "0", "abc", "", " 3", "3.0",
              "1e1", "08", "010", "true", "+2", "100.5", "0b11", "2147483648"]


@pytest.mark.parametrize("bs", BLOCKSIZES)
def test_blocksize_values_on_a_string_body_like_tcllib(bs):
    same(r"""
        set t [mime::initialize -canonical text/plain -string "hello world"]
        proc cb {args} {lappend ::log $args}
        set ::log {}
        set r [list [catch {mime::getbody $t -command cb -blocksize {%s}} e] $e $::log]
        lappend r [catch {mime::getbody $t -blocksize {%s}} e] $e
    """ % (bs, bs))


@pytest.mark.parametrize("bs", ["1", "7", "100", "1.5", "abc", "0x10", "100.5", "1e1", " 4", "010"])
def test_blocksize_values_on_file_bodies_like_tcllib(tmp_path, bs):
    f = tmp_path / "m.eml"
    f.write_bytes(b"Content-Type: application/octet-stream\n\n0123456789abcdefghij")
    same(r"""
        proc cb {args} {lappend ::log $args}
        set r {}
        foreach t [list [mime::initialize -canonical application/octet-stream -file {%s}] \
                        [mime::initialize -file {%s}]] {
            set ::log {}
            lappend r [catch {mime::getbody $t -command cb -blocksize {%s}} e] $e $::log
            lappend r [catch {mime::getbody $t -blocksize {%s}} e] $e
        }
        set r
    """ % (f, f, bs, bs))


def test_blocksize_checked_after_open_of_a_missing_file():
    same(r"""
        set t [mime::initialize -canonical application/octet-stream -file /nonexistent/x]
        proc cb {args} {lappend ::log $args}
        set ::log {}
        list [catch {mime::getbody $t -command cb -blocksize abc} e] $e $::log
    """)


# --- -command callbacks: return codes ---------------------------------------------

@pytest.mark.parametrize("when", ["data", "end", "error"])
@pytest.mark.parametrize("code", ["0", "1", "2", "3", "5", "7", "-1"])
def test_callback_return_codes_like_tcllib(when, code):
    same(r"""
        set t [mime::initialize -canonical text/plain -string "hello world"]
        catch {error stale {} {STALE CODE}}
        proc cb {args} {lappend ::log $args; if {[lindex $args 0] eq "%s"} {return -code %s X}; return Y}
        set ::log {}
        set c [catch {mime::getbody $t -command cb -blocksize 5} e o]
        list $c $e $::log [dict get $o -code] [dict exists $o -errorcode] \
            [expr {[dict exists $o -errorcode] ? [dict get $o -errorcode] : ""}]
    """ % (when, code))


def test_data_break_hands_on_the_rest_in_one_call():
    same(r"""
        set t [mime::initialize -canonical text/plain -string "hello world"]
        proc cb {args} {lappend ::log $args; if {[lindex $args 0] eq "data" && [llength $::log] < 3} {return -code break}; return Y}
        set ::log {}
        list [catch {mime::getbody $t -command cb -blocksize 3} e] $e $::log
    """)


def test_data_continue_repeats_the_same_block():
    same(r"""
        set t [mime::initialize -canonical text/plain -string "hello world"]
        set ::n 0
        proc cb {args} {lappend ::log $args; if {[lindex $args 0] eq "data" && [incr ::n] == 2} {return -code continue}; return Y}
        set ::log {}
        list [catch {mime::getbody $t -command cb -blocksize 3} e] $e $::log
    """)


@pytest.mark.parametrize("mode", ["break", "continue"])
def test_break_and_continue_in_file_body_loops(tmp_path, mode):
    f = tmp_path / "m.eml"
    f.write_bytes(b"Content-Type: application/octet-stream\n\n0123456789abcdefghij")
    same(r"""
        proc cb {args} {lappend ::log $args; if {[lindex $args 0] eq "data" && [incr ::n] in {2 3}} {return -code %s}; return Y}
        set r {}
        foreach t [list [mime::initialize -canonical application/octet-stream -file {%s}] \
                        [mime::initialize -file {%s}]] {
            foreach bs {3 5} {
                set ::n 0; set ::log {}
                lappend r [catch {mime::getbody $t -command cb -blocksize $bs} e] $e $::log
            }
        }
        set r
    """ % (mode, f, f))


def test_break_from_end_reaches_the_loop_around_getbody():
    same(r"""
        set t [mime::initialize -canonical text/plain -string "hello world"]
        proc cb {args} {if {[lindex $args 0] eq "end"} {return -code break}}
        set n 0
        foreach i {1 2 3} { incr n; mime::getbody $t -command cb }
        set n
    """)


# --- setheader -----------------------------------------------------------------------

def test_setheader_content_md5_error():
    same(r"""
        set r {}
        foreach v {x {}} {
            set t [mime::initialize -canonical text/plain -string hi]
            lappend r [catch {mime::setheader $t Content-MD5 $v} e] $e
            set t [mime::initialize -string "Content-MD5: abc\n\nhi"]
            lappend r [catch {mime::setheader $t content-MD5 $v -mode append} e] $e
        }
        set r
    """)


# --- finalized subordinates ----------------------------------------------------------

def test_finalized_part_of_a_built_multipart():
    same(r"""
        set r {}
        set a [mime::initialize -canonical text/plain -string "x"]
        set b [mime::initialize -canonical text/plain -string "y"]
        set m [mime::initialize -canonical multipart/mixed -param {boundary BB} -parts [list $a $b]]
        mime::finalize $b
        foreach c {getproperty {getproperty size} {getproperty parts} {getproperty -names}
                   {getproperty content} getheader getbody buildmessage} {
            lappend r $c [catch {mime::[lindex $c 0] $m {*}[lrange $c 1 end]} e] $e
        }
        set f [file tempfile path]
        lappend r [catch {mime::copymessage $m $f} e] $e
        close $f
        set f [open $path]; lappend r [read $f]; close $f; file delete $path
        lappend r [catch {mime::finalize $m -subordinates all} e] $e
        lappend r [catch {mime::getproperty $a} e] $e [catch {mime::getproperty $m} e] $e
        lappend r [catch {mime::finalize $m} e] $e [catch {mime::getproperty $m} e] $e
        lappend r [mime::initialize -canonical text/plain -string z]
    """)


def test_finalized_part_nested_and_in_message_rfc822():
    same(r"""
        set r {}
        set a [mime::initialize -canonical text/plain -string "x"]
        set i [mime::initialize -canonical multipart/alternative -parts [list $a]]
        set m [mime::initialize -canonical multipart/mixed -param {boundary BB} -parts [list $i]]
        set x [mime::initialize -canonical text/plain -string "x"]
        set w [mime::initialize -canonical message/rfc822 -parts [list $x]]
        mime::finalize $a
        mime::finalize $x
        foreach t [list $m $w] {
            lappend r [catch {mime::getproperty $t} e] $e [catch {mime::getproperty $t size} e] $e \
                [catch {mime::getheader $t} e] $e [catch {mime::buildmessage $t} e] $e
        }
        lappend r [catch {mime::finalize $m -subordinates all} e] $e [catch {mime::getproperty $i} e] $e
    """)


def test_finalized_subordinate_of_a_parsed_message():
    same(r"""
        set p [mime::initialize -string "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\ny\n--c--\n--b--\n"]
        set parts [mime::getproperty $p parts]
        set sub [lindex $parts 1]
        set r [list $parts [mime::getproperty $sub parts]]
        mime::finalize [lindex $parts 0]
        lappend r [catch {mime::getproperty $p parts} e] $e [catch {mime::getproperty $p} e] $e
        lappend r [catch {mime::buildmessage $p} e] $e
        lappend r [catch {mime::finalize $p} e] $e [catch {mime::getproperty $sub} e] $e
        lappend r [catch {mime::getproperty $p} e] $e
        lappend r [catch {mime::finalize $p -subordinates all} e] $e
        lappend r [mime::initialize -canonical text/plain -string z]
    """)


def test_parts_naming_no_part():
    same(r"""
        set r {}
        set m [mime::initialize -canonical multipart/mixed -parts {bogus ::mime::77}]
        lappend r $m [catch {mime::getproperty $m parts} e] $e [catch {mime::getproperty $m} e] $e
        lappend r [catch {mime::getheader $m} e] $e [catch {mime::buildmessage $m} e] $e
        lappend r [catch {mime::finalize $m -subordinates all} e] $e [catch {mime::finalize $m} e] $e
        lappend r [mime::initialize -canonical text/plain -string z]
    """)


# --- initialize: option combinations tcllib lets through ----------------------------

def test_string_with_parts_lists_the_parts():
    same(r"""
        set a [mime::initialize -canonical text/plain -string a]
        set r {}
        foreach parts [list {} [list $a] {bogus}] {
            set t [mime::initialize -canonical text/plain -parts $parts -string x]
            lappend r [mime::getproperty $t] [mime::getproperty $t -names] \
                [catch {mime::getproperty $t parts} e] $e [mime::buildmessage $t] [mime::getbody $t]
            lappend r [catch {mime::finalize $t -subordinates all} e] $e
        }
        lappend r [catch {mime::initialize -canonical multipart/mixed -parts {} -file /tmp/x} e] $e
        lappend r [catch {mime::initialize -parts {} -string x} e] $e
    """)


def test_canonical_lineslist_is_an_empty_string_body():
    same(r"""
        set t [mime::initialize -canonical text/plain -lineslist {a b}]
        list $t [mime::getproperty $t] [mime::getbody $t] [mime::buildmessage $t]
    """)


# --- getbody: random bodies, block sizes and callback outcomes ----------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_OUTCOMES = st.sampled_from(["ok", "ok", "ok", "break", "continue", "error", "return"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.text(alphabet="ab\n=\xe9", max_size=40),
       bs=st.one_of(st.integers(1, 45).map(str),
                    st.sampled_from(["0x3", "010", "2.0", "7.5", "abc", " 2", "1e1", "08"])),
       outcomes=st.lists(_OUTCOMES, max_size=6))
def test_getbody_callbacks_random(body, bs, outcomes):
    # outcome i applies to the i-th data call; "continue" repeats a call,
    # so it is used at most once per position (no endless loop)
    script = r"""
        set t [mime::initialize -canonical application/octet-stream -string {%s}]
        set ::plan {%s}
        set ::i 0
        proc cb {reason args} {
            lappend ::log [list $reason {*}$args]
            if {$reason ne "data"} {return R-$reason}
            set o [lindex $::plan $::i]
            lset ::plan $::i ok
            incr ::i
            switch -- $o {
                break {return -code break}
                continue {return -code continue}
                error {error E}
                return {return -code return X}
                default {return D}
            }
        }
        set ::log {}
        list [catch {mime::getbody $t -command cb -blocksize {%s}} e] $e $::log \
             [catch {mime::getbody $t -blocksize {%s}} e] $e
    """ % (body.replace("\\", "").replace("{", "").replace("}", ""),
           " ".join(outcomes), bs, bs)
    same(script)
