"""Tariff plans in PostgreSQL: what the models refuse (and the database too), the loader into
the rating core, `manage.py import_tariffs` keeping good rows and reporting bad ones by line,
the demo plan loaded twice, and the admin pages."""

from datetime import date
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from stats.demo import DEMO_PLAN, DEMO_RATES, load_demo_tariffs
from stats.models import TariffPlan, TariffRate
from stats.rating import load_tariff

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return TariffPlan.objects.create(name="Carrier A", currency="EUR")


def a_rate(plan, **fields) -> TariffRate:
    return TariffRate(plan=plan, **{"prefix": "44", "price_per_minute": D("0.02"), **fields})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prefix": "+44"}, "prefix"),
        ({"prefix": "44 7"}, "prefix"),
        ({"prefix": ""}, "prefix"),
        ({"first_increment": 0}, "first_increment"),
        ({"next_increment": 0}, "next_increment"),
        ({"price_per_minute": D("-0.01")}, "price_per_minute"),
        ({"connection_fee": D("-0.01")}, "connection_fee"),
        ({"valid_from": date(2026, 2, 1), "valid_until": date(2026, 1, 1)}, "valid_until"),
    ],
)
def test_a_rate_that_cannot_be_used_is_refused_with_the_field(plan, fields, field):
    with pytest.raises(ValidationError) as refused:
        a_rate(plan, **fields).full_clean()
    assert list(refused.value.message_dict) == [field]


def test_a_currency_is_an_iso_code():
    with pytest.raises(ValidationError) as refused:
        TariffPlan(name="x", currency="eur").full_clean()
    assert "currency" in refused.value.message_dict
    TariffPlan(name="x", currency="GBP").full_clean()


def test_one_rate_per_prefix_and_start_even_without_a_start(plan):
    a_rate(plan).save()
    with pytest.raises(ValidationError, match="already has a rate for this prefix"):
        a_rate(plan, price_per_minute=D("0.03")).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():  # NULLs are not distinct
        a_rate(plan, price_per_minute=D("0.03")).save()
    other = TariffPlan.objects.create(name="Carrier B", currency="EUR")
    a_rate(other).full_clean()  # another plan may


def test_periods_of_one_prefix_may_follow_but_not_overlap(plan):
    a_rate(plan, valid_until=date(2026, 7, 1)).save()
    a_rate(plan, valid_from=date(2026, 7, 1)).full_clean()
    with pytest.raises(ValidationError, match="Overlaps the rate for 44 valid … – 2026-07-01"):
        a_rate(plan, valid_from=date(2026, 6, 30)).full_clean()
    stored = TariffRate.objects.get()
    stored.price_per_minute = D("0.05")
    stored.full_clean()  # a rate does not overlap itself


