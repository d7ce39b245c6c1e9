"""The differential scenarios, as data.

Each :class:`~.harness.Scenario` is one Tcl script run under real tcllib
and under pysmtp-tclsh against fresh scripted servers with the ``servers``
configuration (keys of :class:`support.scripted.ScriptedServer`, plus
``tls``/``implicit``; ``"__close__"`` as the last line of a reply sends the
lines before it and then drops the connection; ``mail``/``rcpt``/
``data_end``/``rset`` may be a list of replies, one per command in turn).
``differences`` declares
what is expected to differ, citing COMPATIBILITY.md's ``## smtp`` table.
"""
from __future__ import annotations

from dataclasses import replace

from .harness import Diff, Scenario, with_pipelining_runs

#: the usual envelope
ENV = "-debug 1 -originator a@example.com -header {To r@example.org} -header {Subject test}"
RCPT = "-debug 1 -originator a@example.com -recipients r@example.org"

EHLO_ALL = ["250-test.example", "250-PIPELINING", "250-8BITMIME", "250-SMTPUTF8",
            "250-ENHANCEDSTATUSCODES", "250 HELP"]
DOOMED = {"rcpt_map": {"gone@": ["550-5.1.1 The email account does not exist.",
                                 "550 5.1.1 Please check the address."]}}

#: the Bcc copy is a multipart/digest: tcllib 1.21's has its boundary twice
#: (mime 1.7.1, in tcllib 2.0, fixed it)
BCC_M2 = Diff("data", "S14", "Bcc digest: tcllib writes the multipart boundary twice (M2)",
              theirs=r'boundary="<boundary-0>"\r\n;\r\n',
              ours=r'multipart/digest;\r\n\s+boundary="<boundary-0>"\r\n\r\n--<boundary-0>\r\n',
              tcllib=("1.21",))

#: SIZE counts the CRLF both add after a last line without one (RFC 1870 §5)
SIZE_S20 = Diff("commands", "S20", "tcllib's SIZE leaves out the CRLF it adds before the dot",
                theirs=r"SIZE=<len\(DATA\)-2>", ours=r"SIZE=<len\(DATA\)\+0>")
#: a failed EHLO/HELO names itself; tcllib repeats the greeting's text
EHLO_S21 = Diff("result", "S21", "tcllib reports the greeting's text for a failed EHLO/HELO",
                theirs=r"^test\.example ESMTP scripted$", ours=r"^(EHLO|HELO) to 127\.0\.0\.1 failed: ")

