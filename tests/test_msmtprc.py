"""The msmtprc parser (pysmtp_tcl.delivery.msmtprc): msmtp's syntax and
meanings, and a clear error naming file, line and command for everything
else."""
from __future__ import annotations

import os

import pytest

from pysmtp_tcl.delivery.msmtprc import ConfigError, from_matches, load, parse

GMAIL = """\
# a typical file
defaults
auth           on
tls            on
tls_trust_file /etc/ssl/certs/ca-certificates.crt
logfile        ~/.msmtp.log

account        gmail
host           smtp.gmail.com
port           587
from           joe@gmail.com
user           joe@gmail.com
passwordeval   "oama access joe@gmail.com"
auth           xoauth2

account        work : gmail
host           smtp.office365.com
from           "*@work.example"

account default : gmail
"""


def test_defaults_accounts_inheritance_and_quoting():
    c = parse(GMAIL, "/etc/msmtprc")
    gmail, work, default = c.accounts
    assert [a.name for a in c.accounts] == ["gmail", "work", "default"]
    assert gmail.host == "smtp.gmail.com" and gmail.port == 587 and gmail.tls and gmail.tls_starttls
    assert gmail.auth == "XOAUTH2"  # the last setting wins (auth on came from defaults)
    assert gmail.passwordeval == "oama access joe@gmail.com"  # quotes removed
    assert gmail.logfile == os.path.expanduser("~/.msmtp.log")  # ~ is $HOME
    # work: defaults, then what gmail set itself, then its own
    assert work.host == "smtp.office365.com" and work.port == 587 and work.user == "joe@gmail.com"
    assert work.from_ == "*@work.example"
    # account default : gmail is gmail's settings under the name default
    assert (default.host, default.port, default.auth, default.from_) == ("smtp.gmail.com", 587, "XOAUTH2",
                                                                         "joe@gmail.com")
    assert default.line == 20 and default.path == "/etc/msmtprc"


def test_defaults_apply_only_to_following_accounts_and_accumulate():
    c = parse("account a\nhost a\ndefaults\nport 2525\ndefaults\ntls on\naccount b\nhost b\n", "f")
    a, b = c.accounts
    assert a.port is None and not a.tls
    assert b.port == 2525 and b.tls


def test_parent_inherits_only_what_it_set_itself():
    # msmtp: a parent contributes the commands it (or its parents) gave, not
    # the defaults that were in force when it was defined.
    c = parse("defaults\nport 2525\naccount p\nhost p\ndefaults\nport 26\naccount c : p\n", "f")
    assert c.account("c").host == "p" and c.account("c").port == 26


def test_commands_before_any_account_form_the_default_account():
    c = parse("host relay.example\nport 2525\n", "f")
    assert [a.name for a in c.accounts] == ["default"] and c.accounts[0].port == 2525


def test_on_means_empty_and_blanks_tabs_comments():
    c = parse("account a\n  host\t relay.example  \n\ttls\n# tls off\n   # also a comment\n"
              'user "  spaced  "\n', "f")  # (a domain cannot hold blanks: EHLO)
    a = c.accounts[0]
    assert a.host == "relay.example" and a.tls and a.user == "  spaced  "


def test_default_ports_follow_msmtp():
    c = parse("account a\nhost h\naccount b\nhost h\ntls on\ntls_starttls off\naccount c\nhost h\ntls on\n", "f")
    assert [a.effective_port for a in c.accounts] == [25, 465, 25]


def test_compatibility_spellings():
    a = parse("account a\nhost h\ntls_nocertcheck\ntls_nostarttls\nconnect_timeout 5\n", "f").accounts[0]
    assert not a.tls_certcheck and not a.tls_starttls and a.timeout == 5


