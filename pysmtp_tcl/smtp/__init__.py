"""Pure-Python SMTP client core with tcllib ``smtp`` 1.5 semantics.

Never imports tkinter.  Modules: :mod:`.replies` (reply parsing),
:mod:`.commands` (commands as values, the one renderer of command lines and
its checks), :mod:`.datawriter` (DATA transparency), :mod:`.auth` (SASL
encoders), :mod:`.connection` (sockets, TLS, waiting through a
:class:`Reactor`), :mod:`.session` (the dialogue), :mod:`.envelope`
(sender/recipients/headers from options), :mod:`.failures` (texts a script
may see for failures inside Python), :mod:`.sendmessage` (one
``smtp::sendmessage``).
"""
