"""The Tcl bridge: the only layer that talks to a Tcl interpreter."""
