#!/usr/bin/env pysmtp-tclsh
# The example from tcllib's smtp manual page (smtp(n) 1.3.5), unchanged
# except for the closing brace the printed page lost.  The page's own call
# passes too few arguments; below it is called with all four.
#
#   pysmtp-tclsh --capture captured examples/send_simple_message.tcl
#   pysmtp-tclsh examples/send_simple_message.tcl you@example.org mail.example.org

proc send_simple_message {recipient email_server subject body} {
    package require smtp
    package require mime

    set token [mime::initialize -canonical text/plain \
	-string $body]
    mime::setheader $token Subject $subject
    smtp::sendmessage $token \
	-recipients $recipient -servers $email_server
    mime::finalize $token
}

set recipient [expr {$argc > 0 ? [lindex $argv 0] : "postmaster@localhost"}]
set server    [expr {$argc > 1 ? [lindex $argv 1] : "localhost"}]
send_simple_message $recipient $server \
    "This is the subject." "This is the message."
puts "sent to $recipient via $server"