S = Scenario
SCENARIOS = [
    # -- header sets and envelope derivation ------------------------------------
    S("plain", ENV),
    S("originator_from_from_header",
      '-debug 1 -header {From {"Joe Q. Public" <joe@example.com>}} -header {To r@example.org}'),
    S("originator_empty_null_reverse_path",
      '-debug 1 -originator {} -header {To r@example.org} -header {Subject null}'),
    S("originator_absent_no_from_uses_user", "-debug 1 -header {To r@example.org}"),
    S("originator_differs_from_from_adds_sender",
      "-debug 1 -originator a@example.com -header {From b@example.com} -header {To r@example.org}"),
    S("sender_header_given",
      "-debug 1 -originator a@example.com -header {From b@example.com} -header {Sender c@example.com} "
      "-header {To r@example.org}"),
    S("to_cc_dcc_recipients",
      "-debug 1 -originator a@example.com -header {To {t1@example.org, t2@example.org}} "
      "-header {cc c@example.org} -header {Dcc d@example.org} -header {Subject cc}"),
    S("several_to_headers",
      "-debug 1 -originator a@example.com -header {To t1@example.org} -header {To t2@example.org}"),
    S("recipients_override_headers",
      "-debug 1 -originator a@example.com -header {To t@example.org} -header {cc c@example.org} "
      "-recipients {x@example.org, \"Y Why\" <y@example.org>}"),
    S("bare_local_parts_get_hostname", "-debug 1 -originator joe -recipients ann"),
    S("bcc_digest_same_connection",
      "-debug 1 -originator a@example.com -header {To t@example.org} -header {Bcc b@example.org} "
      "-header {Subject secret}", differences=[BCC_M2]),
    S("bcc_without_to_adds_empty_bcc",
      "-debug 1 -originator a@example.com -recipients r@example.org -header {Bcc b@example.org}",
      differences=[BCC_M2]),
    S("resent_headers",
      "-debug 1 -header {Resent-From fwd@example.com} -header {Resent-To new@example.org} "
      "-header {Resent-cc rc@example.org} -header {Subject fwd}"),
    S("resent_bcc_digest",
      "-debug 1 -header {Resent-From fwd@example.com} -header {Resent-To new@example.org} "
      "-header {Resent-Bcc rb@example.org}", differences=[BCC_M2]),
    S("date_and_message_id_on_token",
      ENV, setup="mime::setheader $tok Date {Sat, 01 Jan 2000 00:00:00 +0000}\n"
                 "mime::setheader $tok Message-ID {<fixed@example.com>}"),
    S("date_given_with_header",
      ENV + " -header {Date {Sat, 01 Jan 2000 00:00:00 +0000}} -header {X-Mailer diff}"),
    S("multipart_message",
      ENV, script=r"""
set a [mime::initialize -canonical text/plain -string "part one\n.\n..dots\n"]
set b [mime::initialize -canonical application/octet-stream -encoding base64 -string "\x00\x01\x02binary"]
set tok [mime::initialize -canonical multipart/mixed -parts [list $a $b]]
set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports @PORT0@ """ + ENV + r"""} res ropts]
report $code $res $ropts
""", differences=[Diff("data", "S14", "multipart boundary twice (M2), CTE twice (M1), QP lone dot (T1)",
                       theirs=r"part one=2E\r\n")]),
    S("dot_stuffing_and_long_lines", RCPT,
      body="{.leading dot\n.\n..\nplain line\n" + "x" * 300 + "\nend}",
      differences=[Diff("data", "S14", "QP: tcllib loses the line break before a lone dot (T1), CTE twice (M1)",
                        ours=r"\.\.leading dot\r\n=2E\r\n", theirs=r"\.\.leading dot=2E\r\n")]),
    # -- envelope errors (before connecting) -------------------------------------
    S("error_need_to_header", "-debug 1 -originator a@example.com -header {Subject no-to}"),
    S("error_too_many_mailboxes", "-debug 1 -originator {a@example.com, b@example.com} -recipients r@example.org"),
    S("error_bad_recipient_address", "-debug 1 -originator a@example.com -recipients {<broken@}"),
    S("error_forbidden_header", "-debug 1 -originator a@example.com -header {Content-Type text/html}"),
    S("error_odd_option_count", "-debug 1 -originator"),
    S("error_unknown_option", "-debug 1 -bogus 1"),
    S("error_bad_boolean", "-atleastone maybe"),
    # -- -atleastone and RCPT results ------------------------------------------
    S("mixed_rcpt_atleastone_0", "-debug 1 -originator a@example.com -atleastone 0 "
      "-recipients {good@example.org, gone@example.org}", servers=[DOOMED]),
    S("mixed_rcpt_atleastone_1", "-debug 1 -originator a@example.com -atleastone 1 "
      "-recipients {good@example.org, gone@example.org}", servers=[DOOMED]),
    S("all_rcpt_refused_atleastone_1", "-debug 1 -originator a@example.com -atleastone 1 "
      "-recipients {gone@example.org, gone2@example.org}",
      servers=[{"rcpt": ["550 5.1.1 No such user"]}]),
    S("rcpt_251_450_553", "-debug 1 -originator a@example.com -atleastone yes "
      "-recipients {fwd@example.org, later@example.org, bad@example.org, ok@example.org}",
      servers=[{"rcpt_map": {"fwd@": ["251 2.1.5 User not local; will forward"],
                             "later@": ["450 4.2.1 Mailbox busy"],
                             "bad@": ["553"]}}]),
    # -- replies at every stage -----------------------------------------------------
    S("greeting_421", RCPT, servers=[{"greeting": ["421 4.3.2 Service not available"]}]),
    S("greeting_554", RCPT, servers=[{"greeting": ["554 5.3.2 No SMTP service here"]}]),
    S("greeting_multiline_and_bare_code", RCPT,
      servers=[{"greeting": ["220-test.example ESMTP", "220-second line", "220"]}]),
    S("greeting_eof", RCPT, servers=[{"greeting": ["__close__"]}]),
    S("ehlo_502_falls_back_to_helo", RCPT, servers=[{"ehlo": ["502 5.5.2 Command not recognized"]}]),
    S("ehlo_421_no_helo", RCPT, servers=[{"ehlo": ["421 4.3.0 Try later"]}], differences=[EHLO_S21]),
    S("ehlo_and_helo_550", RCPT, servers=[{"ehlo": ["550 no"], "helo": ["550 5.7.1 go away"]}],
      differences=[EHLO_S21]),
    S("mail_550", RCPT, servers=[{"mail": ["550 5.7.1 Sender rejected"]}]),
    S("mail_451_multiline", RCPT, servers=[{"mail": ["451-4.3.0 Temporary failure", "451 4.3.0 try again"]}]),
    S("data_554", RCPT, servers=[{"data": ["554 5.3.0 No thanks"]}]),
    S("data_354_bare", RCPT, servers=[{"data": ["354"]}]),
    S("final_552", RCPT, servers=[{"data_end": ["552 5.3.4 Message too big"]}]),
    S("final_451", RCPT, servers=[{"data_end": ["451 4.3.0 Local error"]}]),
    S("final_multiline_250", RCPT, servers=[{"data_end": ["250-2.0.0 Ok", "250 queued as X1"]}]),
    S("replies_without_text", RCPT,
      servers=[{"greeting": ["220"], "ehlo": ["250"], "mail": ["250"], "rcpt": ["250"],
                "data": ["354"], "data_end": ["250"], "quit": ["221"]}]),
    S("reply_too_short", RCPT, servers=[{"mail": ["25"]}]),
    S("reply_unrecognizable_code", RCPT, servers=[{"rcpt": ["abc what"]}]),
    S("eof_after_data", RCPT, servers=[{"data_end": ["__close__"]}]),
    S("eof_at_mail", RCPT, servers=[{"mail": ["__close__"]}]),
    S("final_reply_stalls_maxsecs_1", RCPT + " -maxsecs 1",
      servers=[{"data_end": ["__stall__"]}], timeout=20),
    S("maxsecs_0", RCPT + " -maxsecs 0"),
    # -- advertised extensions ------------------------------------------------------
    S("ehlo_many_extensions", ENV, servers=[{"ehlo": EHLO_ALL}]),
    S("size_declared", ENV, servers=[{"ehlo": ["250-test.example", "250-SIZE 1000000", "250 HELP"]}],
      differences=[SIZE_S20]),
    S("size_and_bcc", ENV + " -header {Bcc b@example.org}",
      servers=[{"ehlo": ["250-test.example", "250-SIZE", "250 HELP"]}], differences=[BCC_M2, SIZE_S20]),
    S("onex_sent_without_bcc", ENV,
      servers=[{"ehlo": ["250-test.example", "250-ONEX", "250 HELP"], "verbs": {"ONEX": ["250 2.0.0 one"]}}]),
    S("onex_not_sent_with_bcc", ENV + " -header {Bcc b@example.org}",
      servers=[{"ehlo": ["250-test.example", "250-ONEX", "250 HELP"], "verbs": {"ONEX": ["250 2.0.0 one"]}}],
      differences=[BCC_M2]),
    S("xque_queue_1", ENV + " -queue 1",
      servers=[{"ehlo": ["250-test.example", "250-XQUE", "250 HELP"], "verbs": {"QUED": ["250 queued"]}}]),
    S("xque_queue_0", ENV + " -queue 0",
      servers=[{"ehlo": ["250-test.example", "250-XQUE", "250 HELP"], "verbs": {"QUED": ["250 queued"]}}]),
    S("queue_1_without_xque", ENV + " -queue 1"),
    S("starttls_used", ENV, servers=[{"tls": True}]),
    S("starttls_usetls_0", ENV + " -usetls 0", servers=[{"tls": True}]),
    S("starttls_454_default_policy_insecure", ENV,
      servers=[{"tls": True, "starttls": ["454 4.7.0 TLS not available"]}]),
    S("starttls_454_policy_secure", ENV + " -tlspolicy policy",
      setup='proc policy {code diag} { puts "policy $code {$diag}"; return secure }',
      servers=[{"tls": True, "starttls": ["454 4.7.0 TLS not available"]}]),
    S("starttls_454_policy_insecure", ENV + " -tlspolicy policy",
      setup='proc policy {code diag} { puts "policy $code {$diag}"; return insecure }',
      servers=[{"tls": True, "starttls": ["454 4.7.0 TLS not available"]}]),
    S("tlsimport_implicit_tls", ENV + " -tlsimport 1", servers=[{"implicit": True}]),
    S("auth_advertised_no_username", ENV,
      servers=[{"ehlo": ["250-test.example", "250-AUTH PLAIN LOGIN", "250 HELP"]}]),
    S("auth_login_without_debug",
      "-originator a@example.com -recipients r@example.org -username joe -password s3cret",
      servers=[{"ehlo": ["250-test.example", "250-AUTH LOGIN", "250 HELP"], "auth_users": {"joe": "s3cret"}}]),
    S("auth_equals_form_plain",
      "-originator a@example.com -recipients r@example.org -username joe -password s3cret",
      servers=[{"ehlo": ["250-test.example", "250-AUTH=PLAIN", "250 HELP"], "auth_users": {"joe": "s3cret"}}]),
    S("auth_cram_md5_preferred",
      "-originator a@example.com -recipients r@example.org -username joe -password s3cret",
      servers=[{"ehlo": ["250-test.example", "250-AUTH PLAIN LOGIN CRAM-MD5", "250 HELP"],
                "auth_users": {"joe": "s3cret"}}]),
    S("auth_after_starttls",
      "-originator a@example.com -recipients r@example.org -username joe -password s3cret",
      servers=[{"tls": True, "ehlo": ["250-test.example", "250 HELP"],
                "ehlo_tls": ["250-test.example", "250-AUTH PLAIN", "250 HELP"],
                "auth_users": {"joe": "s3cret"}}]),
    # -- server and port lists -------------------------------------------------
    S("dead_then_good", RCPT, dead=1,
      target="-servers {127.0.0.1 127.0.0.1} -ports {@DEAD0@ @PORT0@}"),
    S("all_dead", RCPT, dead=2, servers=[],
      target="-servers {127.0.0.1 127.0.0.1} -ports {@DEAD0@ @DEAD1@}"),
    S("greeting_421_then_good", RCPT,
      servers=[{"greeting": ["421 4.3.2 busy"]}, {}],
      target="-servers {127.0.0.1 127.0.0.1} -ports {@PORT0@ @PORT1@}"),
    S("ehlo_refused_then_good", RCPT,
      servers=[{"ehlo": ["421 4.3.0 bye"]}, {}],
      target="-servers {127.0.0.1 127.0.0.1} -ports {@PORT0@ @PORT1@}"),
    S("empty_server_entry_skipped", RCPT, dead=1,
      target="-servers {{} 127.0.0.1} -ports {@DEAD0@ @PORT0@}"),
    S("dead_421_dead_good", RCPT, dead=2,
      servers=[{"greeting": ["421 4.3.2 busy"]}, {}],
      target="-servers {127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1} -ports {@DEAD0@ @PORT0@ @DEAD1@ @PORT1@}"),
]

