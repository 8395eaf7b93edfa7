"""The staffing calculator against published worked examples of Erlang C."""

import math

import pytest

from stats.erlang import StaffingError, agents_needed, asa, erlang_c, service_level, staffing_for


def test_ten_erlangs_at_80_in_20_needs_14_agents_and_13_give_79_6_percent():
    # 200 calls in an hour, 180 s handle time: 10 Erlangs
    need = agents_needed(200, 180, 3600, target=0.80, threshold=20)
    assert need.agents == 14 and need.traffic == 10
    assert need.service_level == pytest.approx(0.8884, abs=0.0005)
    thirteen = staffing_for(13, 200, 180, 3600, threshold=20)
    assert thirteen.service_level == pytest.approx(0.796, abs=0.0005)
    assert thirteen.asa == pytest.approx(17.1, abs=0.1)
    assert thirteen.occupancy == pytest.approx(10 / 13)


def test_wait_probability_and_asa_of_a_classic_example():
    # 2 Erlangs on 3 agents: P(wait) = 4/9
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert asa(3, 2.0, 120) == pytest.approx(4 / 9 * 120)
    assert service_level(2, 2.0, 120, 20) == 0.0  # cannot carry it
    assert math.isinf(asa(2, 2.0, 120))


def test_shrinkage_occupancy_cap_and_bad_input():
    need = agents_needed(200, 180, 3600, 0.8, 20, shrinkage=0.3)
    assert (need.agents, need.scheduled) == (14, 20)
    capped = agents_needed(200, 180, 3600, 0.8, 20, max_occupancy=0.65)
    assert capped.agents == 16 and capped.occupancy <= 0.65
    assert agents_needed(0, 180, 3600, 0.8, 20).agents == 0
    with pytest.raises(StaffingError, match="between 0 and 1"):
        agents_needed(200, 180, 3600, 80, 20)
    with pytest.raises(StaffingError, match="handle time"):
        agents_needed(200, 0, 3600, 0.8, 20)


@pytest.mark.django_db
def test_the_calculator_over_http_for_supervisors_only():
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    boss = APIClient()
    boss.force_login(User.objects.create_superuser("boss", "b@example.com", "pw"))
    r = boss.get(
        "/api/stats/staffing/",
        {"calls": 200, "aht": 180, "interval": 3600, "target": 80, "threshold": 20},
    )
    assert r.status_code == 200 and r.json()["needed"]["agents"] == 14
    rows = {row["agents"]: row for row in r.json()["table"]}
    assert round(rows[13]["service_level"] * 100, 1) == 79.6
    assert boss.get("/api/stats/staffing/", {"calls": "many"}).status_code == 400
    nobody = APIClient()
    nobody.force_authenticate(User.objects.create_user("someone"))
    assert nobody.get("/api/stats/staffing/").status_code == 403
    page = boss.get("/stats/staffing/", {"calls": 200})
    assert page.status_code == 200 and b"<b>14</b> agents on the phones" in page.content


def test_occupancy_caps_are_checked_and_a_low_one_is_reached_at_once():
    with pytest.raises(StaffingError, match="occupancy cap"):
        agents_needed(200, 180, 3600, 0.8, 20, max_occupancy=0)  # never met: refused
    low = agents_needed(200, 180, 3600, 0.8, 20, max_occupancy=0.01)  # 10 Erlangs at ≤ 1 %
    assert low.agents == 1000 and low.occupancy == pytest.approx(0.01)
    with pytest.raises(StaffingError, match="handle time"):
        agents_needed(math.nan, 180, 3600, 0.8, 20)
