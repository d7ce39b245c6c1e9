# smtp.tcl -- tcllib-compatible smtp package; the work is done in Python
# (pysmtp_tcl.bridge.smtp_commands).  No logic lives here.

package require Tcl 8.5 9
package require mime 1.4.1
source [file join [file dirname [info script]] pysmtp_tcl.tcl]

namespace eval ::smtp {
    namespace export sendmessage
}

proc ::smtp::sendmessage {part args} {
    ::pysmtp_tcl::invoke smtp::sendmessage [info level 0]
}

# A tcllib internal that scripts call (pysmtp_tcl/bridge/internal_commands.py).
proc ::smtp::boolean {value} {
    ::pysmtp_tcl::invoke smtp::boolean [info level 0]
}

package provide smtp $::pysmtp_tcl::version(smtp)