def test_the_database_refuses_what_validation_would(plan):
    for fields in (
        {"prefix": "+44"},
        {"first_increment": 0},
        {"price_per_minute": D("-1")},
        {"valid_from": date(2026, 2, 1), "valid_until": date(2026, 2, 1)},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            a_rate(plan, **fields).save()


def test_a_plan_loads_into_the_rating_core(plan):
    a_rate(
        plan,
        prefix="447",
        price_per_minute=D("0.12"),
        connection_fee=D("0.05"),
        first_increment=30,
        next_increment=6,
    ).save()
    a_rate(
        plan, prefix="44", price_per_minute=D("0.025"), first_increment=30, next_increment=6
    ).save()
    tariff = load_tariff("Carrier A")
    assert tariff.currency == "EUR"
    mobile = tariff.rate("+44 7700 900123", date(2026, 3, 2), 31)
    assert (mobile.rate.prefix, mobile.billed_seconds, mobile.cost) == ("447", 36, D("0.1220"))
    assert tariff.rate("+44 20 7946 0000", date(2026, 3, 2), 61).cost == D("0.0275")
    assert load_tariff(plan, decimals=2).rate("+4420", date(2026, 3, 2), 61).cost == D("0.03")
    with pytest.raises(TariffPlan.DoesNotExist):
        load_tariff("no such plan")


GOOD_AND_BAD = """\
prefix,description,price_per_minute,connection_fee,minimum_seconds,first_increment,next_increment,valid_from,valid_until
44,United Kingdom,0.0250,,,30,6,,
447,UK mobile,0.1200,0.05,30,30,6,,
+33,France,0.03,,,,,,
1,USA,abc,,,,,,
49,Germany,0.03,,,0,6,,
"""
MORE = """\
336,France mobile,0.11,0.05,,30,6,2026-01-01,2025-01-01
33,France,0.03,,,,,,
44,United Kingdom,0.0200,,,30,6,,
1,USA,0.015,,,,,,,,
"""


def test_the_import_keeps_good_rows_and_reports_bad_ones_by_line(plan, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(GOOD_AND_BAD + MORE, encoding="utf-8")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="6 rows rejected; the others were imported"):
        call_command("import_tariffs", "Carrier A", str(path), stdout=out, stderr=err)
    assert "Carrier A (EUR): 3 rates created, 0 updated." in out.getvalue()
    errors = err.getvalue().splitlines()
    assert [line.split(": ", 1)[0] for line in errors] == [
        f"{path}:{n}" for n in (4, 5, 6, 7, 9, 10)
    ]
    assert errors[0].startswith(f"{path}:4: prefix: Digits only")
    assert errors[1] == f"{path}:5: price_per_minute: “abc” value must be a decimal number."
    assert errors[2].startswith(f"{path}:6: first_increment: Ensure this value is greater")
    assert errors[3] == f"{path}:7: valid_until: Must be after valid from."
    assert errors[4] == f"{path}:9: same prefix and valid from as line 2"
    assert errors[5] == f"{path}:10: 9 cells expected"
    assert TariffRate.objects.filter(plan=plan).count() == 3  # 44, 447, 33
    rates = {r.prefix: r for r in TariffRate.objects.filter(plan=plan)}
    assert rates["447"].connection_fee == D("0.05") and rates["447"].minimum_seconds == 30
    assert rates["33"].first_increment == 60 and rates["33"].connection_fee == 0
    assert rates["44"].price_per_minute == D("0.0250")  # line 9 was refused


def test_importing_again_replaces_the_rates_of_the_same_prefix_and_start(plan, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("Prefix;Price_per_minute;Valid_from\n44;0,02;\n44;0.01;2026-07-01\n")
    with pytest.raises(CommandError, match="1 rows rejected"):  # the decimal comma
        call_command("import_tariffs", "Carrier A", str(path), stdout=StringIO(), stderr=StringIO())
    path.write_text(
        "\ufeffprefix;price_per_minute;valid_from;valid_until\n44;0.02;;2026-07-01\n"
        "44;0.015;2026-07-01;\n"
    )
    out = StringIO()
    call_command("import_tariffs", "Carrier A", str(path), stdout=out, stderr=StringIO())
    assert "1 rates created, 1 updated" in out.getvalue()
    rows = TariffRate.objects.filter(plan=plan).order_by("valid_from")
    assert [(r.price_per_minute, r.valid_from, r.valid_until) for r in rows] == [
        (D("0.015"), date(2026, 7, 1), None),
        (D("0.02"), None, date(2026, 7, 1)),
    ]


def test_an_unusable_file_or_plan_imports_nothing(plan, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("prefix,cost\n44,0.02\n")
    with pytest.raises(CommandError, match="line 1: the header needs prefix, price_per_minute"):
        call_command("import_tariffs", "Carrier A", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="no tariff plan 'Nope'"):
        call_command("import_tariffs", "Nope", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_tariffs", "Carrier A", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="is in EUR, not USD"):
        call_command("import_tariffs", "Carrier A", str(path), currency="USD")
    with pytest.raises(CommandError, match="ISO 4217"):
        call_command("import_tariffs", "New", str(path), currency="usd")
    assert not TariffRate.objects.exists()
    assert list(TariffPlan.objects.values_list("name", flat=True)) == ["Carrier A"]


def test_the_import_creates_the_plan_when_given_a_currency(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("prefix,price_per_minute\n1,0.015\n")
    call_command("import_tariffs", "Carrier C", str(path), currency="USD", stdout=StringIO())
    assert load_tariff("Carrier C").rate("+1 212 555 0100", date(2026, 1, 1), 61).cost == D(
        "0.0300"
    )


def test_the_demo_plan_loads_once_and_rates_demo_calls():
    assert load_demo_tariffs() == 1 + len(DEMO_RATES)
    assert load_demo_tariffs() == 0
    TariffRate.objects.filter(prefix="447").update(price_per_minute=D("9"))
    assert load_demo_tariffs() == 1
    tariff = load_tariff(DEMO_PLAN)
    day = date(2026, 3, 2)
    assert tariff.rate("5550101", day, 61).cost == D("0.0200")  # local, 60/60
    assert tariff.rate("+1 800 555 0100", day, 300).cost == 0  # toll-free beats USA
    # UK mobile: 0.05 + 0.12 × 36 / 60
    assert tariff.rate("+44 7700 900123", day, 31).cost == D("0.1220")
    assert tariff.rate("+49 30 1234", day, 60).cost is None


def test_the_admin_lists_plans_and_searches_rates_by_prefix(admin_client):
    load_demo_tariffs()
    plan = TariffPlan.objects.get(name=DEMO_PLAN)
    assert admin_client.get("/admin/stats/tariffplan/").status_code == 200
    page = admin_client.get(f"/admin/stats/tariffplan/{plan.pk}/change/")
    assert page.status_code == 200 and b"United Kingdom mobile" in page.content
    found = admin_client.get("/admin/stats/tariffrate/", {"q": "44"})
    assert found.status_code == 200
    assert b"United Kingdom mobile" in found.content and b"France" not in found.content