# -- where we deliberately differ (COMPATIBILITY.md ## smtp) -----------------------
FILE_SETUP = r"""
set f [file join [pwd] att.txt]
set fd [open $f w]; puts -nonewline $fd [string repeat "data\n" 100]; close $fd
set tok [mime::initialize -canonical text/plain -file $f]
"""
ALL = "commands data code result errorcode stderr"
SCENARIOS += [
    S("s1_crlf_and_bare_cr_body", RCPT,
      setup='set tok [mime::initialize -canonical text/plain -encoding 8bit '
            '-string "line one\\r\\nline two\\rstill two\\nline three"]',
      differences=[Diff("data", "S1", "tcllib: CRLF in the body becomes CR CR LF, bare CR reaches the wire",
                        theirs=r"line one\r\r\nline two\rstill two\r\nline three",
                        ours=r"line one\r\nline two\r\nstill two\r\nline three"),
                   Diff("data", "S14", "8bit leaf: Content-Transfer-Encoding twice (M1)")]),
    S("s2_second_send_of_same_token", ENV, after=r"""
puts "names after send: [mime::getheader $tok -names]"
set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports @PORT0@ -originator b@example.com -header {To second@example.org}} res ropts]
puts "second: $code $res"
""", differences=[Diff("data", "S2", "tcllib's second copy repeats To/From/Subject of the first",
                       theirs=r"To: r@example\.org\r\nTo: second@example\.org"),
                  Diff("stdout", "S2", "tcllib leaves the added headers on the token",
                       theirs="names after send: Content-ID To Subject From Date Message-ID",
                       ours="names after send: Content-ID$")]),
    S("s3_header_injection_in_header_value", ENV.replace("-header {Subject test}", "")
      + ' -header [list Subject "x\\nX-Injected: yes"]',
      differences=[Diff(ALL, "S3", "tcllib sends a forged header field; we refuse before connecting",
                        theirs=r"Subject: x\r\nX-Injected: yes")]),
    S("s3_crlf_in_recipients", '-debug 1 -originator a@example.com '
      '-recipients "r@example.org>\\r\\nRCPT TO:<evil@example.org"',
      differences=[Diff("result", "S3", "both refuse; ours names the option and the character",
                        theirs="^error in -recipients: ",
                        ours=r"^-recipients value .* cannot be used in SMTP commands: it contains CR"),
                   Diff("errorcode", "S3", "ours: SMTP BADINPUT <option>", ours="^SMTP BADINPUT -recipients$")]),
    S("s3_crlf_in_client", '-debug 1 -originator a@example.com -recipients r@example.org '
      '-client "vm\\r\\nXINJECT"', servers=[{"verbs": {"XINJECT": []}}],
      differences=[Diff(ALL, "S3", "tcllib writes the line break into EHLO (an injected command)",
                        theirs=r"EHLO vm \| XINJECT \| MAIL", ours=r"^-client value")]),
    S("s4_non_ascii_address_with_smtputf8",
      '-debug 1 -originator a@example.com -recipients "jos\\u00e9@example.org"',
      servers=[{"ehlo": ["250-test.example", "250-SMTPUTF8", "250 HELP"]}],
      differences=[Diff("commands stderr", "S4", "tcllib truncates to 8 bits; ours: UTF-8 and SMTPUTF8",
                        ours=r"MAIL FROM:<a@example\.com> SMTPUTF8")]),
    S("s4_non_ascii_address_without_smtputf8",
      '-debug 1 -originator a@example.com -recipients "jos\\u00e9@example.org"',
      differences=[Diff(ALL, "S4", "tcllib sends the address truncated to 8 bits; ours: a clear error",
                        ours="not ASCII and the server does not offer SMTPUTF8")]),
    S("s5_starttls_220_then_hangup", ENV, servers=[{"tls": True, "starttls": ["220 Ready", "__close__"]}],
      differences=[Diff("result errorcode stderr", "S5",
                        "tcllib ignores the failed handshake and talks on; ours says the handshake failed",
                        ours="TLS handshake")]),
    S("s6_auth_refused", "-debug 1 -originator a@example.com -recipients r@example.org -username joe -password wrong",
      servers=[{"ehlo": ["250-test.example", "250-AUTH LOGIN", "250 HELP"], "auth_users": {"joe": "s3cret"}}],
      differences=[Diff("commands data code result stderr", "S6",
                        "tcllib sends unauthenticated after AUTH failed; ours returns code 7",
                        ours="code 535"),
                   Diff("stderr", "S7", "tcllib prints the base64 credentials", ours=r"\[credentials redacted\]")]),
    S("s7_auth_debug_lines", "-debug 1 -originator a@example.com -recipients r@example.org "
      "-username joe -password s3cret",
      servers=[{"ehlo": ["250-test.example", "250-AUTH LOGIN", "250 HELP"], "auth_users": {"joe": "s3cret"}}],
      differences=[Diff("stderr", "S7", "tcllib prints the base64 credentials",
                        theirs=r"--> czNjcmV0 \(wait", ours=r"--> \[credentials redacted\]")]),
    S("s8_file_vanishes_before_data", RCPT, script=FILE_SETUP + r"""
file delete $f
set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports @PORT0@ """ + RCPT + r"""} res ropts]
report $code $res $ropts
""", differences=[Diff("commands data", "S8",
                       "tcllib ends DATA with a dot (an empty message is delivered); ours drops the connection",
                       ours=r"aborted: EOF before the final dot")]),
    S("s9_bcc_recipient_refused", ENV + " -header {Bcc b@example.org}",
      servers=[{"rcpt_map": {"b@": ["550 5.1.1 no such bcc"]}}]),
    S("s9_main_and_bcc_refused_atleastone", ENV.replace("-header {To r@example.org}",
      "-header {To {r@example.org, gone@example.org}}") + " -atleastone 1 -header {Bcc {b@example.org, b2@example.org}}",
      servers=[{"rcpt_map": {"gone@": ["550 5.1.1 gone"], "b@": ["550 5.1.1 no such bcc"]}}],
      differences=[Diff("result", "S9", "tcllib string-appends the Bcc failures: not a valid list",
                        theirs=r"\}\}\{b@", ours=r"\}\} \{b@"), BCC_M2]),
    S("s9_bcc_transaction_fails", ENV + " -header {Bcc b@example.org}",
      servers=[{"data_end": [["250 2.0.0 Ok: queued"], ["554 5.7.1 digest refused"]]}],
      differences=[Diff("code result", "S9", "tcllib ignores the failed Bcc transaction (success)",
                        ours="554"), BCC_M2]),
    S("s10_maxsecs_not_a_number", RCPT + " -maxsecs abc",
      differences=[Diff(ALL, "S10", "tcllib takes abc (a 600 s wait); ours refuses it",
                        theirs=r"wait upto abc seconds", ours="-maxsecs expects a number")]),
    S("s10_maxsecs_fraction", RCPT + " -maxsecs 1.5",
      differences=[Diff("commands code result errorcode stderr", "S10",
                        "tcllib fails in after 1500.0 once the message is sent; ours waits 1.5 s",
                        theirs=r'bad argument "1500\.0"')]),
    S("s11_lowercase_size_keyword", ENV, servers=[{"ehlo": ["250-test.example", "250-size 1000000", "250 HELP"]}],
      differences=[Diff("commands stderr", "S11", "ours matches EHLO keywords case-insensitively",
                        ours=r"SIZE=")]),
]

