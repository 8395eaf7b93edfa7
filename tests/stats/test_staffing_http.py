"""The staffing calculator's page and API with the Erlang A model, and their refusals."""

import pytest

pytestmark = pytest.mark.django_db

TEN_ERLANGS = {"calls": 200, "aht": 180, "interval": 3600, "target": 80, "threshold": 20}


@pytest.fixture
def boss():
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def test_erlang_a_over_the_api(boss):
    r = boss.get("/api/stats/staffing/", TEN_ERLANGS | {"model": "erlang_a", "patience": 120})
    assert r.status_code == 200
    body = r.json()
    assert body["inputs"]["model"] == "erlang_a" and body["inputs"]["patience"] == 120
    assert body["needed"]["agents"] == 12
    assert round(body["needed"]["abandon_probability"], 4) == 0.0616
    rows = {row["agents"]: row for row in body["table"]}
    assert sorted(rows) == list(range(9, 16))
    assert round(rows[14]["abandon_probability"], 4) == 0.0228
    capped = boss.get("/api/stats/staffing/", TEN_ERLANGS | {"model": "erlang_a", "max_abandon": 2})
    assert capped.json()["needed"]["agents"] == 15  # patience defaults to 120 s


def test_erlang_c_stays_the_default_and_ignores_patience(boss):
    r = boss.get("/api/stats/staffing/", TEN_ERLANGS | {"patience": 120})
    body = r.json()
    assert body["inputs"]["model"] == "erlang_c" and "patience" not in body["inputs"]
    assert body["needed"]["agents"] == 14 and "abandon_probability" not in body["needed"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "erlang_b"}, "model: erlang_c or erlang_a"),
        ({"model": "erlang_a", "patience": 0}, "patience > 0"),
        ({"model": "erlang_a", "patience": "soon"}, "patience: not a number"),
        ({"model": "erlang_a", "max_abandon": 0}, "abandonment cap"),
        ({"model": "erlang_a", "calls": "nan"}, "calls: not a finite number"),
        ({"calls": "inf"}, "calls: not a finite number"),
        ({"max_occupancy": 0}, "occupancy cap"),
    ],
)
def test_bad_input_is_a_400_that_says_why(boss, params, message):
    r = boss.get("/api/stats/staffing/", TEN_ERLANGS | params)
    assert r.status_code == 400 and message in r.json()["detail"]


def test_the_page_with_erlang_a(boss):
    page = boss.get("/stats/staffing/", TEN_ERLANGS | {"model": "erlang_a", "patience": 120})
    html = page.content.decode()
    assert page.status_code == 200 and "<b>12</b> agents on the phones" in html
    assert "Staffing calculator (Erlang A)" in html
    assert '<option value="erlang_a" selected>' in html
    assert '<span id="abandon">0.062</span>' in html and "<th>P(abandon)</th>" in html
    erlang_c = boss.get("/stats/staffing/", TEN_ERLANGS).content.decode()
    assert "<b>14</b> agents on the phones" in erlang_c and "P(abandon)" not in erlang_c


def test_the_page_says_what_is_wrong(boss):
    page = boss.get("/stats/staffing/", {"model": "erlang_a", "patience": "-5"})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<p class="error">patience &gt; 0 s and threshold ≥ 0 s</p>' in html
    assert 'id="needed"' not in html
