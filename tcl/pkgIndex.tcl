# pysmtp-tcl: tcllib-compatible mime and smtp, implemented in Python.
# These packages need the Python bridge (pysmtp-tclsh or pysmtp_tcl.install),
# which registers them itself with the versions of the host Tcl's tcllib
# (1.21's here; tcllib 2.0's mime 1.7.2 and smtp 1.5.2 on Tcl 9).
package ifneeded mime 1.7.0 [list source [file join $dir mime.tcl]]
package ifneeded smtp 1.5.1 [list source [file join $dir smtp.tcl]]
