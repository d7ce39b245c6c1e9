# mime.tcl -- pysmtp-tcl's drop-in for tcllib's mime package (1.7.0).
#
# One proc per public command, with tcllib's exact formal arguments (so Tcl
# itself reports tcllib's "wrong # args" text), delegating to Python.  No
# logic and no state live here: tcllib's tests delete ::mime and source
# this file again (useLocal), which must give a working package.

package require Tcl 8.5
package provide mime 1.7.0

namespace eval ::mime {
    namespace export {*}{
	copymessage finalize getbody getheader getproperty initialize
	mapencoding parseaddress parsedatetime reversemapencoding setheader
	uniqueID
    }
}

proc ::mime::initialize args {
    tailcall ::pysmtp_tcl::invoke mime::initialize {*}[lrange [info level 0] 1 end]
}
proc ::mime::finalize {token args} {
    tailcall ::pysmtp_tcl::invoke mime::finalize {*}[lrange [info level 0] 1 end]
}
proc ::mime::getproperty {token {property {}}} {
    tailcall ::pysmtp_tcl::invoke mime::getproperty {*}[lrange [info level 0] 1 end]
}
proc ::mime::getheader {token {key {}}} {
    tailcall ::pysmtp_tcl::invoke mime::getheader {*}[lrange [info level 0] 1 end]
}
proc ::mime::setheader {token key value args} {
    tailcall ::pysmtp_tcl::invoke mime::setheader {*}[lrange [info level 0] 1 end]
}
proc ::mime::getbody {token args} {
    tailcall ::pysmtp_tcl::invoke mime::getbody {*}[lrange [info level 0] 1 end]
}
proc ::mime::copymessage {token channel} {
    tailcall ::pysmtp_tcl::invoke mime::copymessage {*}[lrange [info level 0] 1 end]
}
proc ::mime::buildmessage token {
    tailcall ::pysmtp_tcl::invoke mime::buildmessage {*}[lrange [info level 0] 1 end]
}
proc ::mime::mapencoding {enc} {
    tailcall ::pysmtp_tcl::invoke mime::mapencoding {*}[lrange [info level 0] 1 end]
}
proc ::mime::reversemapencoding {mimeType} {
    tailcall ::pysmtp_tcl::invoke mime::reversemapencoding {*}[lrange [info level 0] 1 end]
}
proc ::mime::uniqueID {} {
    tailcall ::pysmtp_tcl::invoke mime::uniqueID {*}[lrange [info level 0] 1 end]
}

# Implemented in pysmtp_tcl/bridge/mime_text_commands.py.
proc ::mime::qp_encode {string {encoded_word 0} {no_softbreak 0}} {
    tailcall ::pysmtp_tcl::invoke mime::qp_encode {*}[lrange [info level 0] 1 end]
}
proc ::mime::qp_decode {string {encoded_word 0}} {
    tailcall ::pysmtp_tcl::invoke mime::qp_decode {*}[lrange [info level 0] 1 end]
}
proc ::mime::word_encode {charset method string {args}} {
    tailcall ::pysmtp_tcl::invoke mime::word_encode {*}[lrange [info level 0] 1 end]
}
proc ::mime::word_decode {encoded} {
    tailcall ::pysmtp_tcl::invoke mime::word_decode {*}[lrange [info level 0] 1 end]
}
proc ::mime::field_decode {field} {
    tailcall ::pysmtp_tcl::invoke mime::field_decode {*}[lrange [info level 0] 1 end]
}
proc ::mime::parseaddress {string} {
    tailcall ::pysmtp_tcl::invoke mime::parseaddress {*}[lrange [info level 0] 1 end]
}
proc ::mime::parsedatetime {value property} {
    tailcall ::pysmtp_tcl::invoke mime::parsedatetime {*}[lrange [info level 0] 1 end]
}
