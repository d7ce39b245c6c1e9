"""Hardening of the MIME model/parser/generator against header injection,
unescaped parameters, bad field names, over-long lines and NUL in list
options (COMPATIBILITY.md M14-M20).  Real tcllib (in-process, like
``test_mime_differential``) is the oracle where we keep its behaviour."""
from __future__ import annotations

import email
import email.policy
import random
import re
import tkinter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysmtp_tcl import Interpreter
from support import oracle
from pysmtp_tcl.mime import Entity, HeaderValueError, build_message, parse_string
from pysmtp_tcl.mime import transfer
from pysmtp_tcl.mime.headers import check_header_name, fold_long_lines
from pysmtp_tcl.mime.transfer import file_has_long_line, string_has_long_line

BOUNDARY = re.compile(r"----- =_[A-Za-z0-9+/=]+")
CID = re.compile(r"<\d+\.\d+\.\d+@[^>]+>")


def tcllib() -> tkinter.Tcl:
    t = tkinter.Tcl()
    t.eval("encoding system utf-8")
    assert t.eval("package require mime") == oracle.oracle().mime
    return t


def ours() -> tkinter.Tcl:
    return Interpreter().tcl


def run(t, script: str):
    """``(code, result)`` of ``script`` run at global level."""
    t.setvar("__s", script)
    code = t.eval("catch {uplevel #0 $::__s} __r")
    return int(code), t.eval("set __r")  # the string form


def ok(t, script: str):
    code, r = run(t, script)
    assert code == 0, r
    return r


def items(t, script: str) -> tuple:
    return tuple(str(x) for x in t.tk.splitlist(ok(t, script)))


def err(t, script: str) -> str:
    code, r = run(t, script)
    assert code == 1, r
    assert "internal error" not in str(r)
    return str(r)


def mask(s) -> str:
    return CID.sub("<CID>", BOUNDARY.sub("<BOUNDARY>", str(s)))


def wire(t, script: str) -> bytes:
    """``buildmessage`` result of ``script`` as octets."""
    return ok(t, script).encode("latin-1")


def theirs(script: str) -> str:
    """tcllib's result, masked, without the second Content-Transfer-Encoding
    it writes after Content-Type (COMPATIBILITY.md M1)."""
    return re.sub(r"(Content-Transfer-Encoding: (\S+)(\r?\n)Content-Type: [^\r\n]*"
                  r"(?:\r?\n {14}[^\r\n]*)*)\r?\nContent-Transfer-Encoding: \2(\r?\n)",
                  r"\1\4", mask(ok(tcllib(), script)))


def assert_no_long_lines(data: bytes) -> None:
    for line in data.split(b"\r\n"):
        assert len(line) <= 998, line[:60]


# --- 1. -canonical / -param injection (M14) -----------------------------------

@pytest.mark.parametrize("canonical", [
    r"text/plain\r\n\r\nINJECTED",
    r"text/plain\r\nReply-To: evil@x.y",
    r"text/plain\nBcc: evil@x.y",
    r"text/plain\n\tfolded",
    r"text/plain\x00",
    "text",
    "text/",
    "/plain",
    "text/plain extra",
    "text/pl@in",
    "text/plain; charset",
    r"text/plain; charset=\"a\r\nb\"",
])
def test_bad_canonical_refused(canonical):
    t = ours()
    msg = err(t, 'mime::initialize -canonical "%s" -string body' % canonical)
    assert msg.startswith('-canonical value "')
    assert "is not a valid content type" in msg and "RFC 2045" in msg
    assert "\r" not in msg and "\n" not in msg  # shown as \r \n
    with pytest.raises(HeaderValueError):
        Entity.create(canonical.replace(r"\r", "\r").replace(r"\n", "\n"), string="x")


def test_canonical_injection_error_text():
    msg = err(ours(), r'mime::initialize -canonical "text/plain\r\n\r\nINJECTED" -string body')
    assert msg == ('-canonical value "text/plain\\r\\n\\r\\nINJECTED" is not a valid content'
                   " type: expected type/subtype made of RFC 2045 §5.1 tokens (parameters go"
                   " in -param)")


