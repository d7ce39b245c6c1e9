# mime.tcl -- pysmtp-tcl's drop-in for tcllib's mime package (1.7.0 on
# Tcl 8.6, 1.7.2 on Tcl 9: the version install() set, bridge/host.py).
#
# One proc per public command, with tcllib's exact formal arguments (so Tcl
# itself reports tcllib's "wrong # args" text), delegating to Python.  No
# logic and no state live here: tcllib's tests delete ::mime and source
# this file again (useLocal), which must give a working package.

package require Tcl 8.5 9
source [file join [file dirname [info script]] pysmtp_tcl.tcl]
package provide mime $::pysmtp_tcl::version(mime)

namespace eval ::mime {
    namespace export {*}{
	copymessage finalize getbody getheader getproperty initialize
	mapencoding parseaddress parsedatetime reversemapencoding setheader
	uniqueID
    }
}

proc ::mime::initialize args {
    ::pysmtp_tcl::invoke mime::initialize [info level 0]
}
proc ::mime::finalize {token args} {
    ::pysmtp_tcl::invoke mime::finalize [info level 0]
}
proc ::mime::getproperty {token {property {}}} {
    ::pysmtp_tcl::invoke mime::getproperty [info level 0]
}
proc ::mime::getheader {token {key {}}} {
    ::pysmtp_tcl::invoke mime::getheader [info level 0]
}
proc ::mime::setheader {token key value args} {
    ::pysmtp_tcl::invoke mime::setheader [info level 0]
}
proc ::mime::getbody {token args} {
    ::pysmtp_tcl::invoke mime::getbody [info level 0]
}
proc ::mime::copymessage {token channel} {
    ::pysmtp_tcl::invoke mime::copymessage [info level 0]
}
proc ::mime::buildmessage token {
    ::pysmtp_tcl::invoke mime::buildmessage [info level 0]
}
proc ::mime::mapencoding {enc} {
    ::pysmtp_tcl::invoke mime::mapencoding [info level 0]
}
proc ::mime::reversemapencoding {mimeType} {
    ::pysmtp_tcl::invoke mime::reversemapencoding [info level 0]
}
proc ::mime::uniqueID {} {
    ::pysmtp_tcl::invoke mime::uniqueID [info level 0]
}

# Implemented in pysmtp_tcl/bridge/mime_text_commands.py.
proc ::mime::qp_encode {string {encoded_word 0} {no_softbreak 0}} {
    ::pysmtp_tcl::invoke mime::qp_encode [info level 0]
}
proc ::mime::qp_decode {string {encoded_word 0}} {
    ::pysmtp_tcl::invoke mime::qp_decode [info level 0]
}
proc ::mime::word_encode {charset method string {args}} {
    ::pysmtp_tcl::invoke mime::word_encode [info level 0]
}
proc ::mime::word_decode {encoded} {
    ::pysmtp_tcl::invoke mime::word_decode [info level 0]
}
proc ::mime::field_decode {field} {
    ::pysmtp_tcl::invoke mime::field_decode [info level 0]
}
proc ::mime::parseaddress {string} {
    ::pysmtp_tcl::invoke mime::parseaddress [info level 0]
}
proc ::mime::parsedatetime {value property} {
    ::pysmtp_tcl::invoke mime::parsedatetime [info level 0]
}

# tcllib internals that scripts call (pysmtp_tcl/bridge/internal_commands.py).
proc ::mime::encodingasciiP {line} {
    ::pysmtp_tcl::invoke mime::encodingasciiP [info level 0]
}
proc ::mime::getsize {token} {
    ::pysmtp_tcl::invoke mime::getsize [info level 0]
}
