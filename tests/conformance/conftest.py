"""The conformance lane's backend fixture: each scenario runs on switchsim as CI runs it, on
switchsim modelling a real switch's races ("faithful"), and on a real FreeSWITCH when
IPBX_CONFORMANCE_ESL=host:port:password names one (skipped otherwise)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator

import pytest

from tests.conformance.switch import Backend, FreeswitchBackend, FreeswitchConfig, SwitchsimBackend

# switchsim's defaults already answer originate jobs late (--originate-reply-delay 0.1);
# "faithful" adds out-of-order events and a lagging `show channels`, seeded per test
FAITHFUL = ("--reorder-window", "3", "--show-channels-lag", "2")
QUICK = ("--playback-seconds", "0.5")  # prompts are short: the lane stays quick


@pytest.fixture(params=["switchsim", "faithful", "freeswitch"])
def backend(request, platform_factory, tmp_path) -> Iterator[Backend]:
    """The switch a scenario runs against; call `backend.start()` once its data is in place."""
    if request.param == "freeswitch":
        config = FreeswitchConfig.from_env()
        if config is None:
            pytest.skip("no real FreeSWITCH: set IPBX_CONFORMANCE_ESL=host:port:password")
        if os.environ.get("CI"):
            pytest.skip("the real-switch lane never runs in CI")
        chosen: Backend = FreeswitchBackend(config, tmp_path)
    elif request.param == "faithful":
        seed = str(zlib.crc32(request.node.nodeid.encode()) % 10_000)
        chosen = SwitchsimBackend("faithful", platform_factory, (*QUICK, *FAITHFUL, "--seed", seed))
    else:
        chosen = SwitchsimBackend("switchsim", platform_factory, QUICK)
    try:
        yield chosen
    finally:
        chosen.close()