# -- more corners ---------------------------------------------------------------
SCENARIOS += [
    S("tlspolicy_raises_error", ENV + " -tlspolicy policy",
      setup='proc policy {code diag} { error "no policy today" }',
      servers=[{"tls": True, "starttls": ["454 4.7.0 TLS not available"]}]),
    S("tlspolicy_secure_then_next_server", ENV + " -tlspolicy policy",
      setup='proc policy {code diag} { return secure }',
      servers=[{"tls": True, "starttls": ["454 4.7.0 TLS not available"]}, {}],
      target="-servers {127.0.0.1 127.0.0.1} -ports {@PORT0@ @PORT1@}"),
    S("starttls_then_ehlo_refused", ENV,
      servers=[{"tls": True, "ehlo_tls": ["554 5.7.0 not after TLS"], "helo": ["554 5.7.0 nor HELO"]}],
      differences=[EHLO_S21]),
    S("tls_keyword_alone_starts_tls", ENV,
      servers=[{"tls": True, "ehlo": ["250-test.example", "250-X-NOT-STARTTLS", "250 TLS"]}]),
    S("extension_keywords_with_parameters", ENV + " -queue 1",
      servers=[{"ehlo": ["250-test.example", "250-XQUE now", "250-ONEX please", "250 HELP"],
                "verbs": {"QUED": ["250 queued"], "ONEX": ["250 one"]}}]),
    S("qued_and_onex_refused", ENV + " -queue 1",
      servers=[{"ehlo": ["250-test.example", "250-XQUE", "250-ONEX", "250 HELP"],
                "verbs": {"QUED": ["502 no"], "ONEX": ["500 never"]}}]),
    S("bad_port_then_good", RCPT, target="-servers {127.0.0.1 127.0.0.1} -ports {notaport @PORT0@}"),
    S("port_too_high", RCPT, servers=[], target="-servers 127.0.0.1 -ports 99999"),
    S("bad_port_only", RCPT, servers=[], target="-servers 127.0.0.1 -ports notaport"),
    S("ehlo_eof", RCPT, servers=[{"ehlo": ["__close__"]}], differences=[EHLO_S21]),
    S("greeting_continuation_other_code", RCPT,
      servers=[{"greeting": ["220-test.example hello", "554 but no"]}]),
    S("ehlo_multiline_mixed_codes", ENV,
      servers=[{"ehlo": ["250-test.example", "251-SIZE 1000", "250 HELP"]}], differences=[SIZE_S20]),
    S("rset_refused_after_all_rcpt_refused", "-debug 1 -originator a@example.com -recipients gone@example.org",
      servers=[{"rcpt": ["550 no"], "rset": ["500 what"]}]),
    S("quit_refused_and_eof", RCPT, servers=[{"quit": ["500 5.5.1 no quitting", "__close__"]}],
      differences=[Diff("code result stderr", "S16", "a reply other than 221/421 to QUIT after a message may be the "
                        "final dot's late reply: tcllib ignores it (success); ours: code 7",
                        ours=r"QUIT was answered \"500 5\.5\.1 no quitting\", not 221")]),
    S("originator_with_display_name", '-debug 1 -originator {"Joe Q" <joe@example.com>} -header {To r@example.org}'),
    S("from_header_two_mailboxes", '-debug 1 -header {From {a@example.com, b@example.com}} -header {To r@example.org}'),
    S("group_syntax_recipients", '-debug 1 -originator a@example.com '
      '-recipients {friends: x@example.org, y@example.org;, z@example.org}'),
    S("two_subjects_bcc_digest_takes_first", ENV + " -header {Subject second} -header {Bcc b@example.org}",
      differences=[BCC_M2]),
    S("no_debug_failure_quiet", "-originator a@example.com -recipients r@example.org",
      servers=[{"mail": ["550 5.7.1 Sender rejected"]}]),
    S("s6_auth_no_usable_mechanism_offered",
      "-debug 1 -originator a@example.com -recipients r@example.org -username joe -password s3cret",
      servers=[{"ehlo": ["250-test.example", "250-AUTH GSSAPI", "250 HELP"]}],
      differences=[Diff("commands data code result stderr", "S6",
                        "tcllib sends unauthenticated when it knows no offered mechanism; ours: code 7",
                        ours="no AUTH mechanism both offered")]),
    S("username_without_auth_offered",
      "-debug 1 -originator a@example.com -recipients r@example.org -username joe -password s3cret"),
]

