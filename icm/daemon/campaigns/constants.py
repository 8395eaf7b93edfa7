"""The campaign dialler's fixed figures and formats (waits, TTLs, accepted values)."""

from __future__ import annotations

import os
import re

from icm.domain import commands as cmd

# the application that starts each detection module's work on an answered leg
DETECTION: dict[str, cmd.App] = {"amd": cmd.DetectAmd(), "avmd_start": cmd.StartAvmd()}
GRACE_SECONDS = 2.0
AMD_WAIT = 7.0  # s: mod_amd decides within total_analysis_time (5 s)
AVMD_WINDOW = 8.0  # s: mod_avmd's default window for a voicemail's beep (the campaign's)
# a leg gone this soon after its answer while detection runs was hung up by the switch
# (an application it does not have), not by a person or a machine
BROKEN_WITHIN = 1.0
KEY_TTL = 2 * 86400
PRIORITY = 1000  # campaign calls answered by a person go first
PREVIEW_LIMIT = 600  # s: a preview nobody acts on (no auto-dial set) is skipped after this
REFUSED_LEGS_KEPT = 1000  # legs whose originate was refused, remembered to end stray ones
_SAFE = re.compile(r"^[A-Za-z0-9_.:+-]{1,100}$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_MESSAGE = re.compile(r"^[A-Za-z0-9_./:@%=+-]{1,250}$")
# test-only fault hook (issue 21): icm dies by SIGKILL right after its n-th campaign originate
# left — the gap a `kill -9` can hit — so a test can prove no contact is dialled twice
KILL_AFTER_ORIGINATE = int(os.environ.get("IPBX_TEST_KILL_AFTER_ORIGINATE") or 0)
