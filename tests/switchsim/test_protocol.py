"""Inbound ESL protocol: framing, auth, replies, event formats, filters, robustness."""

from __future__ import annotations

import json
import socket
import time

from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import RawESL

DISCONNECT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def test_auth_request_then_accepted(switchsim: SwitchSim) -> None:
    c = switchsim.raw()
    first = c.read_frame()
    assert first.raw == b"Content-Type: auth/request\n\n"
    c.send("auth ClueCon")
    assert c.read_frame().raw == b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
    c.close()


def test_wrong_password_is_rejected_and_disconnected(switchsim: SwitchSim) -> None:
    c = switchsim.raw()
    c.read_frame()
    c.send("auth nope")
    assert c.read_frame().headers["Reply-Text"] == "-ERR invalid"
    notice = c.read_frame()
    assert notice.content_type == "text/disconnect-notice"
    assert notice.body == DISCONNECT
    c.sock.settimeout(2)
    assert c.sock.recv(10) == b""


def test_exit_says_bye_and_disconnects(esl: RawESL) -> None:
    esl.send("exit")
    assert esl.read_frame().raw == b"Content-Type: command/reply\nReply-Text: +OK bye\n\n"
    notice = esl.read_frame()
    assert notice.raw == (
        b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + DISCONNECT.encode()
    )


def test_command_replies_match_freeswitch(esl: RawESL) -> None:
    assert esl.command("bogus").headers["Reply-Text"] == "-ERR command not found"
    assert esl.command("linger").headers["Reply-Text"] == "-ERR not controlling a session"
    assert esl.command("noevents").headers["Reply-Text"] == "-ERR not listening for events"
    assert esl.command("event plain").headers["Reply-Text"] == "-ERR no keywords supplied"
    assert esl.command("log").headers["Reply-Text"] == "+OK log level  [7]"
    assert esl.command("nolog").headers["Reply-Text"] == "+OK no longer logging"
    r = esl.command("filter Unique-ID abc")
    assert r.headers["Reply-Text"] == "+OK filter added. [Unique-ID]=[abc]"
    r = esl.command("filter delete Unique-ID abc")
    assert r.headers["Reply-Text"] == "+OK filter deleted. [Unique-ID][abc]"
    assert esl.command("event json HEARTBEAT").headers["Reply-Text"] == (
        "+OK event listener enabled json"
    )
    assert esl.command("nixevent HEARTBEAT").headers["Reply-Text"] == "+OK events nixed"
    assert esl.command("noevents").headers["Reply-Text"] == "+OK no longer listening for events"


def test_api_replies_match_capture(esl: RawESL) -> None:
    r = esl.command("api nosuchcommand_xyz")
    assert r.raw == (
        b"Content-Type: api/response\nContent-Length: 42\n\n"
        b"-ERR nosuchcommand_xyz Command not found!\n"
    )
    zero = "00000000-0000-0000-0000-000000000000"
    assert esl.command(f"api uuid_kill {zero}").body == "-ERR No such channel!\n"
    assert esl.command(f"api uuid_exists {zero}").body == "false"
    assert esl.command(f"api uuid_getvar {zero} x").body == "-ERR No such channel!\n"
    fail = esl.command("api originate loopback/doesnotexist999/default &park()")
    assert fail.body == "-ERR NORMAL_CLEARING\n"
    assert esl.command("api originate user/4999 &park()").body == "-ERR USER_NOT_REGISTERED\n"
    sofia = esl.command("api sofia status")
    assert sofia.headers["Content-Length"] == "561" and "2 profiles 1 alias" in sofia.body
    status = esl.command("api status").body
    assert status.startswith("UP 0 years, 0 days, ")
    assert "FreeSWITCH (Version 1.11.3-dev" in status and "session(s) since startup" in status
    assert esl.command("api uuid_kill").body.startswith("-USAGE: ")
    assert esl.command("api reloadxml").body == "+OK [Success]\n"
    hup = esl.command("api hupall NORMAL_CLEARING").body
    assert hup == "+OK hangup all channels with cause NORMAL_CLEARING\n"


def test_bgapi_honours_job_uuid_and_fires_background_job(esl: RawESL) -> None:
    esl.command("event plain BACKGROUND_JOB")
    esl.send("bgapi status\nJob-UUID: 11111111-2222-3333-4444-555555555555")
    reply = esl.read_frame()
    assert reply.headers["Reply-Text"] == "+OK Job-UUID: 11111111-2222-3333-4444-555555555555"
    assert reply.headers["Job-UUID"] == "11111111-2222-3333-4444-555555555555"
    job = esl.events_until(lambda f: True)[0]
    assert job.content_type == "text/event-plain"
    ev = job.event_dict()
    assert ev["Event-Name"] == "BACKGROUND_JOB"
    assert ev["Job-UUID"] == "11111111-2222-3333-4444-555555555555"
    assert ev["Job-Command"] == "status"
    body = job.body.split("\n\n", 1)[1]
    assert body.startswith("UP ") and int(ev["Content-Length"]) == len(body.encode())


