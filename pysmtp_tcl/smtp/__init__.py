"""Pure-Python SMTP client core with tcllib ``smtp`` 1.5 semantics.

Never imports tkinter.  Modules: :mod:`.replies` (reply parsing),
:mod:`.datawriter` (DATA transparency), :mod:`.auth` (SASL encoders),
:mod:`.connection` (sockets, TLS, waiting through a :class:`Reactor`),
:mod:`.session` (the dialogue), :mod:`.envelope` (sender/recipients/headers
from options), :mod:`.sendmessage` (one ``smtp::sendmessage``).
"""
