"""RFC 822 address lists: pysmtp_tcl.mime.address and mime::parseaddress."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.mime.address import PROPERTIES, as_tcl_list, parseaddress
from test_mime_text_oracle import needs_tclsh, ours, tcllib  # noqa: F401 (fixtures)

HOST = "host.example"


def one(text: str) -> dict:
    (a,) = parseaddress(text, HOST)
    return a


def test_keys_in_tcllib_order():
    a = one("x@y")
    assert tuple(a) == PROPERTIES == ("address", "comment", "domain", "error", "friendly",
                                      "group", "local", "memberP", "phrase", "proper", "route")
    assert as_tcl_list([a])[0][:4] == ("address", "x@y", "comment", "")


def test_common_forms():
    a = one('"Joe Q. Public" <john.q.public@example.com>')
    assert (a["address"], a["phrase"], a["friendly"], a["proper"]) == (
        "john.q.public@example.com", '"Joe Q. Public"', "Joe Q. Public",
        '"Joe Q. Public" <john.q.public@example.com>')
    a = one("Mary Smith <mary@x.test>")
    assert (a["phrase"], a["local"], a["domain"], a["memberP"]) == ("Mary Smith", "mary", "x.test", "0")
    a = one("jdoe@example.org (John Doe)")
    assert (a["comment"], a["friendly"], a["proper"]) == ("(John Doe)", "John Doe", "jdoe@example.org")


def test_bare_local_part_gets_hostname():
    a = one("postmaster")
    assert (a["address"], a["domain"], a["proper"]) == ("postmaster@" + HOST, "", "postmaster@" + HOST)


def test_group_and_route():
    addrs = parseaddress("Team: a@x, b@y; c@z", HOST)
    assert [(a["group"], a["address"], a["memberP"]) for a in addrs] == [
        ("Team", "a@x", "1"), ("", "b@y", "1"), ("", "c@z", "0")]
    a = one("<@relay.test,@other.test:user@dest.test>")
    assert (a["route"], a["address"]) == ("@relay.test,@other.test:", "user@dest.test")


@pytest.mark.parametrize("text, error", [
    ("a@", "expecting sub-domain in domain-part (found end-of-input)"),
    ("<a@b", "expecting right-bracket (found end-of-input)"),
    ('"open', "unexpected character at beginning (found end-of-input during quoted-string)"),
    ("a b c", "found phrase instead of mailbox (a b cend-of-input)"),
    ("a;", "extraneous semi-colon"),
    ("g: h: x@y;", "nested groups not allowed (found h)"),
    ("a@b c", "junk after local@domain (found c)"),
])
def test_errors_are_reported_not_raised(text, error):
    assert parseaddress(text, HOST)[0]["error"] == error


def test_parsing_resumes_after_a_bad_address():
    addrs = parseaddress("a@, b@c", HOST)
    assert [a["error"] != "" for a in addrs] == [True, False]
    assert addrs[1]["address"] == "b@c"


def test_many_commas_no_recursion_limit():
    assert parseaddress("," * 5000 + "a@b", HOST)[0]["address"] == "a@b"


# -- through Tcl, against real tcllib --------------------------------------

CASES = [
    "", "   ", "a@b", "a", "a.b", "a.b@c.d", "A B <a@b>", '"A, B" <a@b>', "a@b (c) (d)",
    "(only comment)", "a@b@c", "<a@b@c>", "<@r:a@b>", "<@r,,@s:a@b>", "<@r a@b>",
    "@r:a@b", "g:;", "g: a, b;", "g: a@b; c", "g: a@b;;", ";", "a;b", "<a>", "<>",
    "a <b", "a (b", "a [b", "[1.2.3.4]", "a@[1.2.3.4]", "a\\b@c", "a.\"b c\"@d",
    "x (c) <a@b> (d), y", "/PN=Joe Bloggs/O=x/@gw", "/G=Joe/S=Bloggs/@gw",
    "/S=Bloggs/@gw", "\"/PN=q\"@gw", "a@b.", "a@.b", "a..b@c", "a@b <c@d>",
    "Who? <one@y.test>", "a:b:c", "x\ty\n z@w", "\u00e9l\u00e8ve@\u00e9cole.fr",
    "a@b\x00c", "a\rb@c", "(a\\)b) x@y", "(a (nested) c) x@y", "x@y (trailing",
]


@needs_tclsh
@pytest.mark.parametrize("text", CASES)
def test_matches_tcllib(tcllib, ours, text):
    assert ours("mime::parseaddress", text) == tcllib("mime::parseaddress", text)


address_text = st.lists(st.sampled_from(
    ["a", "b.c", "@", ".", ",", ";", ":", "<", ">", " ", "\t", "(x)", "(y (z))", "(\\)",
     '"q s"', '"', "[1.2]", "[", "]", "\\", "/PN=n/", "/S=s/G=g/", "\u00e9", "(", ")"]),
    max_size=14).map("".join)


@needs_tclsh
@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(address_text)
def test_parseaddress_matches_tcllib(tcllib, ours, text):
    assert ours("mime::parseaddress", text) == tcllib("mime::parseaddress", text)


@needs_tclsh
def test_takes_a_token_number_like_tcllib(tcllib, ours):
    script = ("set a [mime::initialize -canonical text/plain -string x]; mime::parseaddress a@b; "
              "set b [mime::initialize -canonical text/plain -string y]; list $a $b")
    # token numbers depend on what ran before; compare the difference
    def gap(side):
        code, res = side("eval", script)
        a, b = res.split()
        return int(b.rsplit("::", 1)[1]) - int(a.rsplit("::", 1)[1])
    assert gap(ours) == gap(tcllib) == 2
