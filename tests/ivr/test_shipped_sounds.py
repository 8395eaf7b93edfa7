"""Prompts the switch can reach (issue 17, defect 6): the demo's files are shipped in
sounds/, and publishing refuses a flow playing a file the switch would answer
"FILE NOT FOUND" for, naming the node and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from icm.demo import ABANDON_MESSAGE
from ivr.actions import check_publish
from ivr.demo import FLOWS, MAIN_FLOW
from ivr.engine.validation import FlowInvalid
from ivr.models import Flow, FlowVersion
from ivr.prompts import check_wav
from ivr.sound_files import files_in, unreachable_files

SHIPPED = Path(settings.BASE_DIR) / "sounds"


def _graph(node: dict) -> dict:
    return {
        "start": "p",
        "nodes": {"p": {**node, "exits": {"next": "bye"}}, "bye": {"type": "hangup"}},
    }


def _demo_files() -> list[tuple[str, str, str]]:
    """(flow, node, file) for every file the demo flows play, from their definitions."""
    return [(name, node, file) for name, _, graph in FLOWS for node, file in files_in(graph)]


def test_the_sounds_directory_setting_is_the_shipped_one():
    assert Path(settings.IVR_SOUNDS_DIR).resolve() == SHIPPED.resolve()


def test_the_main_menu_plays_files_in_every_language():
    # the regression's premise: the demo's main menu does play files (welcome, en and es)
    main = [file for flow, _, file in _demo_files() if flow == MAIN_FLOW]
    assert "ivr/welcome.wav" in main and "ivr/es/welcome.wav" in main


@pytest.mark.parametrize("flow, node, file", _demo_files(), ids=lambda v: str(v))
def test_every_file_the_demo_flows_play_is_shipped_as_8k_mono_wav(flow, node, file):
    path = SHIPPED / file
    assert path.is_file(), f"flow {flow}, node {node}: {file} is not shipped in sounds/"
    _duration, rate = check_wav(path.read_bytes())
    assert rate == 8000


@pytest.mark.parametrize("file", [ABANDON_MESSAGE, "ivr/queue.wav", "ivr/vip.wav"])
def test_queue_greetings_and_the_abandon_message_are_shipped(file):
    duration, rate = check_wav((SHIPPED / file).read_bytes())
    assert rate == 8000 and duration > 1


def test_music_on_hold_is_shipped():
    music = sorted((SHIPPED / "music").glob("*.wav"))
    assert music, "no music on hold: local_stream://moh would play silence"
    for path in music:
        duration, rate = check_wav(path.read_bytes())
        assert rate == 8000 and 20 <= duration <= 60


def test_demo_flows_have_no_unreachable_file():
    assert [(flow, unreachable_files(graph)) for flow, _, graph in FLOWS] == [
        (flow, []) for flow, _, _ in FLOWS
    ]


@pytest.mark.parametrize(
    "node",
    [
        {"type": "play", "file": "tone_stream://%(500,0,800)"},
        {"type": "play", "file": "silence_stream://250"},
        {"type": "play", "file": "local_stream://moh"},
        {"type": "play", "file": "say:Hello there"},
        {"type": "play", "text": "Just text to speech."},
        {"type": "play", "file": "ivr/{language}/welcome.wav", "text": "known on the call"},
        {"type": "play", "file": "file_string://ivr/welcome.wav!silence_stream://100"},
        {"type": "play", "file": {"en": "ivr/welcome.wav", "es": "ivr/es/welcome.wav"}},
        {"type": "play", "file": "ivr/vip"},  # FreeSWITCH adds .wav
    ],
    ids=lambda node: str(node.get("file") or node.get("text")),
)
def test_streams_text_and_shipped_files_are_reachable(node):
    assert unreachable_files(_graph(node)) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "file, why",
    [
        ("ivr/missing.wav", "'ivr/missing.wav' is not in the sounds directory"),
        ({"en": "ivr/welcome.wav", "es": "ivr/es/missing.wav"}, "'ivr/es/missing.wav' is not"),
        ("file_string://ivr/welcome.wav!ivr/gone.wav", "'ivr/gone.wav' is not in the sounds"),
        ("../sounds/ivr/welcome.wav", "'..' is not allowed"),
        ("/nonexistent/ipbx/welcome.wav", "does not exist here"),
        ("prompt:never-uploaded", "no uploaded prompt named 'never-uploaded'"),
    ],
)
def test_files_the_switch_cannot_reach_are_named_with_their_node(file, why):
    problems = unreachable_files(_graph({"type": "play", "file": file}))
    assert len(problems) == 1
    assert problems[0].node == "p" and why in problems[0].message


@pytest.mark.django_db
def test_retry_prompts_are_checked_too():
    graph = {
        "start": "m",
        "nodes": {
            "m": {
                "type": "menu",
                "prompt": {"file": "ivr/welcome.wav"},
                "invalid_prompt": {"file": "ivr/invalid.wav"},
                "exits": {"1": "bye"},
            },
            "bye": {"type": "hangup"},
        },
    }
    assert [(p.node, "ivr/invalid.wav" in p.message) for p in unreachable_files(graph)] == [
        ("m", True)
    ]


@pytest.fixture
def queues(db):
    from icm.models import Queue, Site

    site = Site.objects.create(code="snd", name="Sounds site", sip_domain="snd.local")
    Queue.objects.create(site=site, name="support", display_name="Support")


@pytest.mark.django_db
def test_publishing_a_flow_with_a_missing_prompt_is_refused_and_nothing_changes(queues):
    flow = Flow.objects.create(name="greet")
    good = _graph({"type": "play", "file": "ivr/welcome.wav"})
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=good))
    bad = FlowVersion.objects.create(
        flow=flow, number=2, graph=_graph({"type": "play", "file": "ivr/welcome-typo.wav"})
    )
    with pytest.raises(FlowInvalid, match=r"node p: file 'ivr/welcome-typo.wav' is not in"):
        check_publish(bad)
    flow.refresh_from_db()
    bad.refresh_from_db()
    assert flow.published_version.number == 1 and bad.status == FlowVersion.Status.DRAFT


@pytest.mark.django_db
def test_the_editor_api_refuses_to_publish_and_validation_names_node_and_file(queues):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", "r@example.com", "pw"))
    graph = {
        "start": "welcome",
        "nodes": {
            "welcome": {
                "type": "play",
                "file": "ivr/hello-nobody-shipped.wav",
                "text": "Hello",
                "exits": {"next": "queue"},
            },
            "queue": {"type": "enter_queue", "queue": "support"},
        },
    }
    assert client.post("/api/ivr/flows/", {"name": "m"}, format="json").status_code == 201
    draft = client.post("/api/ivr/flows/m/versions/", {"graph": graph}, format="json").json()
    assert [p["node"] for p in draft["problems"]] == ["welcome"]
    assert "'ivr/hello-nobody-shipped.wav'" in draft["problems"][0]["message"]
    r = client.post("/api/ivr/flows/m/versions/1/publish/")
    assert r.status_code == 400
    assert [p["node"] for p in r.json()["problems"]] == ["welcome"]
    assert "FILE NOT FOUND" in r.json()["problems"][0]["message"]
    assert Flow.objects.get(name="m").published_version is None
