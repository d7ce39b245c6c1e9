"""Reply folding as tcllib's smtp::hear does it."""
from pysmtp_tcl.smtp.replies import Reply, ReplyAssembler


def fold(*lines):
    a = ReplyAssembler()
    out = None
    for l in lines:
        out = a.add(l)
    return out


def test_multiline_reply_first_line_is_diagnostic_rest_are_args():
    r = fold("250-mx.example greets you", "250-SIZE 1000", "250 AUTH PLAIN LOGIN")
    assert (r.code, r.diagnostic, r.args) == (250, "mx.example greets you", ["SIZE 1000", "AUTH PLAIN LOGIN"])
    assert r.as_tcl_list() == ("diagnostic", "mx.example greets you", "args", ("SIZE 1000", "AUTH PLAIN LOGIN"), "code", "250")


def test_reply_without_text_and_short_and_garbage():
    assert fold("250").diagnostic == "" and fold("250").code == 250
    assert (fold("25").code, fold("25").diagnostic) == (500, "response too short: 25")
    assert (fold("abc def").code, fold("abc def").diagnostic) == (500, "unrecognizable code: abc def")


def test_continuation_needs_a_dash():
    a = ReplyAssembler()
    assert a.add("220-first") is None
    assert a.add("220 second").args == ["second"]


def test_local_failure_shapes():
    assert Reply.failure("read from server timed out").as_tcl_list() == (
        "diagnostic", "read from server timed out", "args", (), "code", "400")
    assert Reply.failure("x", keys=("code", "diagnostic")).as_tcl_list() == ("code", "400", "diagnostic", "x")
