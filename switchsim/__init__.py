"""switchsim: a FreeSWITCH stand-in that speaks the real Event Socket (ESL) wire protocol.

This package owns the whole simulator: the inbound ESL server, outbound socket sessions,
simulated channels/calls, the data-driven dialplan, the simulated world (registrations,
agent phones, callers, traffic) and the ``sim_*`` control api. It is a separate program
(``python -m switchsim``) and never imports the control plane (django, icm, greenswitch,
gevent).
"""

__version__ = "0.1.0"
FS_VERSION = "1.11.3-dev git cc93a68 2026-08-21 14:10:14Z 64bit"