# -- reply syntax and message content -------------------------------------------
SCENARIOS += [
    S("reply_without_space_and_padded_text", RCPT,
      servers=[{"mail": ["250ok"], "rcpt": ["250    spaced out   "], "data_end": ["250-", "250 "]}]),
    S("data_answered_250", RCPT, servers=[{"data": ["250 2.0.0 no need"]}]),
    S("empty_body", RCPT, body="{}"),
    S("eight_bit_body_utf8", RCPT + " -debug 1",
      setup='set tok [mime::initialize -canonical text/plain -encoding 8bit -string "caf\\u00e9 \\u4e2d\\n"]',
      servers=[{"ehlo": ["250-test.example", "250-SIZE", "250-8BITMIME", "250 HELP"]}],
      differences=[Diff("data", "S14", "8bit leaf: Content-Transfer-Encoding twice (M1)",
                        theirs="Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit"),
                   Diff("commands stderr", "S17", "8-bit content to an 8BITMIME server: BODY=8BITMIME",
                        ours=r"BODY=8BITMIME")]),
    S("non_ascii_subject_header", ENV.replace("-header {Subject test}", '-header {Subject "caf\\u00e9"}'),
      servers=[{"ehlo": ["250-test.example", "250-SIZE", "250 HELP"]}],
      differences=[SIZE_S20, Diff("data", "S14", "non-ASCII header text as an RFC 2047 encoded-word (T17)",
                                  ours=r"^Subject: =\?UTF-8\?Q\?caf=C3=A9\?=\r$",
                                  theirs=r"^Subject: caf\xc3\xa9\r$")]),
    S("non_ascii_display_name_originator", '-debug 1 -originator "Jos\\u00e9 <jose@example.com>" '
      '-header {To r@example.org}',
      differences=[Diff("data", "S14", "a display name as an RFC 2047 encoded-word (T17)",
                        ours=r"^From: =\?UTF-8\?Q\?Jos=C3=A9\?= <jose@example.com>\r$",
                        theirs=r"^From: Jos\xc3\xa9 <jose@example.com>\r$")]),
]

