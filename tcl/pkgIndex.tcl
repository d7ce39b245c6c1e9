# pysmtp-tcl: tcllib-compatible mime and smtp, implemented in Python.
# These packages need the Python bridge (pysmtp-tclsh or pysmtp_tcl.install).
package ifneeded mime 1.7.0 [list source [file join $dir mime.tcl]]
package ifneeded smtp 1.5.1 [list source [file join $dir smtp.tcl]]