@pytest.mark.parametrize("canonical", [
    "text/plain", "Text/Plain", "image/x-png", "application/vnd.ms-excel",
    "application/x-foo+xml", "text/plain; charset=utf-8", 'text/plain;charset="utf-8"',
    'text/plain; name="a \\"b\\" c";',
])
def test_good_canonical_same_as_tcllib(canonical):
    """Well-formed values, including parameters inside -canonical (scripts
    in the wild pass "text/plain; charset=utf-8"), are written as tcllib."""
    script = ("set t [mime::initialize -canonical {%s} -param {x y} -string body]\n"
              "list [mime::getproperty $t] [mime::buildmessage $t]" % canonical)
    assert mask(ok(ours(), script)) == theirs(script)


@pytest.mark.parametrize("value,shown", [
    ("utf-8\r\nReply-To: evil@x.y", r"utf-8\r\nReply-To: evil@x.y"),
    ("a\nb", r"a\nb"),
    ("a\rb", r"a\rb"),
    ("a\r\n b", r"a\r\n b"),   # no folding inside a parameter value
    ("a\x00b", r"a\0b"),
    ("a\x01b", "a\x01b"),
    ("a\x7fb", "a\x7fb"),
])
def test_param_value_with_controls_refused(value, shown):
    t = ours()
    t.setvar("v", value.replace("\x00", "<NUL>"))
    t.eval(r'set v [string map [list <NUL> \x00] $v]')
    msg = err(t, "mime::initialize -canonical text/plain -param [list charset $::v] -string body")
    assert msg == ('-param charset value "%s" contains CR, LF, NUL or another control character:'
                   " refused, it would break the Content-Type header (RFC 2045 §5.1,"
                   " RFC 5322 §3.2.4)" % shown)
    with pytest.raises(HeaderValueError):
        Entity.create("text/plain", params=[("charset", value)], string="x")


@pytest.mark.parametrize("name", ["a b", "a\r\nb", "", "a=b", 'a"b', "a/b", "ä", "a\tb", "a:b"])
def test_param_name_must_be_token(name):
    t = ours()
    t.setvar("n", name)
    msg = err(t, "mime::initialize -canonical text/plain -param [list $::n v] -string body")
    assert msg.startswith('-param name "') and msg.endswith(
        '" is not a valid parameter name (RFC 2045 §5.1 token)')


def test_param_values_tab_and_8bit_accepted_as_tcllib():
    script = ("set t [mime::initialize -canonical text/plain -param [list name \"a\\tb\"]"
              " -param {title*0* x} -string body]\nmime::buildmessage $t")
    assert mask(ok(ours(), script)) == theirs(script)
    # 8-bit values are accepted too; they go out in RFC 2231 form (M31)
    script = script.replace("a\\tb", "a\\tb\xe9\u20ac")
    assert "name*=utf-8''a%09b%C3%A9%E2%82%AC;" in ok(ours(), script)


def test_injection_never_reaches_copymessage_or_sendmessage_entity():
    # the token is never made, so nothing can be sent
    t = ours()
    n = t.eval("llength [info vars ::mime::*]")
    err(t, r'mime::initialize -canonical text/plain -param [list charset "utf-8\r\nReply-To: e@x.y"] -string b')
    err(t, r'mime::initialize -canonical "text/plain\r\nReply-To: e@x.y" -string b')
    assert t.eval("llength [info vars ::mime::*]") == n


def test_parsed_fields_with_bare_cr_or_nul_are_not_regenerated():
    """tcllib copies them out verbatim; a bare CR then becomes a line break
    on the wire (a forged Bcc).  getheader still shows them, as tcllib."""
    t = ours()
    ok(t, r'set p [mime::initialize -string "Subject: a\rBcc: evil@x.y\n\nbody"]')
    assert items(t, "mime::getheader $p Subject") == ("a\rBcc: evil@x.y",)
    assert err(t, "mime::buildmessage $p") == "value of header Subject contains a bare CR"
    ok(t, r'set q [mime::initialize -string "Content-Type: text/plain; name=a\rBcc\n\nbody"]')
    assert "bare CR" in err(t, "mime::buildmessage $q")
    ok(t, r'set r [mime::initialize -string "X-A: a\x00b\n\nbody"]')
    assert err(t, "mime::buildmessage $r") == "value of header X-A contains NUL"
    ok(t, r'set s [mime::initialize -string "X\rBcc: v\n\nbody"]')
    assert "line break or NUL" in err(t, "set c [open /dev/null w]; mime::copymessage $s $c")