def test_fingerprints_sha256_sha1_md5_with_colons_or_blanks():
    sha256 = ":".join(["AB"] * 32)
    a = parse("account a\nhost h\ntls_fingerprint " + sha256.lower() + "\n", "f").accounts[0]
    assert a.tls_fingerprint == ("sha256", bytes([0xAB] * 32))
    a = parse("account a\nhost h\ntls_fingerprint " + " ".join(["01"] * 20) + "\n", "f").accounts[0]
    assert a.tls_fingerprint == ("sha1", bytes([1] * 20))
    a = parse("account a\nhost h\ntls_fingerprint " + ":".join(["ff"] * 16) + "\n", "f").accounts[0]
    assert a.tls_fingerprint[0] == "md5"


@pytest.mark.parametrize("text, line, key, words", [
    ("account a\nhost h\nhots x\n", 3, "hots", "unknown command hots"),
    ("account a\nhost h\ntls maybe\n", 3, "tls", "invalid argument maybe for command tls"),
    ("account a\nhost h\nport 70000\n", 3, "port", "invalid argument 70000 for command port"),
    ("account a\nhost h\nport\n", 3, "port", "command port needs an argument"),
    ("account a\nhost h\ntimeout 0\n", 3, "timeout", "invalid argument 0 for command timeout"),
    ("account a\nhost h\nauth scram-sha-1\n", 3, "auth", "scram-sha-1 is not supported"),
    ("account a\nhost h\nauth sometimes\n", 3, "auth", "invalid argument sometimes"),
    ("account a\nhost h\nprotocol lmtp\n", 3, "protocol", "lmtp is not supported"),
    ("account a\nhost h\nproxy_host socks.example\n", 3, "proxy_host", "command proxy_host is not supported"),
    ("account a\nhost h\nset_from_header on\n", 3, "set_from_header", "sent unchanged"),
    ("account a\nhost h\ntls_crl_file /x.pem\n", 3, "tls_crl_file", "not supported"),
    ("account a\nhost h\ntls_fingerprint 01:02:03\n", 3, "tls_fingerprint", "invalid argument 01:02:03"),
    ("account a\nhost h\nsyslog LOG_KERN\n", 3, "syslog", "invalid argument LOG_KERN"),
    ("defaults now\n", 1, "defaults", "does not take an argument"),
    ("account b : a\n", 1, "account", "account a not (yet) defined"),
    ("account a\nhost h\naccount a\n", 3, "account", "account a was already defined"),
    ("account\n", 1, "account", "missing account name"),
    ("account a,b\n", 1, "account", "must not contain colons or commas"),
    ("account a\ntls_nocertcheck off\n", 2, "tls_nocertcheck", "does not take an argument"),
    # control characters (only LF ends a line; a lone CR, VT, FF, NUL... are
    # refused where they stand, so the line numbers stay right)
    ("account a\nhost h\npasswordeval \"printf x\x00y\"\n", 3, "passwordeval", "control character U+0000"),
    ("account a\nhost h\ndomain ex\x01ample\n", 3, "domain", "control character U+0001 in the argument"),
    ("account a\nhost h\ndomain a\rRSET\nport 25\n", 3, "domain", "control character U+000D"),
    ("account a\x0b\nhost h\n", 1, "account", "control character U+000B"),
    ("account a\n# \x0c a comment\nhost h\nlogfile /tmp/l\x85og\n", 4, "logfile", "control character U+0085"),
    ("account a\nhost h\nlogfile_time_format \"%b\x00\"\n", 3, "logfile_time_format", "U+0000"),
    # numbers as C's strtol(s, &end, 0) reads them (msmtp's get_pos_int)
    ("account a\nhost h\nport 2_5\n", 3, "port", "invalid argument 2_5 for command port"),
    ("account a\nhost h\nport \u0662\u0665\n", 3, "port", "invalid argument"),
    ("account a\nhost h\nport 08\n", 3, "port", "invalid argument 08"),
    ("account a\nhost h\ntimeout 0x\n", 3, "timeout", "invalid argument 0x"),
    # domain is the EHLO argument: one ASCII word of at most 255 characters
    ("account a\nhost h\ndomain two words\n", 3, "domain", "EHLO takes one domain name"),
    ("account a\nhost h\ndomain " + "x" * 256 + "\n", 3, "domain", "longer than 255 characters"),
    ("account a\nhost h\ndomain a..\u00e9\n", 3, "domain", "not a domain name IDNA can encode"),
    # ours: never a search of $PATH
    ("account a\nsendmail_path sendmail\n", 2, "sendmail_path", "a path is needed, e.g. /usr/sbin/sendmail"),
])
def test_errors_name_file_line_and_command(text, line, key, words):
    with pytest.raises(ConfigError) as info:
        parse(text, "/etc/msmtprc")
    e = info.value
    assert (e.path, e.line, e.key) == ("/etc/msmtprc", line, key)
    assert str(e).startswith("/etc/msmtprc: line %d: " % line) and words in str(e)
    assert key in str(e)


