"""switchsim's registrations as a real switch keeps them: `show registrations as json` rows
shaped like the capture's (url with its transport, expires as an epoch: the phone's expiry
plus sofia's 60 s late margin), and a registration that runs out (`sim_expire`) fires
`sofia::expire` then PRESENCE_IN with the headers of sofia_reg.c's sofia_reg_del_callback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.captures import api_reply
from tests.switchsim.captures import drive
from tests.switchsim.conftest import SwitchSim

EXPIRE_HEADERS = [  # sofia_reg_del_callback, in its order
    "profile-name",
    "call-id",
    "user",
    "username",
    "host",
    "contact",
    "expires",
    "user-agent",
    "realm",
    "network-ip",
    "network-port",
]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(["--heartbeat-interval", "600"], tmp_path_factory.mktemp("expiry"))
    yield s
    s.stop()


def test_a_registration_that_runs_out_fires_sofia_expire(sim: SwitchSim) -> None:
    esl = sim.raw()
    esl.pending = []
    assert esl.auth().headers["Reply-Text"] == "+OK accepted"
    plan = [
        "event json CUSTOM sofia::register sofia::expire",
        "api sim_register 1204 answer",
        "api show registrations as json",
        "api sim_expire 1204",
        "api show registrations as json",
        "api sim_expire 1204",
    ]
    started = time.time()
    replies, events = drive(esl, plan)
    esl.close()
    bodies = [frames[-1].body for _, frames in replies]
    row = json.loads(bodies[2])["rows"][0]
    real = json.loads(api_reply("sofia-register-gateway.txt", "show registrations as json"))
    assert list(row) == list(real["rows"][0])  # the same columns in the same order
    assert row["url"].endswith(";transport=UDP") and row["reg_user"] == "1204"
    assert started + 3600 + 60 - 5 <= int(row["expires"]) <= time.time() + 3600 + 60
    assert bodies[3] == "+OK 1204 expired\n"
    assert bodies[4] == '{"row_count": 0}\n'
    assert bodies[5] == "-ERR 1204 not registered\n"
    expired = [dict(e) for e in events if dict(e).get("Event-Subclass") == "sofia::expire"]
    assert len(expired) == 1
    headers = expired[0]
    assert [k for k in headers if k in EXPIRE_HEADERS] == EXPIRE_HEADERS
    assert (headers["user"], headers["call-id"]) == ("1204", row["token"])
    assert headers["expires"] == row["expires"]
    assert headers["Event-Calling-Function"] == "sofia_reg_del_callback"