def test_parsed_folded_fields_regenerate_folded():
    text = ("Subject: one\n\ttwo\nContent-Type: text/plain;\n charset=\"us-ascii\";\n"
            " name=\"a\n b\"\n\nbody")
    data = build_message(parse_string(text))
    assert b"Subject: one\r\n\ttwo\r\n" in data
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert not msg.defects and msg["Subject"] == "one\ttwo"


# --- 2. parameter values quoted and unquoted (M15) ------------------------------

def test_param_value_cannot_hijack_boundary():
    t = ours()
    data = wire(t, r"""
        set a [mime::initialize -canonical text/plain -string one]
        set b [mime::initialize -canonical text/plain -string two]
        set m [mime::initialize -canonical multipart/mixed \
               -param [list name {x"; boundary="EVIL}] -parts [list $a $b]]
        mime::buildmessage $m""")
    assert b'name="x\\"; boundary=\\"EVIL"' in data
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.is_multipart() and not msg.defects
    assert msg.get_param("name") == 'x"; boundary="EVIL'
    assert [p.get_content() for p in msg.iter_parts()] == ["one", "two"]
    # what tcllib does: the real boundary is replaced by EVIL
    theirs = wire(tcllib(), r"""
        set a [mime::initialize -canonical text/plain -string one]
        set m [mime::initialize -canonical multipart/mixed \
               -param [list name {x"; boundary="EVIL}] -parts [list $a]]
        mime::buildmessage $m""")
    assert b'name="x"; boundary="EVIL"' in theirs


@pytest.mark.parametrize("value", ['x"; boundary="EVIL', "a\\b", "\\", '"', 'tr\\"icky\\\\', "plain"])
def test_param_values_round_trip(value):
    t = ours()
    t.setvar("v", value)
    got = ok(t, r"""
        set m [mime::initialize -canonical text/plain -param [list name $::v] -string body]
        set p [mime::initialize -string [string map [list \r\n \n] [mime::buildmessage $m]]]
        dict get [mime::getproperty $p params] name""")
    assert got == value
    e = parse_string(build_message(Entity.create("text/plain", params=[("name", value)],
                                                 string="b")).decode().replace("\r\n", "\n"))
    assert dict(e.params)["name"] == value


def test_param_values_without_specials_written_as_tcllib():
    script = r"""
        set a [mime::initialize -canonical text/plain -param {charset iso-8859-1} \
               -param {name {a b;c=d.txt}} -param {format flowed} -string body]
        set m [mime::initialize -canonical multipart/mixed -param {boundary bndry} \
               -param {MyParam foo} -parts [list $a]]
        mime::buildmessage $m"""
    assert mask(ok(ours(), script)) == theirs(script)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(
    '\t\\"; =\x85'), max_size=40))
def test_any_allowed_param_value_round_trips(value):
    e = Entity.create("multipart/mixed", params=[("name", value)],
                      parts=[Entity.create("text/plain", string="one")])
    data = build_message(e)
    back = parse_string(data.decode("utf-8").replace("\r\n", "\n"))
    assert dict(back.params)["name"] == value
    assert len(back.parts) == 1 and back.parts[0].string.startswith("one")


def test_parsed_escaped_param_keeps_real_boundary():
    text = ('Content-Type: multipart/mixed; name="x\\"; boundary=\\"EVIL"; boundary="real"\n\n'
            "--real\nContent-Type: text/plain\n\none\n--real--\n")
    e = parse_string(text)
    assert dict(e.params) == {"name": 'x"; boundary="EVIL', "boundary": "real"}
    msg = email.message_from_bytes(build_message(e), policy=email.policy.default)
    assert msg.get_boundary() == "real" and len(list(msg.iter_parts())) == 1


def test_parser_unescapes_quoted_pairs():
    e = parse_string('Content-Type: text/plain; a="x\\"y"; b="c\\\\d"; c="\\q"\n\nbody')
    assert dict(e.params) == {"a": 'x"y', "b": "c\\d", "c": "q"}


