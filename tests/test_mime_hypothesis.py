"""Random part trees through buildmessage: ours must equal tcllib's
(masked, known deviations normalised), parse cleanly with Python's
``email`` (policy default, no defects) and come back through our own
``initialize -string`` with the same structure and bodies."""
from __future__ import annotations

import base64
import email
import email.policy
import itertools
import re
import tkinter

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pysmtp_tcl import Interpreter
from pysmtp_tcl.mime import MimeError, parse_string
from pysmtp_tcl.mime import body as body_mod, parser as parser_mod
from pysmtp_tcl.mime.transfer import TransferError
from pysmtp_tcl.mime.body import decode_string_body
from pysmtp_tcl.mime.transfer import octets

BOUNDARY = re.compile(r"----- =_[A-Za-z0-9+/=]+")
CID = re.compile(r"<\d+\.\d+\.\d+@[^>]+>")
_ids = itertools.count()

_TCLLIB = None
_OURS = None


def interps():
    global _TCLLIB, _OURS
    if _TCLLIB is None:
        _TCLLIB = tkinter.Tcl()
        _TCLLIB.eval("encoding system utf-8; package require mime")
        _OURS = Interpreter().tcl
    return _TCLLIB, _OURS


text_chars = st.sampled_from(list("abcXYZ019 \t.=!\"#$@[]{}\\~?_:;<>\n") + ["From ", "é", "ü", "\xff", "\x01"])
body_text = st.lists(text_chars, max_size=120).map("".join) | st.builds(
    lambda n, c: c * n, st.integers(70, 200), st.sampled_from(["a", "b ", "="]))
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\\{}[]$\""),
                       min_size=1, max_size=40).map(str.strip).filter(bool)

leaf = st.fixed_dictionaries({
    "kind": st.just("leaf"),
    "type": st.sampled_from(["text/plain", "text/html", "application/octet-stream", "image/gif",
                             "application/x-foo"]),
    "charset": st.sampled_from([None, "us-ascii", "iso-8859-1", "utf-8"]),
    "encoding": st.sampled_from(["", "", "7bit", "8bit", "base64", "quoted-printable"]),
    "headers": st.lists(st.tuples(st.sampled_from(["Subject", "X-Test", "Content-Description", "x-test"]),
                                  header_value), max_size=3),
    "body": body_text,
})


def containers(children):
    return st.one_of(
        st.fixed_dictionaries({"kind": st.just("multi"),
                               "type": st.sampled_from(["multipart/mixed", "multipart/alternative",
                                                        "multipart/digest"]),
                               "parts": st.lists(children, min_size=1, max_size=3),
                               "headers": st.lists(st.tuples(st.just("X-Container"), header_value),
                                                   max_size=1)}),
        st.fixed_dictionaries({"kind": st.just("msg"), "parts": st.lists(children, min_size=1, max_size=1),
                               "headers": st.just([])}),
    )


trees = st.recursive(leaf, containers, max_leaves=6)


def script(node, calls):
    """Tcl commands building ``node``; returns the variable holding its token."""
    n = next(_ids)
    var = "::tok%d" % n
    args = []
    for k, v in node["headers"]:
        bvar = "::h%d_%d" % (n, len(calls))
        calls.append(("set", bvar, v))
        args.append("-header [list %s $%s]" % (k, bvar))
    if node["kind"] == "leaf":
        bvar = "::b%d" % n
        calls.append(("set", bvar, node["body"]))
        if node["charset"]:
            args.append("-param {charset %s}" % node["charset"])
        if node["encoding"]:
            args.append("-encoding %s" % node["encoding"])
        cmd = "set %s [mime::initialize -canonical %s %s -string $%s]" % (var, node["type"], " ".join(args), bvar)
        return var, [cmd]
    cmds = []
    toks = []
    for child in node["parts"]:
        v, c = script(child, calls)
        cmds += c
        toks.append("$" + v)
    if node["kind"] == "multi":
        args.append("-param {boundary bnd%dx}" % n)
        ctype = node["type"]
    else:
        ctype = "message/rfc822"
    cmds.append("set %s [mime::initialize -canonical %s %s -parts [list %s]]"
                % (var, ctype, " ".join(args), " ".join(toks)))
    return var, cmds


