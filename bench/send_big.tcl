# Build (and optionally send) one big message, for peak-RSS measurements.
# Usage: send_big.tcl port file|string path mb send(0|1)   (run by bench/run.py)
#   file:   application/octet-stream, base64, -file path (mb MB of random bytes)
#   string: text/plain, -string of mb MB of 75-character ASCII lines
# Prints: seconds=<s spent in smtp::sendmessage> hwm_kb=<peak RSS, KiB; -1 if unknown>
# (For the start-up cost of each implementation, see send_one.tcl.)
package require smtp
package require mime
lassign $argv port mode path mb send
if {$mode eq "file"} {
    set tok [mime::initialize -canonical application/octet-stream -encoding base64 -file $path]
} else {
    set line "[string repeat abcdefghijklmnopqrstuvwxy 3]\n"
    set tok [mime::initialize -canonical text/plain \
        -string [string repeat $line [expr {$mb * 1048576 / 76}]]]
}
set t [clock microseconds]
if {$send} {
    set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -usetls 0 -maxsecs 600 \
        -originator bench@client.test -header {To sink@sink.test} -header {Subject big}]
    if {$r ne ""} { error "refused: $r" }
}
set secs [expr {([clock microseconds] - $t) / 1e6}]
mime::finalize $tok
# Peak RSS of this process image (VmHWM): a child's ru_maxrss also counts
# the parent's pages it was forked with, before exec.
set hwm -1
if {![catch {open /proc/self/status} f]} {
    regexp {VmHWM:\s+(\d+)} [read $f] -> hwm
    close $f
}
puts "seconds=$secs hwm_kb=$hwm"