# --- 3. header field names (M16) -----------------------------------------------

BAD_NAMES = ["X: y", "X\r\nBcc", "X\nBcc", "", "Sub ject", "X\x00", "Tëst", "X\t", ":"]
GOOD_NAMES = ["X-Ok", "Subject", "x_y.z", "!#$%&'*+-/=?^_`{|}~", "Content-Description"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_setheader_refuses_bad_field_names(name):
    t = ours()
    t.setvar("n", name.replace("\x00", "<NUL>"))
    t.eval(r'set n [string map [list <NUL> \x00] $n]')
    ok(t, "set tok [mime::initialize -canonical text/plain -string b]")
    names = items(t, "mime::getheader $tok -names")
    msg = err(t, "mime::setheader $tok $::n v")
    assert msg.startswith('header name "') and msg.endswith(
        '" is not a valid header field name (RFC 5322 §3.6.8)')
    msg = err(t, "mime::setheader $tok $::n v -mode append")
    assert items(t, "mime::getheader $tok -names") == names  # nothing recorded
    msg = err(t, "mime::initialize -canonical text/plain -header [list $::n v] -string b")
    assert msg.startswith('-header name "') and msg.endswith(
        '" is not a valid header field name (RFC 5322 §3.6.8)')


def test_setheader_name_error_text():
    t = ours()
    ok(t, "set tok [mime::initialize -canonical text/plain -string b]")
    assert err(t, r'mime::setheader $tok "X\r\nBcc" v') == (
        'header name "X\\r\\nBcc" is not a valid header field name (RFC 5322 §3.6.8)')


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_setheader_good_names_same_as_tcllib(name):
    script = ("set tok [mime::initialize -canonical text/plain -string b]\n"
              "mime::setheader $tok {%s} v\nmime::buildmessage $tok" % name)
    assert mask(ok(ours(), script)) == theirs(script)


def test_setheader_and_sendmessage_header_agree():
    from pysmtp_tcl.bridge.options import refuse_header_injection
    from pysmtp_tcl.bridge.registry import TclError

    rnd = random.Random(5)
    names = BAD_NAMES + GOOD_NAMES + ["".join(rnd.choice("aZ:- \t\r\n\x00\x7f~é")
                                              for _ in range(rnd.randint(0, 4)))
                                      for _ in range(300)]
    for name in names:
        try:
            refuse_header_injection("-header", name, "v")
            smtp_ok = True
        except TclError as e:
            smtp_ok = False
            smtp_msg = e.message if hasattr(e, "message") else str(e)
        try:
            check_header_name(name, "-header")
            mime_ok = True
        except HeaderValueError as e:
            mime_ok = False
            assert str(e) == smtp_msg  # the very same text
        assert smtp_ok == mime_ok, repr(name)


def test_delete_still_reaches_odd_parsed_names():
    t = ours()
    ok(t, 'set p [mime::initialize -string "X Y: z\nSubject: s\n\nbody"]')
    assert items(t, "mime::getheader $p -names") == ("X Y", "Subject")
    assert items(t, 'mime::setheader $p "X Y" "" -mode delete') == ("z",)


# --- 4. lines over 998 octets (M17, M18) -----------------------------------------

LONG = "x" * 2000


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "binary"])
@pytest.mark.parametrize("content,expected", [
    ("text/plain", "quoted-printable"), ("application/octet-stream", "base64"),
    ("image/png", "base64")])
def test_long_string_line_is_encoded_despite_identity_encoding(encoding, content, expected):
    t = ours()
    t.setvar("long", LONG)
    ok(t, "set tok [mime::initialize -canonical %s -encoding %s -string \"a\\n$::long\\nb\\n\"]"
       % (content, encoding))
    assert ok(t, "mime::getproperty $tok encoding") == encoding  # as given
    assert ok(t, "mime::getheader $tok Content-Transfer-Encoding") == expected
    data = wire(t, "mime::buildmessage $tok")
    assert data.count(b"Content-Transfer-Encoding:") == 1
    assert b"Content-Transfer-Encoding: %s\r\n" % expected.encode() in data
    assert_no_long_lines(data)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.get_payload(decode=True).replace(b"\r\n", b"\n") == ("a\n%s\nb\n" % LONG).encode()


