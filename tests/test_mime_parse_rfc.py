"""RFC audit of parsing and decoding (issue 8; docs/RFC-AUDIT.md, section
"Parsing and decoding").  Each test states the RFC's outcome, checks it for
``-string`` and ``-file`` (one parser, the same tree for the same octets),
and shows what real tcllib 1.21 does: the same (already right), or the
difference COMPATIBILITY.md lists."""
from __future__ import annotations

import pytest

from support import oracle
from support.mimewalk import Error, bodies, ours_interp, parse, tcllib_interp

pytestmark = pytest.mark.tcllib

HOW = ("string", "file")


def ours(msg, how="string", decode=False):
    return parse(ours_interp(), msg, how, decode)


def theirs(msg, how="string", decode=False):
    return parse(tcllib_interp(), msg, how, decode)


def ours_both(msg, decode=False):
    """Our tree, asserting -string and -file agree."""
    a, b = ours(msg, "string", decode), ours(msg, "file", decode)
    assert a == b
    return a


def mp(body: bytes, ctype=b"multipart/mixed; boundary=b", nl=b"\n") -> bytes:
    return b"Content-Type: " + ctype + nl + nl + body


# --- RFC 2045 §6.7 quoted-printable ---------------------------------------------

def test_w1_getbody_decodes_crlf_quoted_printable():
    """W1, RFC 2045 §6.7 rule 5 (soft break "=" CRLF) and rule 3 (white
    space before CRLF is transport padding): COMPATIBILITY.md T11."""
    msg = (b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
           b"riunione di=\r\n marzo =E8 \r\nfine=\r\n")
    t = ours_both(msg, decode=True)
    assert t["body"] == b"riunione di marzo \xe8\r\nfine"
    assert t["text"] == "riunione di marzo \xe8\r\nfine"
    assert theirs(msg)["body"] == b"riunione di=\r\n marzo \xe8 \r\nfine=\r\n"


def test_w1_crlf_qp_part_in_crlf_multipart():
    msg = mp(b"--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nab=\r\ncd=3D\r\n--b--\r\n")
    assert bodies(ours_both(msg)) == [b"abcd="]


def test_qp_final_equals_sign_before_a_delimiter():
    """RFC 2045 §6.7 rule 5 + RFC 2046 §5.1.1: "text=" CRLF "--b": the CRLF
    is the delimiter's, so the "=" is the last encoded line's soft break
    (T12).  tcllib leaves a stray "="."""
    msg = mp(b"--b\nContent-Transfer-Encoding: quoted-printable\n\nno final break=\n--b--\n")
    assert bodies(ours_both(msg)) == [b"no final break"]
    assert bodies(theirs(msg)) == [b"no final break="]


def test_qp_robust_rules_already_right():
    """RFC 2045 §6.7 notes (1) lower-case hex and (2) "=" not followed by
    hex kept; rule 3 trailing white space removed: as tcllib."""
    msg = b"Content-Transfer-Encoding: quoted-printable\n\na=e9=ZZ = x \t\nb=4\n"
    assert ours_both(msg) == theirs(msg)
    assert ours(msg)["body"] == b"a\xe9=ZZ = x\nb=4\n"


# --- RFC 2045 §6.8 base64 ------------------------------------------------------

def test_base64_ignores_white_space_and_garbage_already_right():
    """RFC 2045 §6.8: characters outside the alphabet are ignored; missing
    final padding is supplied (as tcllib and Python's email)."""
    msg = b"Content-Transfer-Encoding: base64\n\naGVs bG8g\r\nd2*9y!bGQ\n"
    assert ours_both(msg) == theirs(msg)
    assert ours(msg)["body"] == b"hello world"


def test_base64_padding_inside_the_data():
    """RFC 2045 §6.8: "=" is padding at the end of a quantum; data made of
    separately encoded pieces decodes piece by piece (T13).  tcllib drops
    every "=" and shifts all later bits (garbage)."""
    msg = b"Content-Transfer-Encoding: base64\n\naGk=\naGk=\nIQ==\n"
    assert ours_both(msg)["body"] == b"hihi!"
    assert theirs(msg)["body"] != b"hihi!"


