"""The graphical flow editor in headless Chromium: a three-node flow built by drag and drop,
published, run in the page's simulator, then followed by a real switchsim call."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from icm.models import Call, InboundRoute, Queue, Site
from ivr.models import Flow
from tests.fixtures.browser import log_in
from tests.fixtures.esl_client import EventCollector
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "var" / "test-logs"


@pytest.fixture
def editor_setup(transactional_db):
    User.objects.create_superuser("designer", "d@example.com", "pw-for-tests-2")
    site = Site.objects.create(code="ed", name="Editor site", sip_domain="ed.local")
    Queue.objects.create(site=site, name="sales", display_name="Sales")
    flow = Flow.objects.create(name="three-nodes")
    InboundRoute.objects.create(site=site, name="editor line", dnis="8300", flow=flow)
    return flow


def drop(page, node_type: str, x: int, y: int) -> None:
    """Drag a palette item onto the canvas at (x, y) in canvas coordinates."""
    page.locator(f".palette-item[data-type={node_type}]").drag_to(
        page.locator("#canvas"), target_position={"x": x, "y": y}
    )


def connect(page, from_node: str, exit_name: str, to_node: str) -> None:
    """Drag from a node's exit dot to another node's input dot."""
    source = page.locator(
        f".drawflow-node:has([data-node-id={from_node}]) .output[data-exit='{exit_name}']"
    )
    target = page.locator(f".drawflow-node:has([data-node-id={to_node}]) .input")
    a, b = source.bounding_box(), target.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=8)
    page.mouse.up()


def edit(page, node: str, field: str, value: str) -> None:
    page.locator(f".node-box[data-node-id={node}]").click()
    box = page.locator(f"#node-form [name={field}]")
    box.fill(value)
    box.dispatch_event("change")


def test_build_publish_simulate_and_call(editor_setup, platform, web, page):
    log_in(page, web, "designer", "pw-for-tests-2", "/ivr/flows/three-nodes/")
    page.wait_for_selector("body[data-ready='1']")
    drop(page, "play", 60, 60)
    drop(page, "menu", 340, 60)
    drop(page, "enter_queue", 640, 60)
    assert page.locator(".drawflow-node").count() == 3
    edit(page, "play1", "text", "Welcome to the editor test line.")
    edit(page, "menu1", "prompt", "Press 1 for sales.")
    edit(page, "menu1", "choices", "1")
    edit(page, "enter_queue1", "queue", "sales")
    connect(page, "play1", "next", "menu1")
    connect(page, "menu1", "1", "enter_queue1")
    assert page.locator(".drawflow .connection").count() == 2

    page.click("#btn-validate")
    page.wait_for_selector("#status.ok:text('The flow is valid.')")
    page.click("#btn-publish")
    page.wait_for_selector("#status.ok:text('Published version 1')")
    assert page.inner_text("#version-label") == "v1 · published"
    flow = Flow.objects.select_related("published_version").get(name="three-nodes")
    graph = flow.published_version.graph
    assert graph["start"] == "play1"
    assert graph["nodes"]["menu1"]["exits"] == {"1": "enter_queue1"}

    page.click("#btn-simulate")
    page.click("#sim-start")
    page.wait_for_selector("#sim-log .sim-ivr:text('Press 1 for sales.')")
    assert (
        page.locator("#sim-log .sim-ivr").first.inner_text() == "Welcome to the editor test line."
    )
    page.fill("#sim-input", "1")
    page.press("#sim-input", "Enter")
    page.wait_for_selector("#sim-log .sim-end:text('Finished: enter_queue')")
    assert "waiting for an agent in queue sales" in page.inner_text("#sim-log")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "flow-editor.png"), full_page=True)

    events = EventCollector("127.0.0.1", platform.esl_port)
    esl = platform.control()
    assert esl.api("sim_call 5550301 8300 dtmf=1 patience=6").startswith("+OK")
    call = wait_until(
        lambda: Call.objects.filter(ani="5550301", ended_at__isnull=False).first(),
        timeout=30,
        what="the call to end",
    )
    assert "flite|kal|Welcome to the editor test line." in events.executed("speak")
    assert call.queue.name == "sales"
    events.close()
    esl.close()


@pytest.fixture
def goodbye_wav(tmp_path):
    path = tmp_path / "Goodbye.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    return path


def test_problems_are_shown_on_the_nodes_and_history_rolls_back(
    editor_setup, web, page, goodbye_wav
):
    log_in(page, web, "designer", "pw-for-tests-2", "/ivr/flows/three-nodes/")
    page.wait_for_selector("body[data-ready='1']")
    drop(page, "play", 60, 60)
    drop(page, "hangup", 360, 60)  # not connected: unreachable, and play's exit dangles
    page.click("#btn-validate")
    page.wait_for_selector("#problems li")
    problems = page.inner_text("#problems")
    assert "play1: exit 'next' leads nowhere" in problems
    assert "hangup1: is unreachable from the start" in problems
    assert page.locator(".drawflow-node.invalid").count() == 2
    page.click("#btn-publish")
    page.wait_for_selector("#status.error")
    assert Flow.objects.get(name="three-nodes").published_version is None

    connect(page, "play1", "next", "hangup1")
    edit(page, "play1", "text", "Goodbye.")
    page.set_input_files("#prompt-file", str(goodbye_wav))  # a recorded prompt, uploaded
    page.click("#prompt-send")
    page.wait_for_selector("#status.ok:text('Prompt goodbye uploaded (1 s).')")
    assert page.input_value("#node-form [name=file]") == "prompt:goodbye"
    page.click("#btn-publish")
    page.wait_for_selector("#status.ok:text('Published version 1')")  # nothing saved before
    edit(page, "play1", "text", "See you.")
    page.click("#btn-publish")
    page.wait_for_selector("#status.ok:text('Published version 2')")
    page.click("#btn-history")
    page.locator("#history li[data-version='2'] button", has_text="Diff").click()
    page.wait_for_selector("#diff .changed")
    assert '~ play1.text: "Goodbye." → "See you."' in page.inner_text("#diff")
    page.locator("#history li[data-version='1'] button", has_text="Roll back").click()
    page.wait_for_selector("#status.ok:text('is published again as version 3')")
    flow = Flow.objects.select_related("published_version").get(name="three-nodes")
    assert flow.published_version.number == 3
    assert flow.published_version.graph["nodes"]["play1"]["text"] == "Goodbye."
    assert flow.published_version.graph["nodes"]["play1"]["file"] == "prompt:goodbye"