@pytest.mark.parametrize("content", ["message/rfc822", "message/delivery-status", "multipart/x"])
def test_composite_leaves_keep_long_lines(content):
    """RFC 2045 §6.4: message/* and multipart/* may not be encoded; such a
    leaf keeps its long line (the smtp layer refuses to send it)."""
    e = Entity.create(content, encoding="8bit", string="a\n%s\n" % LONG)
    assert e.transfer_encoding() == "8bit"
    assert LONG.encode() in build_message(e)


def test_tcllib_leaves_long_lines_raw_with_identity_encoding():
    script = "mime::buildmessage [mime::initialize -canonical text/plain -encoding 8bit -string {%s}]" % LONG
    assert LONG.encode() in wire(tcllib(), script)
    assert LONG.encode() not in wire(ours(), script)


@pytest.mark.parametrize("content", ["text/plain", "application/octet-stream"])
def test_chosen_encoding_for_long_lines_same_as_tcllib(content):
    """Without -encoding tcllib already picks QP (text) / base64 (others)."""
    script = ("set tok [mime::initialize -canonical %s -string {a\n%s}]\n"
              "list [mime::getheader $tok Content-Transfer-Encoding] [mime::buildmessage $tok]"
              % (content, LONG))
    assert mask(ok(ours(), script)) == theirs(script)


@pytest.mark.parametrize("line,upgraded", [
    ("y" * 998, False), ("y" * 999, True), ("y" * 998 + "\r", False),
    ("\xe9" * 499, False), ("\xe9" * 500, True),          # as UTF-8: 998 / 1000 octets
    ("\u20ac" * 333, True), ("\u20ac" * 332, False),      # 999 / 996 octets
])
def test_limit_is_998_octets(line, upgraded):
    e = Entity.create("text/plain", encoding="8bit", string="a\n%s\nb" % line)
    assert e.transfer_encoding() == ("quoted-printable" if upgraded else "8bit")
    assert_no_long_lines(build_message(e))


@pytest.mark.parametrize("content,te", [("text/plain", "quoted-printable"),
                                        ("application/x-y", "base64")])
def test_upgraded_part_written_as_with_explicit_encoding(tmp_path, content, te):
    """Octets exact, as `-encoding quoted-printable/base64` writes the octets
    the unencoded part would have carried: a file's own octets; a text
    string as UTF-8, as buildmessage/sendmessage write text, a non-text
    string of U+0000-U+00FF as its octets (M30) (a CRLF of text is a
    hard line break in QP, M36)."""
    body = "a\r\n%s\r\nb\xe9\n" % LONG
    f = tmp_path / "b"
    f.write_bytes(body.encode("latin-1"))
    as_sent = body.encode("utf-8").decode("latin-1") if content.startswith("text/") else body
    for src, same in (({"string": body}, {"string": as_sent}), ({"file": str(f)}, {"file": str(f)})):
        up = build_message(Entity.create(content, encoding="7bit", **src))
        explicit = build_message(Entity.create(content, encoding=te, **same))
        assert CID.sub("", up.decode()) == CID.sub("", explicit.decode())


@pytest.mark.parametrize("content,expected", [("text/plain", "quoted-printable"),
                                              ("application/octet-stream", "base64")])
def test_long_line_in_file_body(tmp_path, content, expected):
    body = b"head\r\n" + b"z" * 70000 + b"\r\nmiddle\n" + b"w" * 3000 + b"\ntail"
    f = tmp_path / "body"
    f.write_bytes(body)
    t = ours()
    ok(t, "set tok [mime::initialize -canonical %s -encoding 8bit -file {%s}]" % (content, f))
    assert ok(t, "mime::getheader $tok Content-Transfer-Encoding") == expected
    data = wire(t, "mime::buildmessage $tok")
    assert_no_long_lines(data)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    payload = msg.get_payload(decode=True)
    if expected == "base64":
        assert payload == body
    else:
        assert re.sub(b"\r+\n", b"\n", payload) == body.replace(b"\r\n", b"\n")


