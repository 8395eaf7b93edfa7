"""Contact events on the bus (CTI-2): a voice call through switchsim becomes the abstract,
media-independent messages — offered, accepted, held, transferred, ended — each with its
`medium`, the same messages an email or chat adapter will publish."""

import json

import redis
from django.conf import settings

from icm import client
from icm.bus import keys
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, ended, set_state  # noqa: F401


class ContactFeed:
    """The contact.* events one switch publishes on the bus, in order."""

    def __init__(self, switch: str) -> None:
        self.switch = switch
        self.bus = redis.Redis.from_url(settings.REDIS_URL)  # kept: dropping it closes the pool
        self.pubsub = self.bus.pubsub()
        self.pubsub.subscribe(keys.events_channel(self.bus))
        self.events: list[tuple[str, dict]] = []

    def read(self) -> list[tuple[str, dict]]:
        while (message := self.pubsub.get_message(timeout=0.05)) is not None:
            if message["type"] != "message":
                continue
            event = json.loads(message["data"])
            if event["type"].startswith("contact.") and event["switch"] == self.switch:
                self.events.append((event["type"].removeprefix("contact."), event["data"]))
        return self.events

    def of(self, contact: str) -> list[tuple[str, dict]]:
        return [(kind, data) for kind, data in self.read() if data["contact"] == contact]


def test_an_answered_call_is_offered_accepted_held_and_ended(call_center, platform_factory):  # noqa: F811
    platform = platform_factory()
    feed = ContactFeed(platform.switch)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550101 8123 talk=4").startswith("+OK")
    offered = wait_until(
        lambda: next((d for k, d in feed.read() if k == "offered"), None), timeout=20
    )
    contact = offered["contact"]
    assert (offered["medium"], offered["queue"], offered["agents"]) == (
        "voice",
        "helpdesk",
        ["ag1"],
    )
    assert offered["ani"] == "5550101"
    wait_until(lambda: any(k == "accepted" for k, _ in feed.of(contact)), timeout=20)
    client.agent_call(platform.switch, "ag1", "hold")
    wait_until(lambda: any(k == "held" for k, _ in feed.of(contact)), timeout=20)
    client.agent_call(platform.switch, "ag1", "unhold")
    wait_until(lambda: ended("5550101"), timeout=30, what="the call to end")
    wait_until(lambda: any(k == "ended" for k, _ in feed.of(contact)), timeout=20)
    kinds = [kind for kind, _ in feed.of(contact)]
    assert kinds[0] == "offered" and kinds[1] == "accepted" and kinds[-1] == "ended"
    held = [data["held"] for kind, data in feed.of(contact) if kind == "held"]
    assert held[:2] == [True, False]
    accepted = dict(feed.of(contact))["accepted"]
    assert (accepted["agent"], accepted["medium"], accepted["queue"]) == (
        "ag1",
        "voice",
        "helpdesk",
    )
    done = dict(feed.of(contact))["ended"]
    assert (done["outcome"], done["agent"], done["medium"]) == ("handled", "ag1", "voice")
    esl.close()


def test_a_caller_who_gives_up_is_an_abandoned_contact(call_center, platform_factory):  # noqa: F811
    platform = platform_factory()
    feed = ContactFeed(platform.switch)
    esl = platform.control()
    assert esl.api("sim_call 5550102 8123 patience=2").startswith("+OK")
    wait_until(lambda: ended("5550102"), timeout=20, what="the caller to leave")
    done = wait_until(lambda: next((d for k, d in feed.read() if k == "ended"), None), timeout=20)
    assert (done["outcome"], done["agent"], done["queue"], done["medium"]) == (
        "abandoned",
        "",
        "helpdesk",
        "voice",
    )
    assert not [k for k, d in feed.read() if k == "accepted"]
    esl.close()


def test_a_blind_transfer_is_a_transferred_contact(call_center, platform_factory):  # noqa: F811
    platform = platform_factory()
    feed = ContactFeed(platform.switch)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_register 1102 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550103 8123 talk=6").startswith("+OK")
    accepted = wait_until(
        lambda: next((d for k, d in feed.read() if k == "accepted"), None),
        timeout=20,
        what="the contact accepted",
    )
    client.agent_call(platform.switch, "ag1", "transfer", kind="extension", target="1102")
    moved = wait_until(
        lambda: next((d for k, d in feed.of(accepted["contact"]) if k == "transferred"), None),
        timeout=20,
        what="the contact transferred",
    )
    assert (moved["agent"], moved["target"], moved["medium"]) == ("ag1", "extension:1102", "voice")
    esl.close()
