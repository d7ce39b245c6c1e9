# Send one small message to `count` recipients (one smtp::sendmessage).
# Usage: send_rcpts.tcl port count   (run by bench/run.py, through its delay proxy)
# Prints: load=<s to package require> sent=1 seconds=<s spent sending>
set t0 [clock microseconds]
package require smtp
package require mime
set load [expr {([clock microseconds] - $t0) / 1e6}]
lassign $argv port count
set rcpts {}
for {set i 0} {$i < $count} {incr i} { lappend rcpts "sink$i@sink.test" }
set tok [mime::initialize -canonical text/plain -string "A small benchmark message.\nSecond line.\n"]
set start [clock microseconds]
set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -usetls 0 -maxsecs 600 \
    -originator bench@client.test -recipients [join $rcpts ,] \
    -header {To sink@sink.test} -header {Subject bench}]
if {$r ne ""} { error "refused: $r" }
set secs [expr {([clock microseconds] - $start) / 1e6}]
mime::finalize $tok
puts "load=$load sent=1 seconds=$secs"
