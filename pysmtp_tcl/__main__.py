"""``python -m pysmtp_tcl`` is the ``pysmtp-tclsh`` launcher."""
import sys

from .launcher import main

if __name__ == "__main__":
    sys.exit(main())