PARSED = (r'"From: old@example.com\nTo: old-rcpt@example.org\nDate: Sat, 01 Jan 2000 00:00:00 +0000\n'
          r'Message-ID: <parsed@example.com>\nSubject: parsed\n\nparsed body\n.\nend\n"')
SCENARIOS += [
    S("parsed_message_keeps_its_date_and_id", RCPT,
      setup="set tok [mime::initialize -string %s]" % PARSED,
      differences=[Diff("data", "S14", "tcllib labels the parsed body quoted-printable without encoding it (M5)",
                        theirs=r"Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain;")]),
    S("localhost_server_default_client", "-debug 1 -originator a@example.com -recipients r@example.org",
      target="-servers localhost -ports @PORT0@"),
    S("client_given", RCPT + " -client mail.example.com"),
    S("maxsecs_negative_is_0", RCPT + " -maxsecs -5"),
    S("malformed_servers_list", RCPT, target="-servers {127.0.0.1 {x}y} -ports @PORT0@"),
    S("malformed_ports_list", RCPT, target="-servers 127.0.0.1 -ports {@PORT0@ \"x\"y}"),
    S("header_one_element", "-debug 1 -originator a@example.com -header To"),
]

# -- batches (their PIPELINING runs matter most) -------------------------------------
MANY = "{%s}" % ", ".join("r%d@example.org" % i for i in range(1, 151))
SCENARIOS += [
    S("data_451", RCPT, servers=[{"data": ["451 4.3.0 Local problem, try later"]}]),
    S("mixed_rcpt_atleastone_0_three", "-debug 1 -originator a@example.com -atleastone 0 "
      "-recipients {one@example.org, gone@example.org, three@example.org}", servers=[DOOMED]),
    S("mixed_rcpt_atleastone_1_three", "-debug 1 -originator a@example.com -atleastone 1 "
      "-recipients {one@example.org, gone@example.org, three@example.org}", servers=[DOOMED]),
    # MAIL + 150 RCPT: two batches of at most 100 commands
    S("recipients_150", "-debug 1 -originator a@example.com -recipients " + MANY),
    S("recipients_150_one_refused_atleastone_0", "-debug 1 -originator a@example.com -recipients " + MANY,
      servers=[{"rcpt_map": {"r120@": ["550 5.1.1 r120 is gone"]}}]),
    S("recipients_150_one_refused_atleastone_1", "-debug 1 -originator a@example.com -atleastone 1 "
      "-recipients " + MANY, servers=[{"rcpt_map": {"r120@": ["550 5.1.1 r120 is gone"]}}]),
]

