"""The catalogue in headless Chromium: search by agent and caller number finds the
recording, it plays (byte ranges, seeking on the waveform), a team leader scores it; an
agent cannot fetch another agent's recording by URL; every listen is logged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recording.catalogue import process_new
from recording.models import EvaluationForm, EvaluationQuestion, Recording, RecordingAccess
from switchsim.wav import write_wav
from tests.fixtures.browser import log_in
from tests.supervision.conftest import teams  # noqa: F401

pytestmark = pytest.mark.browser


def client_for(user):
    """A signed-in session (the audio is a plain Django view, the rest DRF)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def catalogue(teams, tmp_path):  # noqa: F811
    site, users = teams
    rows = {}
    for n, (agent, ani, fmt) in enumerate(
        (("agent1", "5550101", "alaw"), ("agent1", "5550177", "pcm"), ("agent2", "5550101", "pcm")),
        1,
    ):
        path = tmp_path / f"r{n}.wav"
        write_wav(path, 8.0, channels=2)
        now = datetime.now(tz=UTC)
        rows[n] = Recording.objects.create(
            switch="fs1",
            call_uuid=f"call-{n}",
            leg_uuid=f"leg-{n}",
            ani=ani,
            dnis="8131",
            agent=users[agent].agent,
            started_at=now,
            ended_at=now,
            format=fmt,
            channels=2,
            path=str(path),
            status=Recording.Status.PROCESSING,
        )
    assert process_new() == 3
    form = EvaluationForm.objects.create(name="Call quality")
    EvaluationQuestion.objects.create(form=form, text="Greeting", weight=1, max_points=5)
    EvaluationQuestion.objects.create(form=form, text="Resolution", weight=3, max_points=10)
    return users, rows


def test_search_play_and_score(catalogue, web, page):
    users, rows = catalogue
    log_in(page, web, "lead1", "pw", "/recordings/")
    page.fill("input[name=agent]", "ag1")
    page.fill("input[name=number]", "5550101")
    page.click("#search button[type=submit]")
    page.wait_for_function("document.querySelector('#count').textContent === '1 recording'")
    page.click(f"#results tr[data-id='{rows[1].pk}']")
    page.wait_for_function("document.querySelector('#audio').readyState >= 1")
    assert page.evaluate("Math.round(document.querySelector('#audio').duration)") == 8
    page.evaluate("document.querySelector('#audio').play()")
    page.wait_for_function("document.querySelector('#audio').currentTime > 0.3")
    box = page.locator("#waveform").bounding_box()  # seek to ~3/4 by clicking the waveform
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    page.wait_for_function("document.querySelector('#audio').currentTime > 5")
    inputs = page.locator(".questions:not([hidden]) input")
    inputs.nth(0).fill("5")
    inputs.nth(1).fill("6")
    page.click("#evaluate button[type=submit]")
    page.wait_for_selector("#score:text('Score: 70')")  # (1×5/5 + 3×6/10) / 4 = 70 %
    rows[1].refresh_from_db()
    assert rows[1].qa_score == 70.0
    kinds = set(RecordingAccess.objects.filter(recording=rows[1]).values_list("kind", flat=True))
    assert {"listen", "evaluate"} <= kinds
    page.fill("input[name=min_score]", "60")  # searchable by score
    page.fill("input[name=number]", "")
    page.click("#search button[type=submit]")
    page.wait_for_function("document.querySelector('#count').textContent === '1 recording'")


def test_an_agent_cannot_fetch_another_agents_recording(catalogue, web):
    users, rows = catalogue
    agent1 = client_for(users["agent1"])
    own = agent1.get(f"/recordings/{rows[2].pk}/audio")
    assert own.status_code == 200 and own["Content-Type"] == "audio/wav"
    theirs = agent1.get(f"/recordings/{rows[3].pk}/audio")
    assert theirs.status_code == 403
    assert agent1.get(f"/recordings/{rows[2].pk}/audio?download=1").status_code == 403
    assert RecordingAccess.objects.filter(
        recording=rows[3], kind="refused", username="agent1"
    ).exists()
    listed = agent1.get("/api/recordings/").json()
    assert {r["id"] for r in listed["results"]} == {rows[1].pk, rows[2].pk}
    assert agent1.get(f"/api/recordings/{rows[3].pk}/").status_code == 404
    assert client_for(users["lead2"]).get(f"/recordings/{rows[1].pk}/audio").status_code == 403
    boss = client_for(users["admin"])
    download = boss.get(f"/recordings/{rows[1].pk}/audio?download=1")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    ranged = boss.get(f"/recordings/{rows[2].pk}/audio", HTTP_RANGE="bytes=100-199")
    assert ranged.status_code == 206 and len(b"".join(ranged.streaming_content)) == 100
    assert ranged["Content-Range"].startswith("bytes 100-199/")
    r = client_for(users["lead1"]).post(
        f"/api/recordings/{rows[1].pk}/evaluations/", {"form": 999, "answers": {}}, format="json"
    )
    assert r.status_code == 400 and "no active evaluation form" in r.json()["detail"]