def test_file_with_short_lines_keeps_identity_encoding(tmp_path):
    f = tmp_path / "body"
    f.write_bytes((b"y" * 998 + b"\r\n") * 200)
    e = Entity.create("text/plain", encoding="8bit", file=str(f))
    assert e.transfer_encoding() == "8bit"
    assert build_message(e).endswith(b"y" * 998 + b"\r\n")


def test_file_scan_reads_in_blocks(tmp_path, monkeypatch):
    """Same answer as a whole-file split whatever the block size; memory is
    bounded by the block (the file is never read whole)."""
    rnd = random.Random(3)
    for block in (1, 7, 64):
        monkeypatch.setattr(transfer, "_SCAN_BLOCK", block)
        for _ in range(400):
            limit = rnd.choice([3, 5, 10])
            data = bytes(rnd.choice(b"ab\r\n\n") for _ in range(rnd.randint(0, 60)))
            p = tmp_path / "f"
            p.write_bytes(data)
            off = rnd.randint(0, len(data))
            cnt = rnd.choice([None, rnd.randint(0, len(data))])
            win = data[off:] if cnt is None else data[off:off + cnt]
            # a line ends at CRLF, CR or LF (mime/lines.py, shared with DATA)
            want = any(len(x) > limit for x in re.split(rb"\r\n|\r|\n", win))
            assert file_has_long_line(str(p), off, cnt, limit) == want
            assert string_has_long_line(win.decode("latin-1"), limit) == want
    reads = []
    real_open = open

    class Spy:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def seek(self, n):
            self.f.seek(n)

        def read(self, n):
            reads.append(n)
            return self.f.read(n)

    monkeypatch.setattr(transfer, "_SCAN_BLOCK", 64 * 1024)
    big = tmp_path / "big"
    big.write_bytes((b"q" * 100 + b"\n") * 20000 + b"r" * 1000)
    monkeypatch.setattr("builtins.open", lambda *a, **k: Spy(real_open(*a, **k)))
    assert file_has_long_line(str(big), 0, None, 998)
    monkeypatch.undo()
    assert len(reads) > 10 and max(reads) <= 64 * 1024


def test_parsed_long_line_is_encoded_on_output():
    text = "Subject: s\r\n\r\nfirst\r\n%s\r\nlast\r\n" % LONG
    for src in (text, text.replace("\r\n", "\n")):
        t = ours()
        t.setvar("m", src)
        ok(t, "set p [mime::initialize -string $::m]")
        assert ok(t, "mime::getproperty $p encoding") == ""
        assert ok(t, "mime::getheader $p Content-Transfer-Encoding") == "quoted-printable"
        data = wire(t, "mime::buildmessage $p")
        assert_no_long_lines(data)
        # a CRLF of the text is a hard line break, not "=0D" + break (M36)
        assert b"=0D" not in data
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert msg.get_content().replace("\r\n", "\n") == "first\n%s\nlast\n" % LONG
        # what the part's body was is what arrives (read with the line ends
        # the original had)
        t.setvar("n", data.decode() if src is text else data.decode().replace("\r\n", "\n"))
        assert ok(t, "mime::getbody [mime::initialize -string $::n]") == ok(t, "mime::getbody $p")


def test_parsed_short_lines_written_unchanged():
    text = "Subject: s\n\nfirst\n%s\n" % ("y" * 998)
    assert build_message(parse_string(text)).endswith(b"\r\n\r\nfirst\r\n" + b"y" * 998 + b"\r\n")


def test_long_header_folded_at_white_space():
    t = ours()
    subject = " ".join("word%d" % i for i in range(500))
    t.setvar("s", subject)
    ok(t, "set tok [mime::initialize -canonical text/plain -string b]")
    ok(t, "mime::setheader $tok Subject $::s")
    assert items(t, "mime::getheader $tok Subject") == (subject,)  # folded on output only
    data = wire(t, "mime::buildmessage $tok")
    assert_no_long_lines(data)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == subject


def test_long_param_value_folded_when_it_has_spaces():
    value = " ".join(["seg"] * 600)
    data = build_message(Entity.create("application/octet-stream", params=[("name", value)],
                                       string="b"))
    assert_no_long_lines(data)
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert re.sub(r"\s+", " ", msg.get_param("name")) == value