def test_base64_single_leftover_char_is_still_an_error():
    """A lone 6-bit char cannot make an octet: the data were cut.  Kept as
    tcllib's error (Python's email returns the undecoded text instead).
    (For -file parts tcllib reports it through getbody's callback, whose
    collecting default turns it into ``error``: as tcllib.)"""
    msg = b"Content-Transfer-Encoding: base64\n\naGkhA\n"
    for how in HOW:
        assert ours(msg, how) == theirs(msg, how)
    # the host Tcl's words (N10): Tcl 9 adds the code point
    assert ours(msg)["body"] == Error('invalid base64 character "A" %sat position 4'
                                      % ("(U+000041) " if oracle.tcl9() else ""))


# --- RFC 2045 §5.2, §6.1, §6.4 defaults -------------------------------------------

def test_defaults_already_right():
    """RFC 2045 §5.2: no (or a syntactically invalid) Content-Type means
    text/plain; charset=us-ascii; §6.1: no Content-Transfer-Encoding means
    7bit (identity); labels are case-insensitive, white space trimmed."""
    for msg in (b"Subject: a\n\nbody\n", b"Content-Type: bogus\n\nbody\n",
                b"Content-Type: text/\n\nbody\n", b"Content-Transfer-Encoding: BASE64 \n\nYm9keQo=\n"):
        t = ours_both(msg)
        assert t == theirs(msg)
        assert (t["content"], t["params"], t["body"]) == ("text/plain", [("charset", "us-ascii")],
                                                           b"body\n")


def test_unknown_transfer_encoding_gives_the_octets():
    """RFC 2045 §6.4: an unknown Content-Transfer-Encoding is treated as
    application/octet-stream: its octets, for -string and -file alike
    (M24; tcllib's -file parse fails with "Can't handle content encoding")."""
    msg = b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 a\n`\nend\n"
    assert ours_both(msg)["body"] == b"begin 644 a\n`\nend\n"
    assert theirs(msg, "string")["body"] == b"begin 644 a\n`\nend\n"
    assert isinstance(theirs(msg, "file")["body"], Error)  # Can't handle content encoding


# --- RFC 2046 §5.1.1 multipart ----------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\rIHDR\r\r\n"