def test_only_lf_ends_a_line_as_in_msmtp():
    # str.splitlines() would also split at U+2028, U+0085, FF, VT, FS, lone CR
    c = parse("account a\r\nhost h\u2028port 99\r\nuser \u00e9\u2029x\n", "f")
    (a,) = c.accounts
    assert (a.host, a.port, a.user) == ("h\u2028port 99", None, "\u00e9\u2029x")
    # a # after an argument is part of it (msmtp: only whole-line comments)
    assert parse("account a\nhost h\npassword p#w # x\n", "f").accounts[0].password == "p#w # x"


def test_an_international_domain_goes_in_its_idna_form():
    # it went out as raw UTF-8 in EHLO
    assert parse("account a\nhost h\ndomain b\u00fccher.example\n", "f").accounts[0].domain == \
        "xn--bcher-kva.example"


def test_numbers_are_read_as_msmtp_reads_them():
    for text, n in (("25", 25), ("0x19", 25), ("0X1a", 26), ("031", 25), ("+25", 25), ("\"587\"", 587)):
        assert parse("account a\nhost h\nport %s\n" % text, "f").accounts[0].port == n
    assert parse("account a\nhost h\ntimeout 010\n", "f").accounts[0].timeout == 8.0


def test_from_and_domain_patterns_as_msmtp(monkeypatch, tmp_path):
    # msmtp 1.8.7 (from) and 1.8.16 (domain): they were taken literally, so
    # EHLO said "%H" and "from %U@%H" never chose its account
    import socket

    monkeypatch.setenv("USER", "batch")
    c = parse("account default\nhost h\nfrom %U@%H\ndomain %H\naccount b\nhost h\n"
              "from 100%%@x.example\ndomain %U.%X\n", "f")
    a, b = c.accounts
    assert (a.from_, a.domain) == ("batch@" + socket.gethostname(), socket.gethostname())
    assert (b.from_, b.domain) == ("100%@x.example", "%U.%X")  # %U is not for domain; unknown ones stay
    assert c.choose("batch@" + socket.gethostname()) is a
    if not os.path.exists("/etc/mailname"):
        with pytest.raises(ConfigError) as info:
            parse("account a\nhost h\nfrom %U@%M\n", "f")
        assert str(info.value) == "f: line 3: account a: command from %M: cannot read /etc/mailname (no such file or directory)"


def test_from_matching_follows_msmtp():
    assert from_matches("Joe@Example.ORG", "joe@example.org")  # case-insensitive
    assert from_matches("joe+lists@example.org", "joe@example.org")  # sub-address
    assert not from_matches("joe@example.org", "joe+lists@example.org")
    assert from_matches("anyone@example.org", "*@example.org")
    assert from_matches("joe7@example.org", "joe?@example.org")
    assert from_matches("bar+baz@example.org", "*@example.org")  # wildcard wins over sub-address rule
    assert not from_matches("joe@example.org.evil", "*@example.org")
    assert from_matches("joe@b.example", "joe@[ab].example")


def test_choose_first_matching_account_then_default():
    c = parse("account a\nhost a\nfrom *@a.example\naccount b\nhost b\nfrom *@a.example\n"
              "account default\nhost d\n", "f")
    assert c.choose("x@a.example").name == "a"
    assert c.choose("x@elsewhere").name == "default"
    assert parse("account a\nhost a\nfrom x@a.example\n", "f").choose("y@b") is None