def leaves(node):
    if node["kind"] == "leaf":
        yield node
    else:
        for p in node["parts"]:
            yield from leaves(p)


def build(t, calls, cmds, var):
    for c in calls:
        t.call(*c)
    t.eval("\n".join(cmds))
    t.eval("set ::__m [mime::buildmessage $%s]" % var)
    raw = t.call("set", "::__m")
    t.eval("mime::finalize $%s -subordinates all" % var)
    return raw if isinstance(raw, bytes) else str(raw).encode("latin-1")


def normalise_tcllib(s: str) -> str:
    return re.sub(r"(Content-Transfer-Encoding: (\S+)\r\nContent-Type: [^\r\n]*(?:\r\n {14}[^\r\n]*)*)"
                  r"\r\nContent-Transfer-Encoding: \2\r\n", r"\1\r\n", s)


def mask(b: bytes) -> str:
    return CID.sub("<CID>", BOUNDARY.sub("<B>", b.decode("latin-1")))


def same_shape(node, ent):
    if node["kind"] == "leaf":
        assert ent.value == "string" and ent.content == node["type"]
        body = decode_string_body(ent)
        want = node["body"]
        charset = dict(ent.params).get("charset")
        if node["type"].startswith("text/") and not want.isascii():
            # M30: a text body goes out in the octets its charset names
            if not isinstance(body, bytes):
                body = body.encode("latin-1")
            text = body.decode(charset)
            assert text.replace("\r\n", "\n") == want
            assert charset == (node["charset"] if node["charset"] not in (None, "us-ascii")
                               else "utf-8")
        elif isinstance(body, bytes):
            assert body == octets(want)
        elif not node["type"].startswith("text/") and max(want, default="a") <= "\xff":
            # unencoded non-text string: its chars are the octets sent (M30)
            assert body.replace("\r\n", "\n") == want
        else:
            # unencoded: the text went out as UTF-8, parsed back as octets
            assert body.replace("\r\n", "\n") == want.encode("utf-8").decode("latin-1")
    else:
        assert len(ent.parts) == len(node["parts"])
        for n, e in zip(node["parts"], ent.parts):
            same_shape(n, e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_random_trees(tree):
    for lf in leaves(tree):
        lines = lf["body"].split("\n")
        # COMPATIBILITY.md deviations of the QP encoder (lone "." lines,
        # bare "From ") are covered by the qp tests, not here
        assume(not any(l.strip(" \t") in (".", "From") for l in lines))
    tcllib, ours = interps()
    calls = []
    var, cmds = script(tree, calls)
    theirs_b = build(tcllib, calls, cmds, var)
    ours_b = build(ours, calls, cmds, var)
    if all(lf["body"].isascii() and (lf["type"].startswith("text/") or lf["encoding"] != "quoted-printable")
           for lf in leaves(tree)):
        # non-ASCII bodies: M29/M30, quoted-printable binary data: M32
        # (tests/test_generate_differential.py)
        assert mask(ours_b) == normalise_tcllib(mask(theirs_b))

    msg = email.message_from_bytes(ours_b, policy=email.policy.default)
    for part in msg.walk():
        assert not part.defects, (part.defects, ours_b)

    # our bytes, CRLF, parsed back as octets (as -file reads them)
    back = parse_string(ours_b.decode("latin-1").replace("\r\n", "\n"))
    same_shape(tree, back)


WALK = r"""
proc __walk {t} {
    # COMPATIBILITY.md: for a parsed part without Content-Transfer-Encoding
    # tcllib's getheader invents one (the raw body is not encoded); skip it
    set h {}
    foreach {k v} [mime::getheader $t] {
        if {$k eq "Content-Transfer-Encoding" && [mime::getproperty $t encoding] eq ""} continue
        lappend h $k $v
    }
    set r [list [mime::getproperty $t] $h [mime::getheader $t -names]]
    if {[catch {mime::getproperty $t parts} parts]} {
        lappend r [catch {mime::getbody $t} b] $b
    } else {
        foreach p $parts {lappend r [__walk $p]}
    }
    return $r
}
"""

line_pool = st.sampled_from([
    "Content-Type: multipart/mixed; boundary=b1", "Content-Type: multipart/alternative; boundary=\"b2\"",
    "Content-Type: text/plain; charset=iso-8859-1", "Content-Type: message/rfc822", "Content-Type: message",
    "Content-Type: image/png; name=\"a b\"", "Content-Type: text/plain;", "Content-Type: (c) text/x (d)",
    "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: quoted-printable",
    "Content-Transfer-Encoding: 7bit", "MIME-Version: 1.0", "Subject: hello", "X-Multi: one",
    " continued", "\tcontinued tab", "--b1", "--b1--", "--b2", "--b2--", "", "", "", "aGVsbG8=",
    "Gr=FC=DFe=", "plain text line", "From someone", ".", "Content-ID: <x@y>",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line_pool, max_size=25))
def test_random_messages_parse_like_tcllib(lines):
    msg = "\n".join(lines)
    try:
        recovered = any(p.defects for p in parse_string(msg).walk())
    except MimeError:
        recovered = False  # an error of tcllib's: compared below
    if recovered:
        # a multipart without usable boundary, opening or close delimiter:
        # tcllib fails (-string) where we recover as tcllib's -file parser
        # does (COMPATIBILITY.md M21-M23); checked against Python's email
        # in tests/test_mime_parse_email_differential.py
        return
    out = _walk_both(msg)
    if out[0] != out[1] and "-Encoding: " in msg:
        # COMPATIBILITY.md T11-T13 (quoted-printable soft breaks, base64
        # padding inside the data; tested on their own): with tcllib's
        # decoding rules switched back on, ours must be tcllib's
        with _tcllib_decoding():
            out = _walk_both(msg)
    assert out[1] == out[0]


def _tcllib_base64_decode(text):
    clean = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(clean) % 4 == 1:
        raise TransferError('invalid base64 character "%s" at position %d' % (clean[-1], len(clean) - 1))
    return base64.b64decode(clean + "=" * (-len(clean) % 4))


def _tcllib_qp_decode(text, encoded_word=False, at_end=True):
    text = re.sub(r"[ \t]+\n", "\n", text).rstrip(" \t").replace("=\n", "")
    return re.sub(r"=([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


class _tcllib_decoding:
    NAMES = (("base64_decode", _tcllib_base64_decode), ("qp_decode", _tcllib_qp_decode))

    def __enter__(self):
        self.saved = [(m, n, getattr(m, n)) for m in (body_mod, parser_mod) for n, _ in self.NAMES]
        for m in (body_mod, parser_mod):
            for n, f in self.NAMES:
                setattr(m, n, f)

    def __exit__(self, *exc):
        for m, n, f in self.saved:
            setattr(m, n, f)


def _walk_both(msg):
    tcllib, ours = interps()
    out = []
    for t in (tcllib, ours):
        t.eval(WALK)
        t.call("set", "::__msg", msg)
        out.append(BOUNDARY.sub("<B>", t.eval(
            "set __c [catch {set __t [mime::initialize -string $::__msg]} __e]\n"
            "if {$__c} {list 1 $__e} else {set __r [list 0 [catch {__walk $__t} __w] $__w]; "
            "mime::finalize $__t; set __r}")))
    # token names differ only in their numbers
    return [re.sub(r"::mime::\d+", "::mime::N", o) for o in out]