def test_plain_events_are_url_encoded_and_json_events_are_not(switchsim: SwitchSim) -> None:
    plain, js = switchsim.authed(), switchsim.authed()
    plain.command("event plain HEARTBEAT")
    js.command("event json HEARTBEAT")
    p = plain.events_until(lambda f: True, timeout=3)[0]
    j = js.events_until(lambda f: True, timeout=3)[0]
    assert p.headers["Content-Type"] == "text/event-plain"
    assert int(p.headers["Content-Length"]) == len(p.body.encode())
    assert "\nFreeSWITCH-IPv6: %3A%3A1\n" in p.body
    assert "\nUp-Time: 0%20years,%200%20days," in p.body
    assert p.body.endswith("\n\n")
    assert j.headers["Content-Type"] == "text/event-json"
    obj = json.loads(j.body)
    assert obj["Event-Name"] == "HEARTBEAT" and obj["FreeSWITCH-IPv6"] == "::1"
    assert int(obj["Event-Sequence"]) > 0 and len(obj["Event-Date-Timestamp"]) == 16
    plain.close()
    js.close()


def test_custom_must_be_last_and_takes_subclasses(esl: RawESL, switchsim: SwitchSim) -> None:
    r = esl.command("event plain CHANNEL_CREATE CUSTOM sofia::register sofia::unregister")
    assert r.headers["Reply-Text"] == "+OK event listener enabled plain"
    other = switchsim.authed()
    assert other.command("api sim_register 1999 busy").body.startswith("+OK")
    assert other.command("api sim_unregister 1999").body.startswith("+OK")
    frames = esl.events_until(lambda f: f.event_dict().get("Event-Subclass") == "sofia::unregister")
    evs = [f.event_dict() for f in frames]
    assert [e["Event-Subclass"] for e in evs] == ["sofia::register", "sofia::unregister"]
    assert evs[0]["Event-Name"] == "CUSTOM" and evs[0]["from-user"] == "1999"
    assert frames[0].body.startswith("Event-Subclass: sofia%3A%3Aregister\nEvent-Name: CUSTOM\n")
    other.close()


def test_filter_limits_events(esl: RawESL, switchsim: SwitchSim) -> None:
    esl.command("event plain CHANNEL_CREATE")
    esl.command("filter Channel-Name loopback/9199-b")
    other = switchsim.authed()
    uuid = other.command("api originate loopback/9199/default &park()").body.split()[1]
    ev = esl.events_until(lambda f: True)[0].event_dict()
    assert ev["Channel-Name"] == "loopback/9199-b"
    assert other.command(f"api uuid_kill {uuid}").body == "+OK\n"
    esl.sock.settimeout(0.5)
    try:
        extra = esl.read_frame()
        raise AssertionError(f"unexpected frame {extra.headers}")
    except TimeoutError:
        pass
    other.close()


def _still_serving(switchsim: SwitchSim) -> None:
    c = switchsim.authed()
    assert c.command("api uuid_exists nothing").body == "false"
    c.close()


def test_garbage_and_bad_content_length_drop_only_that_connection(switchsim: SwitchSim) -> None:
    bystander = switchsim.authed()
    for payload in (
        b"sendmsg\nContent-Length: 99999999999\n\n",
        b"sendmsg\nContent-Length: -5\n\n",
        b"sendmsg\nContent-Length: abc\n\n",
        b"\x00\xff\xfe garbage without newline" * 4000,
        b"api status\nthis line has no colon\n\n",
    ):
        c = switchsim.authed()
        c.send_raw(payload)
        c.sock.settimeout(3)
        try:
            while c.sock.recv(65536):
                pass
        except (ConnectionError, TimeoutError):
            pass
        c.close()
        _still_serving(switchsim)
    # a client vanishing in the middle of a frame
    c = switchsim.authed()
    c.send_raw(b"api sta")
    c.close()
    c = switchsim.authed()
    c.send_raw(b"sendmsg\nContent-Length: 100\n\nshort")
    c.close()
    time.sleep(0.1)
    _still_serving(switchsim)
    assert bystander.command("api echo still-here").body == "still-here"
    assert not any("Traceback" in line for line in switchsim.log)
    bystander.close()


def test_pre_auth_commands_are_refused(switchsim: SwitchSim) -> None:
    c = switchsim.raw()
    c.read_frame()
    c.send("api status")
    assert c.read_frame().headers["Reply-Text"] == "-ERR command not found"
    c.close()
    with socket.create_connection(("127.0.0.1", switchsim.port), timeout=3) as s:
        assert s.recv(100) == b"Content-Type: auth/request\n\n"