def _write(tmp_path, text, mode=0o600):
    p = tmp_path / "msmtprc"
    p.write_text(text)
    os.chmod(p, mode)
    return str(p)


def test_load_refuses_a_readable_file_holding_a_password(tmp_path):
    path = _write(tmp_path, "account default\nhost h\nauth on\nuser u\npassword secret\n", 0o644)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == path + ": contains secrets and therefore must have no more than user " \
                                     "read/write permissions"
    assert "secret\n" not in str(info.value)
    os.chmod(path, 0o600)
    assert load(path).accounts[0].password == "secret"
    # passwordeval keeps no secret in the file: no permission rule
    path = _write(tmp_path, "account default\nhost h\nauth on\nuser u\npasswordeval echo x\n", 0o644)
    assert load(path).accounts[0].passwordeval == "echo x"


def test_load_refuses_a_file_others_can_change(tmp_path):
    # passwordeval/sendmail_path run commands: whoever can write the file
    # could run commands as the script's user (msmtp, OpenSSH: same rule)
    text = "account default\nhost h\nauth on\nuser u\npasswordeval echo x\n"
    path = _write(tmp_path, text, 0o666)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == (path + ": must not be writable by others: whoever can change it can make "
                               "pysmtp-tcl run commands (passwordeval, sendmail_path) and redirect mail "
                               "(chmod go-w)")
    os.chmod(path, 0o644)
    assert load(path).accounts[0].passwordeval == "echo x"


def test_load_refuses_a_file_owned_or_writable_by_someone_else(tmp_path):
    import grp
    import pwd

    if os.geteuid() != 0:
        pytest.skip("needs root to give a file away")
    path = _write(tmp_path, "account default\nsendmail_path /usr/sbin/sendmail\n", 0o660)
    me = pwd.getpwuid(0)
    if all(m == me.pw_name for m in grp.getgrgid(me.pw_gid).gr_mem):
        assert load(path).accounts[0].sendmail_path  # the owner's private group (umask 002)
    other_group = next(g for g in grp.getgrall() if g.gr_gid != me.pw_gid)
    os.chown(path, 0, other_group.gr_gid)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert "must not be writable by its group" in str(info.value)
    os.chmod(path, 0o644)
    assert load(path).accounts[0].sendmail_path
    os.chown(path, 65534, -1)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value).startswith(path + ": must be owned by you or root")


def test_load_is_bounded_and_skips_a_byte_order_mark(tmp_path):
    with pytest.raises(ConfigError) as info:
        load("/dev/zero")  # read at most 1 MiB, never without bound
    assert str(info.value) == "/dev/zero: longer than 1024 KiB: not a configuration file"
    path = tmp_path / "bom"
    path.write_bytes(b"\xef\xbb\xbfaccount default\r\nhost h\r\n")
    assert load(str(path)).accounts[0].host == "h"


def test_load_checks_the_accounts_that_can_be_chosen(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, "account default\nport 25\n"))
    assert "line 1: account default: host not set" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, "account default\nhost h\nauth on\n"))
    assert "needs a user name" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, "account default\nhost h\nauth on\nuser u\n"))
    assert "needs password or passwordeval" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, "account default\nhost h\ntls on\ntls_trust_file\n"))
    assert "tls requires either tls_trust_file" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, "account default\nhost h\ntls_cert_file /c.pem\n"))
    assert "tls_cert_file requires tls_key_file" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, "account a\nhost h\n"))
    assert "no account can be used" in str(info.value)
    # a template account (no from, not default) may be incomplete
    c = load(_write(tmp_path, "account common\ntls on\naccount default : common\nhost h\n"))
    assert c.account("default").tls
    with pytest.raises(ConfigError) as info:
        load(str(tmp_path / "missing"))
    assert "no such file" in str(info.value)


def test_sendmail_path_is_ours_and_needs_no_host(tmp_path):
    c = load(_write(tmp_path, "account default\nsendmail_path /usr/sbin/sendmail\nlogfile -\n"))
    assert c.accounts[0].sendmail_path == "/usr/sbin/sendmail" and c.accounts[0].logfile == "-"