# -- what only the PIPELINING run shows (COMPATIBILITY.md S24) --------------------
#: MAIL refused (or no reply): RCPT and DATA were written with it; the server
#: refuses them (503), the outcome is tcllib's code 7 with MAIL's reply
PIPE_AFTER_MAIL = Diff("commands stderr", "S24",
                       "RCPT and DATA went in MAIL's batch; the server refuses them after the refused MAIL",
                       ours=r"MAIL FROM:<a@example\.com>.*RCPT TO:<r@example\.org>.*DATA.*RSET.*QUIT")
#: the only recipient (or, with -atleastone 1, every one) refused: the
#: pipelined DATA is refused too (554), then RSET as with tcllib
PIPE_DATA_REFUSED = Diff("commands stderr", "S24",
                         "DATA went in the RCPT batch (one recipient or -atleastone 1): refused, then RSET",
                         ours=r"RCPT TO:<[^>]+>[^\n]*\n?(<-- 5[^\n]*\n)?(--> )?DATA.*RSET")
#: QUIT went with the final dot (the connection ends after the message); a
#: failed final reply is then followed by no RSET (tcllib: RSET and QUIT)
PIPE_QUIT_WITH_DOT = Diff("commands stderr", "S24",
                          "QUIT went in the final dot's write: no RSET after the failed final reply",
                          ours=r"DATA \| QUIT$|--> \. \(wait upto \d+ seconds\)\n[^\n]*\n"
                               r"--> QUIT \(wait upto 120 seconds\)$")