def test_legal_hold_from_the_player_and_printable_qa_statistics(catalogue, web, page):
    """An administrator puts a recording under legal hold from the player (reason required,
    logged; team leaders may not) and retention keeps it; the QA statistics page shows the
    scores per agent, per question and by band, and prints without its controls."""
    from datetime import timedelta

    from recording.lifecycle import apply_retention
    from recording.qa import evaluate

    users, rows = catalogue
    form = EvaluationForm.objects.get()
    greeting, resolution = form.questions.order_by("id")
    evaluate(users["lead1"], rows[1].pk, form.pk, {str(greeting.pk): 5, str(resolution.pk): 6})
    evaluate(users["lead1"], rows[2].pk, form.pk, {str(greeting.pk): 1, str(resolution.pk): 2})
    lead = client_for(users["lead1"])
    refused = lead.post(
        f"/api/recordings/{rows[1].pk}/hold/", {"hold": True, "reason": "x"}, format="json"
    )
    assert refused.status_code == 403

    log_in(page, web, "boss", "pw", "/recordings/")
    page.click(f"#results tr[data-id='{rows[1].pk}']")
    page.wait_for_selector("#hold:not([hidden])")
    page.click("#hold-button")  # no reason: the browser asks for one, nothing is sent
    assert not Recording.objects.get(pk=rows[1].pk).legal_hold
    page.fill("#hold-reason", "case 2026-114")
    page.click("#hold-button")
    page.wait_for_selector("#hold-result:text('under legal hold')")
    assert page.is_visible("#held")
    assert page.inner_text("#hold-button") == "Lift the legal hold"
    held = Recording.objects.get(pk=rows[1].pk)
    assert held.legal_hold
    assert RecordingAccess.objects.filter(
        recording=held, kind="hold", detail="on: case 2026-114"
    ).exists()
    bad = client_for(users["admin"]).post(
        f"/api/recordings/{rows[2].pk}/hold/", {"hold": "yes", "reason": ""}, format="json"
    )
    assert bad.status_code == 400
    # past retention: the held recording stays, the other goes
    Recording.objects.filter(pk__in=[rows[1].pk, rows[2].pk]).update(
        retention_days=1, started_at=datetime.now(tz=UTC) - timedelta(days=3)
    )
    apply_retention()
    assert Recording.objects.get(pk=rows[1].pk).status == "ready"
    assert Recording.objects.get(pk=rows[2].pk).status == "deleted"

    page.goto(f"{web}/recordings/qa/")
    assert page.inner_text("#total-evaluations") == "2"
    # agent 1: 70 and (1×1/5 + 3×2/10) / 4 × 100 = 20 -> average 45
    cells = page.locator("#agents tr[data-agent=ag1] td").all_inner_texts()
    assert cells[2:7] == ["2", "2", "45.0", "70.0", "20.0"]
    greeting_row = page.locator(".questions tbody tr").nth(0).locator("td").all_inner_texts()
    assert greeting_row[0] == "Greeting" and greeting_row[3] == "3.0 / 5"
    assert greeting_row[4] == "60.0 %"
    bands = dict(
        tuple(r.split("\t")[:2]) for r in page.locator("#bands tbody tr").all_inner_texts()
    )
    assert bands["under 50"] == "1" and bands["70–84"] == "1"
    page.emulate_media(media="print")
    assert not page.is_visible("form") and page.is_visible("#agents")
    page.emulate_media(media="screen")
    page.goto(f"{web}/recordings/qa/?since=tomorrow")
    assert "since: a date" in page.inner_text(".error")
    page.goto(f"{web}/recordings/qa/?since=2999-01-01")
    assert page.inner_text("#total-evaluations") == "0"
