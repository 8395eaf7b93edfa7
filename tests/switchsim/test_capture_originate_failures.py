"""Fidelity: originate failures and uuid_* on unknown uuids (capture originate-failures.txt).

Every api reply and BACKGROUND_JOB body must be FreeSWITCH's text, and the channels a
failure leaves behind must match: none for an unknown or unregistered user, a lone
CHANNEL_DESTROY (`Channel-Name: N/A`) for an unknown gateway or profile, a loopback pair
for an unknown extension."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.switchsim.captures import (
    compare_channels,
    drive,
    expected_replies,
    got_replies,
    sent,
    transcript,
)
from tests.switchsim.conftest import SwitchSim

CAPTURE = "originate-failures.txt"

# The vanilla dialplan routed `nosuchexten` to an extension that pre-answered and played
# local_stream://moh (no files: FILE NOT FOUND); switchsim's default dialplan has no match,
# so its b leg hangs up without early media or a dialplan match.
IGNORE = {
    "variable_DP_MATCH": "vanilla catch-all extension matched nosuchexten",
    "variable_current_application": "vanilla catch-all extension ran playback",
    "variable_current_application_data": "vanilla catch-all extension ran playback",
    "variable_current_application_response": "vanilla catch-all extension ran playback",
    "variable_last_app": "vanilla catch-all extension ran playback",
    "variable_last_arg": "vanilla catch-all extension ran playback",
    "variable_endpoint_disposition": "EARLY MEDIA: the catch-all pre-answered",
    "variable_progress_stamp": "the catch-all pre-answered",
    "variable_progress_media_stamp": "the catch-all pre-answered",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    # one configured gateway, as the capture's switch had (external profile): nosuchgw is not
    s = SwitchSim(["--gateway", "capgw"], tmp_path_factory.mktemp("origfail"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def run(sim: SwitchSim) -> tuple[list, list]:
    esl = sim.raw()
    esl.pending = []
    assert esl.auth().headers["Reply-Text"] == "+OK accepted"
    replies, events = drive(esl, sent(CAPTURE))
    esl.close()
    return replies, events


def test_every_reply_and_job_body_is_freeswitchs(run: tuple[list, list]) -> None:
    replies, _ = run
    assert got_replies(replies) == expected_replies(CAPTURE)


def test_channels_left_by_each_failure_match(run: tuple[list, list]) -> None:
    _, events = run
    expected = [e for _, _, evs in transcript(CAPTURE) for e in evs]
    problems = compare_channels(expected, events, ignore=IGNORE)
    assert not problems, "\n".join(problems)


def test_unknown_gateway_and_profile_fire_a_lone_nameless_destroy(run: tuple[list, list]) -> None:
    replies, events = run
    lone = [dict(e) for e in events if dict(e).get("Channel-Name") == "N/A"]
    assert [e["Event-Name"] for e in lone] == ["CHANNEL_DESTROY"] * 4  # api + bgapi, gw + profile
    assert {e["Channel-State"] for e in lone} == {"CS_NONE"}
    creates = [dict(e)["Channel-Name"] for e in events if dict(e)["Event-Name"] == "CHANNEL_CREATE"]
    # user/9999 (no such user) and user/1005 (not registered) make no channel at all
    assert not [n for n in creates if "9999" in n or "1005" in n]
    assert ("api uuid_hold 00000000-0000-0000-0000-000000000000", ["api: +OK Success\n"]) in (
        got_replies(replies)
    )
