# pysmtp_tcl.tcl -- Tcl side of the Python bridge. No logic lives here.
#
# ::pysmtp_tcl::_call is the Python dispatcher registered by
# pysmtp_tcl.install(); it returns {options result}, never raises.

namespace eval ::pysmtp_tcl {}

if {[info commands ::pysmtp_tcl::_call] eq ""} {
    return -code error "pysmtp-tcl: the Python bridge is not installed in this\
        interpreter (run the script with pysmtp-tclsh, or call\
        pysmtp_tcl.install(interp) from Python)"
}

# Call a Python implementation and hand on its outcome (code, -errorcode,
# result) as if the calling shim proc had produced it: -level 2 makes the
# shim itself return.  The shim passes its own [info level 0] as one word, so
# an error trace shows the script's text (`-password $pw`), never the
# substituted arguments, as with tcllib.  (-level 2 after -options
# overrides any -level in them: return merges options left to right;
# `dict set` on the list would cost as much again as the call.)
proc ::pysmtp_tcl::invoke {name words} {
    lassign [::pysmtp_tcl::_call $name {*}[lrange $words 1 end]] opts result
    return -options $opts -level 2 $result
}

# Run a script callback at level #0 for Python, capturing every outcome:
# returns {code result options}.
proc ::pysmtp_tcl::callback {cmd args} {
    set code [catch {uplevel #0 $cmd $args} result opts]
    return [list $code $result $opts]
}

# Wait in the event loop until Python's file handler sets $var to 1, or
# $ms milliseconds pass ($var becomes 0; ms < 0: no limit).  One call from
# Python instead of four (after, vwait, after cancel, unset).
proc ::pysmtp_tcl::wait {var ms} {
    if {$ms >= 0} {
        set id [after $ms [list set $var 0]]
    }
    vwait $var
    if {$ms >= 0} {
        after cancel $id
    }
    set ready [set $var]
    unset $var
    return $ready
}