def test_unfoldable_header_left_as_is():
    """No white space: nothing RFC 5322 allows; left for the smtp layer to
    refuse (COMPATIBILITY.md M18)."""
    e = Entity.create("text/plain", headers=[("X-Long", LONG)], string="b")
    assert ("X-Long: %s\r\n" % LONG).encode() in build_message(e)


def test_fold_long_lines_unit():
    assert fold_long_lines("A: b c", 4) == "A: b\n c"
    assert fold_long_lines("A: " + "b" * 10, 4) == "A: " + "b" * 10  # not after "A:"
    assert fold_long_lines("A: bb  cc", 5) == "A: bb\n  cc"
    assert fold_long_lines("A: b c d e f", 5) == "A: b\n c d\n e f"
    assert fold_long_lines("A: short\n\tfold", 998) == "A: short\n\tfold"
    assert fold_long_lines("A: x\n " + "y " * 5, 5) == "A: x\n y y\n y y\n y "
    assert fold_long_lines("A: \u20ac\u20ac \u20ac", 8) == "A: \u20ac\u20ac\n \u20ac"


def test_short_headers_written_as_tcllib():
    script = ("set tok [mime::initialize -canonical text/plain -string b]\n"
              "mime::setheader $tok Subject [string repeat {ab } 300]\n"
              "mime::setheader $tok X-Y [string repeat z 990]\nmime::buildmessage $tok")
    assert mask(ok(ours(), script)) == theirs(script)


# --- 5. NUL in list-valued options (M20) ---------------------------------------

def test_nul_in_list_options_gives_proper_errors():
    t = ours()
    assert err(t, r'mime::initialize -canonical text/plain -param [list charset "a\x00b"] -string x') \
        .startswith(r'-param charset value "a\0b" contains CR, LF, NUL')
    assert err(t, r'mime::initialize -canonical text/plain -header [list X-A "a\x00b"] -string x') \
        == "value of header X-A contains NUL"
    assert err(t, r'mime::initialize -canonical text/plain -header [list "X\x00" v] -string x') \
        == r'-header name "X\0" is not a valid header field name (RFC 5322 §3.6.8)'
    assert err(t, r'mime::initialize -canonical text/plain -param [list "n\x00" v] -string x') \
        == r'-param name "n\0" is not a valid parameter name (RFC 2045 §5.1 token)'
    ok(t, "set tok [mime::initialize -canonical text/plain -string b]")
    assert err(t, r'mime::setheader $tok X-A "a\x00b"') == "value of header X-A contains NUL"


def test_list_options_still_split_like_tcl():
    t = ours()
    assert err(t, 'mime::initialize -canonical text/plain -param "a \\{b" -string x') \
        == "unmatched open brace in list"
    assert err(t, "mime::initialize -canonical text/plain -param {a b c} -string x") \
        == "-param expects a key and a value, not a b c"
    ok(t, "set tok [mime::initialize -canonical text/plain -param {name {a b}} "
          "-param [list x [list 1 2]] -header {X-A {v w}} -string x]")
    assert dict(zip(*[iter(items(t, "mime::getproperty $tok params"))] * 2)) == {
        "name": "a b", "x": "1 2"}
    assert items(t, "mime::getheader $tok X-A") == ("v w",)
    ok(t, "set m [mime::initialize -canonical multipart/mixed -parts [list $tok]]")
    assert ok(t, "llength [mime::getproperty $m parts]") == "1"


def test_upgraded_long_line_part_keeps_its_utf8_text():
    # A real-world pattern (HTML mail, charset=utf-8, -encoding 8bit, one
    # long line): the upgrade to quoted-printable must carry the UTF-8
    # octets the 8bit part would have sent, so the text still decodes.
    import email
    import email.policy

    from pysmtp_tcl import Interpreter

    i = Interpreter()
    tok = i.eval('mime::initialize -canonical text/html -param {charset utf-8} -encoding 8bit '
                 '-string "<p>[string repeat x 1000]</p><p>caf\\u00e9</p>"')
    raw = bytes(i.tcl.tk.call("mime::buildmessage", tok))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content().endswith("<p>caf\u00e9</p>") and not msg.defects