PIPELINED_ONLY = {
    "final_552": [PIPE_QUIT_WITH_DOT],
    "final_451": [PIPE_QUIT_WITH_DOT],
    "eof_after_data": [replace(PIPE_QUIT_WITH_DOT, field="stderr")],
    "final_reply_stalls_maxsecs_1": [replace(PIPE_QUIT_WITH_DOT, field="stderr")],
    "mail_550": [PIPE_AFTER_MAIL],
    "mail_451_multiline": [PIPE_AFTER_MAIL],
    "reply_too_short": [PIPE_AFTER_MAIL],
    "no_debug_failure_quiet": [replace(PIPE_AFTER_MAIL, field="commands")],
    "eof_at_mail": [replace(PIPE_AFTER_MAIL, field="stderr",
                            ours=r"premature end-of-file from server \.\.\.\n--> RCPT TO:<r@example\.org>"
                                 r"[^\n]*\n--> DATA")],
    "all_rcpt_refused_atleastone_1": [PIPE_DATA_REFUSED],
    "reply_unrecognizable_code": [PIPE_DATA_REFUSED],
    "s9_bcc_recipient_refused": [PIPE_DATA_REFUSED],
    "rset_refused_after_all_rcpt_refused": [PIPE_DATA_REFUSED],
}
SCENARIOS = [replace(sc, pipelined=PIPELINED_ONLY[sc.name]) if sc.name in PIPELINED_ONLY else sc
             for sc in SCENARIOS]
assert set(PIPELINED_ONLY) <= {sc.name for sc in SCENARIOS}

#: every scenario, and (for those with a server) its run with PIPELINING
#: advertised (``<name>+pipelining``, see harness.with_pipelining)
RUNS = with_pipelining_runs(SCENARIOS)