def test_w3_binary_part_of_crlf_multipart_keeps_its_octets():
    """W3, RFC 2046 §5.1.1: the CRLF before a delimiter belongs to it,
    every other octet to the body (M25)."""
    body = (b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--b--\r\n")
    msg = mp(body, b"multipart/form-data; boundary=b")
    assert bodies(ours_both(msg)) == [PNG]
    assert bodies(theirs(msg, "string")) == [PNG.replace(b"\r\n", b"\n").replace(b"\r\r", b"\r")]
    assert bodies(theirs(msg, "file")) == [PNG]  # tcllib's -file parser was right
    assert bodies(ours_both(mp(body, b"multipart/form-data; boundary=b", b"\r\n"))) == [PNG]


def test_text_part_of_crlf_multipart_keeps_crlf_as_tcllib_file():
    msg = mp(b"pre\r\n--b\r\n\r\nl1\r\nl2\r\n\r\n--b\r\n\r\n\r\n--b--\r\nepi\r\n")
    t = ours_both(msg)
    assert bodies(t) == [b"l1\r\nl2\r\n", b""]
    assert t == theirs(msg, "file")


def test_preamble_epilogue_and_prefix_boundaries_already_right():
    """RFC 2046 §5.1.1: preamble/epilogue are not parts; a nested boundary
    that has the outer one as a prefix is not a delimiter of it; a quoted
    boundary may hold specials."""
    msg = (b'Content-Type: multipart/mixed; boundary="a b:c"\n\npreamble\n--a b:c\n'
           b"Content-Type: multipart/alternative; boundary=\"a b:cd\"\n\n--a b:cd\n\ninner\n"
           b"--a b:cd--\n--a b:c\n\nsecond\n--a b:c--\nepilogue\n--a b:c\nnot a part\n")
    t = ours_both(msg)
    assert t == theirs(msg)
    assert bodies(t) == [b"inner", b"second"]


def test_transport_padding_after_delimiters():
    """RFC 2046 §5.1.1: ``dash-boundary transport-padding CRLF``: white
    space after a delimiter (added by gateways) is allowed (M26).  tcllib
    takes ``--b `` and ``--b-- `` for content: no part, or an error."""
    msg = mp(b"--b \t\n\nfirst\n--b\t\n\nsecond\n--b--  \nepilogue\n")
    assert bodies(ours_both(msg)) == [b"first", b"second"]
    assert theirs(msg) == Error("end-of-string encountered while parsing multipart/mixed")
    assert theirs(msg, "file")["parts"] == []  # both parts lost


def test_missing_close_delimiter_recovered_as_tcllib_file_parser():
    """RFC 2046 §5.1.1 requires a close delimiter; Python's email and
    tcllib's -file parser take the rest as the last part (tcllib labels it
    application/octet-stream, mime.test 3.8).  tcllib's -string parse
    fails: ``end-of-string encountered`` (M21)."""
    msg = mp(b"--b\nContent-Type: text/plain\n\nfirst\n--b\nContent-Type: text/html\n\n<p>cut\n")
    t = ours_both(msg)
    assert t == theirs(msg, "file")
    assert [p["content"] for p in t["parts"]] == ["text/plain", "application/octet-stream"]
    assert bodies(t) == [b"first", b"<p>cut"]
    assert theirs(msg, "string") == Error("end-of-string encountered while parsing multipart/mixed")


def test_no_opening_delimiter_recovered_as_tcllib_file_parser():
    """A close delimiter before any opening one (mime.test 3.7), or no
    delimiter at all: the text before it is one application/octet-stream
    part (tcllib's -file parser; its -string parser fails or makes the part
    of the delimiter lines only) (M22)."""
    for body, want in ((b"X-Note: pre\n\namble\n--b--\nepi\n", b"amble"),
                       (b"X-Note: a\n\nno delimiters\n", b"no delimiters")):
        msg = mp(body)
        t = ours_both(msg)
        assert t == theirs(msg, "file")
        assert t["parts"][0]["content"] == "application/octet-stream"
        assert bodies(t) == [want]


def test_unparsable_header_of_a_recovered_part_keeps_the_text():
    """tcllib drops a recovered part whose header cannot be parsed (its
    text is lost silently); we keep the text as the body of a part without
    fields (M22)."""
    msg = mp(b"This is a multi-part message in MIME format.\n--b--\n")
    t = ours_both(msg)
    assert bodies(t) == [b"This is a multi-part message in MIME format."]
    assert theirs(msg, "file")["parts"] == []


def test_multipart_without_usable_boundary():
    """RFC 2046 §5.1.1: the boundary parameter is required.  Without one
    (or a blank one) Python's email keeps the body as one payload; we give
    it as one application/octet-stream part, the rule tcllib's -file
    parser uses when it finds no delimiter.  tcllib fails (M23)."""
    for ctype, err in ((b"multipart/mixed", "missing"), (b'multipart/mixed; boundary=" "', "empty")):
        msg = mp(b"--b\n\nhello\n--b--\n", ctype)
        t = ours_both(msg)
        assert [p["content"] for p in t["parts"]] == ["application/octet-stream"]
        assert bodies(t) == [b"--b\n\nhello\n--b--\n"]
        assert theirs(msg) == Error("boundary parameter is %s in multipart/mixed" % err)


def test_message_rfc822_part_already_right():
    msg = mp(b"--b\nContent-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\nin\n--b--\n")
    t = ours_both(msg)
    assert t == theirs(msg)
    assert t["parts"][0]["parts"][0]["headers"] == [("Subject", "inner")]


def test_encoded_message_rfc822_is_decoded_for_file_too():
    """RFC 2045 §6.4 forbids encoding message/*; tcllib's -string parser
    decodes such a body before parsing the message, its -file parser
    parses the encoded text.  One parser: decoded (M27)."""
    msg = (b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
           b"U3ViamVjdDogaW5uZXIKCmJvZHkK\n")
    t = ours_both(msg)
    assert t == theirs(msg, "string")
    assert t["parts"][0]["headers"] == [("Subject", "inner")]
    assert theirs(msg, "file") != t


# --- RFC 5322 §2.2 header section ----------------------------------------------------

def test_unfolding_keeps_the_fold_as_tcllib():
    """RFC 5322 §2.2.3: unfolding removes the CRLF before WSP.  tcllib
    (and we) keep it as "\\n" in the value, so the field regenerates as
    it came; the text is the value without "\\n" (kept as tcllib)."""
    msg = b"Subject: a long\r\n\tsubject\r\nX-A: 1\r\n\r\nbody"
    t = ours_both(msg)
    assert t["headers"] == [("Subject", "a long\n\tsubject"), ("X-A", "1")]


def test_header_lines_that_are_not_fields_are_tcllib_errors():
    """RFC 5322 §2.2: a line in the header section that is not a field.
    Python's email starts the body there (MissingHeaderBodySeparatorDefect);
    mime.test 3.3 and 3.5 pin tcllib's error, which wins (kept as tcllib)."""
    for msg in (b"blah", b"Content-Type: foobar\ndata without newline", b"Subject: x\nbogus\n\nb"):
        line = msg.split(b"\n")[-1 if b"\n\n" not in msg else 1].decode()
        assert ours_both(msg) == theirs(msg) == Error("improper line in header: " + line)


def test_header_only_and_obsolete_forms_already_right():
    """No blank line at the end of input: all header, empty body; RFC 5322
    §4.5.3 obsolete white space before the colon is accepted."""
    for msg in (b"Subject: x", b"Subject : x\nX-A: y\n\nb"):
        assert ours_both(msg) == theirs(msg)
    assert ours(b"Subject : x\n\nb")["headers"] == [("Subject", "x")]


# --- charset labels when reading --------------------------------------------------

def test_us_ascii_label_with_utf8_octets_reads_as_utf8():
    """Octets above 0x7F cannot be US-ASCII; valid UTF-8 is read as UTF-8
    (M28).  tcllib's ascii conversion gives one char per octet (mojibake);
    other labels and other octets convert as in tcllib."""
    # On Tcl 9, tcllib 2.0's strict ascii conversion fails instead (N3).
    strict = "unexpected byte sequence starting at index 3: '\\xC3'" if oracle.tcl9() else None
    for ctype in (b"", b"Content-Type: text/plain\n", b"Content-Type: text/plain; charset=us-ascii\n"):
        msg = ctype + b"\ncaf\xc3\xa9\n"
        assert ours_both(msg, decode=True)["text"] == "caf\xe9\n"
        assert theirs(msg, decode=True)["text"] == (strict or "caf\xc3\xa9\n")
    for msg in (b"\ncaf\xe9\n", b"Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xc3\xa9\n"):
        if strict and b"charset" not in msg:
            # N3: we read the undefined octet as tcllib 1.21 does
            assert ours_both(msg, decode=True)["text"] == "caf\xe9\n"
            continue
        assert ours_both(msg, decode=True) == theirs(msg, decode=True)


def test_base64_file_body_with_odd_line_length_decodes_across_blocks(tmp_path):
    """RFC 2045 §6.8 (T13): a -file body is decoded block by block; lines
    of 75 chars (not whole quanta) must not be padded at block ends."""
    import base64
    import os

    from pysmtp_tcl.mime import parse_file
    from pysmtp_tcl.mime.body import body_pieces

    data = os.urandom(3000)
    enc = base64.b64encode(data)
    path = tmp_path / "m.txt"
    path.write_bytes(b"Content-Transfer-Encoding: base64\n\n"
                     + b"\n".join(enc[i:i + 75] for i in range(0, len(enc), 75)) + b"\n")
    e = parse_file(str(path))
    for block in (7, 100, 4096):
        assert b"".join(body_pieces(e, block=block)) == data
