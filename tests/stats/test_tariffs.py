"""The rating rules with costs worked by hand: normalisation of + and 00, longest prefix,
60/60 against 30/6 against 1/1, minimum, connection fee, half-up rounding, validity dates,
unknown destinations; and the prefix index against a plain scan of every rate."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stats.tariffs import Rate, Tariff, TariffError, display, normalise

DAY = date(2026, 3, 2)


def cost(rate: Rate, seconds: float) -> tuple[int, D | None]:
    rating = Tariff([rate]).rate(rate.prefix + "123456", DAY, seconds)
    return rating.billed_seconds, rating.cost


@pytest.mark.parametrize(
    ("dialled", "digits"),
    [
        ("+44 20 7946 0000", "442079460000"),
        ("0044 (20) 7946-0000", "442079460000"),
        ("44.20.7946.0000", "442079460000"),
        ("+1 212/555 0100", "12125550100"),
        ("01 23 45 67 89", "0123456789"),  # a national trunk 0 stays
        ("5550101", "5550101"),
        ("*98", ""),
        ("sip:1001@hq", ""),
        ("+", ""),
        ("", ""),
    ],
)
def test_numbers_are_normalised_to_the_digits_the_prefixes_are_written_in(dialled, digits):
    assert normalise(dialled) == digits


def test_the_longest_prefix_wins():
    tariff = Tariff([Rate("44", D("0.0250")), Rate("447", D("0.1200")), Rate("4477", D("0.09"))])
    assert tariff.rate("+447700900123", DAY, 60).rate.prefix == "4477"
    assert tariff.rate("00447800900123", DAY, 60).rate.prefix == "447"
    assert tariff.rate("+44 20 7946 0000", DAY, 60).rate.prefix == "44"
    assert tariff.rate("+44 20 7946 0000", DAY, 60).cost == D("0.0250")


@pytest.mark.parametrize(
    ("first", "following", "seconds", "billed"),
    [
        (60, 60, 1, 60),
        (60, 60, 60, 60),
        (60, 60, 61, 120),
        (60, 60, 121, 180),
        (30, 6, 1, 30),
        (30, 6, 30, 30),
        (30, 6, 31, 36),
        (30, 6, 61, 66),
        (30, 6, 66, 66),
        (1, 1, 1, 1),
        (1, 1, 61, 61),
        (1, 1, 0.4, 1),  # a started second is a whole one
        (1, 1, 60.2, 61),
    ],
)
def test_increments(first, following, seconds, billed):
    # 0.60 a minute is 0.01 a second: the cost is the billed seconds in hundredths.
    rate = Rate("33", D("0.60"), first_increment=first, next_increment=following)
    assert cost(rate, seconds) == (billed, D(billed) / 100)


def test_the_minimum_is_billed_when_the_call_is_shorter():
    rate = Rate("33", D("0.60"), minimum_seconds=30, first_increment=1, next_increment=1)
    assert cost(rate, 10) == (30, D("0.3000"))
    assert cost(rate, 45) == (45, D("0.4500"))


def test_the_connection_fee_is_added_once_to_an_answered_leg():
    rate = Rate("447", D("0.12"), connection_fee=D("0.05"), first_increment=30, next_increment=6)
    # 31 s → 36 s billed: 0.12 × 36 / 60 = 0.072, + 0.05
    assert cost(rate, 31) == (36, D("0.1220"))
    assert cost(rate, 600) == (600, D("1.2500"))


def test_an_unanswered_leg_costs_nothing_not_even_the_fee():
    rate = Rate("447", D("0.12"), connection_fee=D("0.05"), minimum_seconds=30)
    rating = Tariff([rate]).rate("+447700900123", DAY, 0)
    assert (rating.rate, rating.billed_seconds, rating.cost, rating.rated) == (rate, 0, 0, True)
    assert str(rating.cost) == "0.0000"


def test_costs_round_half_up_to_four_decimals_then_two_for_display():
    rate = Rate("1", D("0.0125"), first_increment=6, next_increment=6)
    assert cost(rate, 6) == (6, D("0.0013"))  # 0.00125: half-even would give 0.0012
    assert cost(rate, 7) == (12, D("0.0025"))
    two = Tariff([rate], decimals=2).rate("1212", DAY, 6)
    assert str(two.cost) == "0.00"
    # a third of a cent: 0.01 a minute for 20 s
    third = Tariff([Rate("1", D("0.01"), first_increment=1, next_increment=1)])
    assert third.rate("1212", DAY, 20).cost == D("0.0033")
    assert display(D("0.125")) == D("0.13")
    assert display(D("0.1249")) == D("0.12")
    assert str(display(D("7"))) == "7.00"


def test_a_rate_applies_from_its_first_day_until_the_day_before_its_end():
    old = Rate("44", D("0.03"), valid_until=date(2026, 7, 1))
    new = Rate("44", D("0.02"), valid_from=date(2026, 7, 1))
    tariff = Tariff([new, old])
    evening = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
    midnight = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert tariff.rate("+4420", evening, 60).rate is old
    assert tariff.rate("+4420", midnight, 60).rate is new
    assert tariff.rate("+4420", date(2020, 1, 1), 60).cost == D("0.0300")


def test_an_expired_longer_prefix_falls_back_to_the_shorter_one():
    promo = Rate("447", D("0.01"), valid_from=date(2026, 1, 1), valid_until=date(2026, 2, 1))
    tariff = Tariff([Rate("44", D("0.05")), promo])
    assert tariff.rate("+447700", date(2026, 1, 31), 60).rate is promo
    assert tariff.rate("+447700", date(2026, 2, 1), 60).rate.prefix == "44"
    assert tariff.rate("+447700", date(2025, 12, 31), 60).cost == D("0.0500")


def test_an_unknown_destination_has_no_rate_and_no_cost():
    tariff = Tariff([Rate("44", D("0.05"))], currency="EUR")
    for number in ("+33 1 23 45 67 89", "4", "*98", "", "sip:someone"):
        rating = tariff.rate(number, DAY, 61)
        assert (rating.rate, rating.billed_seconds, rating.cost, rating.rated) == (
            None,
            0,
            None,
            False,
        )
    assert tariff.rate("+33 1 23 45 67 89", DAY, 0).cost == 0  # unanswered: free anyway
    assert Tariff([]).rate("+4420", DAY, 60).cost is None


@pytest.mark.parametrize(
    "bad",
    [
        {"prefix": "+44"},
        {"prefix": "00 44"},
        {"prefix": ""},
        {"price_per_minute": D("-0.01")},
        {"connection_fee": D("-1")},
        {"first_increment": 0},
        {"next_increment": 0},
        {"minimum_seconds": -1},
        {"valid_from": date(2026, 2, 1), "valid_until": date(2026, 2, 1)},
    ],
)
def test_unusable_rates_are_refused(bad):
    with pytest.raises(TariffError):
        Rate(**{"prefix": "44", "price_per_minute": D("0.01"), **bad})


def test_two_rates_of_one_prefix_cannot_apply_on_the_same_day():
    with pytest.raises(TariffError, match="overlap"):
        Tariff([Rate("44", D("0.01")), Rate("44", D("0.02"), valid_from=date(2026, 1, 1))])
    with pytest.raises(TariffError, match="overlap"):
        Tariff(
            [
                Rate("44", D("0.01"), valid_from=date(2026, 1, 1), valid_until=date(2026, 3, 1)),
                Rate("44", D("0.02"), valid_from=date(2026, 2, 28)),
            ]
        )
    Tariff([Rate("44", D("0.01"), valid_until=date(2026, 1, 1)), Rate("447", D("0.02"))])


periods = st.one_of(
    st.just((None, None)),
    st.tuples(st.integers(1, 20), st.integers(1, 10)).map(
        lambda start: (date(2026, 1, start[0]), date(2026, 1, start[0] + start[1]))
    ),
)
prefixes = st.text("0123", min_size=1, max_size=4)


@given(
    st.dictionaries(prefixes, periods, max_size=30),
    st.text("0123", max_size=8),
    st.integers(1, 31),
)
def test_the_index_finds_what_a_scan_of_every_rate_finds(table, number, day):
    rates = [
        Rate(prefix, D(len(prefix)), valid_from=start, valid_until=end)
        for prefix, (start, end) in table.items()
    ]
    on = date(2026, 1, day)
    valid = [r for r in rates if number.startswith(r.prefix) and r.valid_on(on)]
    expected = max(valid, key=lambda r: len(r.prefix), default=None)
    assert Tariff(rates).match(number, on) == expected  # the number as normalised
