# Start, load the packages and, given a port, send one small message: the
# whole life of a typical cron-job script.  Without arguments it only does
# `package require smtp mime` (the start-up row).
# Usage: send_one.tcl ?port?   (run by bench/run.py, many times)
package require smtp
package require mime
if {[llength $argv]} {
    set tok [mime::initialize -canonical text/plain -string "A small benchmark message.\nSecond line.\n"]
    set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports [lindex $argv 0] -usetls 0 \
        -originator bench@client.test -header {To sink@sink.test} -header {Subject bench}]
    if {$r ne ""} { error "refused: $r" }
    mime::finalize $tok
}
