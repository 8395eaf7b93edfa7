"""Today's wallboard figures survive an icm restart (rebuilt from the CDRs and the agent
state log), and the snapshot API answers with the scope's queues only."""

from __future__ import annotations

from icm.models import Call, Switch, SystemEvent
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1


def support_tile(client) -> dict:
    return next(q for q in client.get("/api/wallboard/").json()["queues"] if q["name"] == "support")


def tile_when(client, figure: str, value: object, what: str, timeout: float = 20) -> dict:
    def check() -> dict | None:
        tile = support_tile(client)
        return tile if tile.get(figure) == value else None

    return wait_until(check, what=what, timeout=timeout)


def test_todays_figures_survive_an_icm_restart(teams, platform_factory):
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    login = {"state": "login", "switch": platform.switch}
    assert (
        client_for(users["agent1"]).post("/api/agents/ag1/state/", login, format="json").status_code
        == 200
    )
    assert esl.api("sim_call 5550101 8131 talk=1").startswith("+OK")
    wait_until(
        lambda: Call.objects.filter(ani="5550101", ended_at__isnull=False).exists(),
        what="the answered call in the CDRs",
    )
    lead = client_for(users["lead1"])
    before = tile_when(lead, "handled", 1, "the call handled (after its wrap-up)", timeout=30)
    assert (before["offered"], before["answered"], before["abandoned"]) == (1, 1, 0)
    assert before["asa"] is not None and before["aht"] > 1

    platform.icm.stop()  # SIGTERM: icm says so on the bus and in the history first
    assert SystemEvent.objects.filter(switch=platform.switch, kind="icm_stopped").exists()
    assert Switch.objects.get(name=platform.switch).status == Switch.Status.DISCONNECTED
    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    connected = f"switch {platform.switch} connected"
    wait_until(lambda: platform.icm.log().count(connected) == 2, what="the new icm connected")
    seeded = [line for line in platform.icm.log().splitlines() if "today so far" in line]
    assert "today so far: 0 queue contacts" in seeded[0]  # the first start: a new day
    assert "today so far: 1 queue contacts" in seeded[1]
    after = tile_when(lead, "answered", 1, "the tile after the restart")
    for figure in ("offered", "answered", "abandoned", "sl_today", "asa", "aht", "handled"):
        assert after[figure] == before[figure], figure
    agents = {a["agent"]: a for a in lead.get("/api/wallboard/").json()["agents"]}
    assert agents["ag1"]["today"]["handled"] == 1
    esl.close()
