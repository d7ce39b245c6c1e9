# Send small messages to 127.0.0.1:port, one smtp::sendmessage (connection)
# each, until `count` are sent or `seconds` have passed.
# Usage: send_loop.tcl port count seconds   (run by bench/run.py)
# Prints: load=<s to package require> sent=<n> seconds=<s spent sending>
set t0 [clock microseconds]
package require smtp
package require mime
set load [expr {([clock microseconds] - $t0) / 1e6}]
lassign $argv port count seconds
set start [clock microseconds]
set deadline [expr {$start + int($seconds * 1e6)}]
set n 0
while {$n < $count && [clock microseconds] < $deadline} {
    set tok [mime::initialize -canonical text/plain \
        -string "A small benchmark message.\nSecond line.\n"]
    set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -usetls 0 \
        -originator bench@client.test -header {To sink@sink.test} -header {Subject bench}]
    if {$r ne ""} { error "refused: $r" }
    mime::finalize $tok
    incr n
}
set secs [expr {([clock microseconds] - $start) / 1e6}]
puts "load=$load sent=$n seconds=$secs"
