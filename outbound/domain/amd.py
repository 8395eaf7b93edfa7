"""Which answering-machine detection a campaign's calls get on a switch (issue 17): the
third-party mod_amd (a verdict on the greeting) when it is loaded, else FreeSWITCH's own
mod_avmd (it hears only the voicemail's beep); none loaded: the campaign cannot run. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

MODULES = ("mod_amd", "mod_avmd")  # what icm asks the switch (`module_exists`)
METHODS = ("auto", "mod_amd", "mod_avmd")  # what a campaign may ask for
# the application each module runs on an answered leg before it is parked
APPS = {"mod_amd": "amd", "mod_avmd": "avmd_start"}
# an attempt's result when the switch, not the number, ended the call (its detection could
# not run): not an answered call, and it never uses up one of the contact's attempts
SWITCH_FAILED = "switch_failed"


class NoDetection(ValueError):
    """The switch cannot run the detection the campaign asks for; the message says why."""


def choose(wanted: str, loaded: Mapping[str, bool]) -> str:
    """The module to detect machines with (`wanted`: auto, mod_amd or mod_avmd), given
    which modules the switch has loaded; raises NoDetection with the reason."""
    if wanted not in METHODS:
        raise NoDetection(
            f"unknown answering-machine detection {wanted!r}: one of {', '.join(METHODS)}"
        )
    amd, avmd = bool(loaded.get("mod_amd")), bool(loaded.get("mod_avmd"))
    if wanted == "mod_amd" and not amd:
        also = " (mod_avmd is loaded: choose it, or automatic)" if avmd else ""
        raise NoDetection(
            "the switch has no mod_amd (a third-party module, not part of FreeSWITCH): "
            f"install and load it, or choose another detection method{also}"
        )
    if wanted == "mod_avmd" and not avmd:
        raise NoDetection(
            "the switch has no mod_avmd loaded: load it (`load mod_avmd`, and in "
            "modules.conf.xml), or choose another detection method"
        )
    if wanted != "auto":
        return wanted
    if amd:
        return "mod_amd"
    if avmd:
        return "mod_avmd"
    raise NoDetection(
        "the switch has no answering-machine detection: mod_amd is not loaded and mod_avmd "
        "is not loaded either. Load mod_avmd (it ships with FreeSWITCH) or install mod_amd, "
        "or turn answering-machine detection off for this campaign"
    )
