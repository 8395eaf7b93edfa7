"""FreeSWITCH as a make of switch for the daemon: its driver (ESL inbound connection) and the
translation of its event frames into domain events."""

from __future__ import annotations

from icm.daemon.freeswitch.driver import SwitchAddress, SwitchDriver
from icm.daemon.freeswitch.translator import decode
from icm.daemon.switch import SwitchAdapter

FREESWITCH = SwitchAdapter(make="freeswitch", driver=SwitchDriver, decode=decode)

__all__ = ["FREESWITCH", "SwitchAddress"]
