"""Today's queue and agent figures (the wallboard's tiles and grid), computed by hand."""

from icm.domain.acd.day_figures import DayFigures
from icm.domain.alarms import AlarmBook, QueueAlarmLimits, current_alarms

DAY = 86400.0


def figures() -> DayFigures:
    return DayFigures(lambda ts: ts // DAY * DAY, lambda q: 20.0)


def test_queue_day_figures_match_the_hand_computed_ones():
    day = figures()
    day.contact_finished("support", "answered", 5.0, 1000.0)
    day.contact_finished("support", "answered", 30.0, 1100.0)  # outside the 20 s threshold
    day.contact_finished("support", "abandoned", 12.0, 1200.0)
    day.contact_finished("support", "overflowed", 600.0, 1300.0)
    fig = day.queue("support", 1300.0)
    assert (fig["answered"], fig["abandoned"], fig["overflowed"], fig["finished"]) == (2, 1, 1, 4)
    assert fig["answered_in_sl"] == 1
    assert fig["sl_today"] == 33.3  # 1 of (2 answered + 1 abandoned)
    assert fig["asa"] == 17.5
    assert fig["max_wait"] == 600.0
    assert fig["sl_15m"] == 33.3 and fig["finished_15m"] == 3
    later = day.queue("support", 1000.0 + 900.0 + 150.0)  # the first two left the window
    assert later["sl_15m"] == 0.0 and later["finished_15m"] == 1 and later["sl_today"] == 33.3


def test_handle_time_and_agent_day_from_state_changes():
    day = figures()
    day.agent_changed("a1", "ready", 100.0)
    day.agent_changed("a1", "reserved", 160.0)
    day.agent_changed("a1", "on_call", 170.0, "support")
    day.agent_changed("a1", "wrap_up", 290.0)
    day.agent_changed("a1", "ready", 300.0)  # handled: 130 s talk + wrap-up
    day.agent_changed("a1", "not_ready", 400.0)
    assert day.queue("support", 400.0)["aht"] == 130.0
    assert day.queue("support", 400.0)["handled"] == 1
    agent = day.agent("a1", 400.0)
    assert agent["handled"] == 1
    assert agent["seconds"] == {"ready": 160.0, "reserved": 10.0, "on_call": 120.0, "wrap_up": 10.0}
    # busy 140 s of 300 available; not-ready time (from 400 s) counts in neither
    assert day.occupancy("a1", 1000.0) == 46.7


def test_a_call_without_queue_is_not_handled_for_a_queue():
    day = figures()
    day.agent_changed("a1", "ready", 0.0)
    day.agent_changed("a1", "on_call", 10.0)  # an outbound call of its own
    day.agent_changed("a1", "ready", 70.0)
    assert day.agent("a1", 80.0)["handled"] == 0
    assert day.queue("support", 80.0)["aht"] is None


def test_a_new_day_starts_from_zero():
    day = figures()
    day.contact_finished("support", "answered", 5.0, DAY - 10)
    day.agent_changed("a1", "ready", DAY - 100)
    assert day.queue("support", DAY + 5)["answered"] == 0
    day.agent_changed("a1", "not_ready", DAY + 50)
    assert day.agent("a1", DAY + 60)["seconds"] == {"ready": 50.0}  # only since midnight


def test_alarms_are_raised_once_and_cleared_with_their_duration():
    limits = {"support": QueueAlarmLimits(waiting=2, wait_seconds=60, sl_target=80)}
    book = AlarmBook()
    calm = {"support": {"waiting": 2, "longest_wait": 30, "sl_15m": 90, "finished_15m": 5}}
    assert book.update(current_alarms(calm, limits, {}, True, 900, 0.0), 0.0) == []
    busy = {"support": {"waiting": 3, "longest_wait": 61, "sl_15m": 50, "finished_15m": 5}}
    agents = {"a1": ("not_ready", 0.0, "lunch"), "a2": ("ready", 0.0, "")}
    raised = book.update(current_alarms(busy, limits, agents, False, 900, 1000.0), 1000.0)
    assert sorted(c.alarm.key for c in raised) == [
        "not_ready:a1",
        "queue_wait:support",
        "queue_waiting:support",
        "service_level:support",
        "switch:",
    ]
    assert all(c.raised for c in raised)
    assert book.update(current_alarms(busy, limits, agents, False, 900, 1001.0), 1001.0) == []
    cleared = book.update(current_alarms(calm, limits, {}, True, 900, 1060.0), 1060.0)
    assert len(cleared) == 5 and not any(c.raised for c in cleared)
    assert {c.since for c in cleared} == {1000.0}


def test_service_level_alarm_waits_for_enough_contacts():
    limits = {"q": QueueAlarmLimits(sl_target=80)}
    few = {"q": {"waiting": 0, "sl_15m": 0.0, "finished_15m": 2}}
    assert current_alarms(few, limits, {}, True, None, 0.0) == {}


def test_a_trunk_that_is_not_registered_or_not_reachable_is_an_alarm():
    gateways = {
        "ok": ("REGED", "UP"),
        "noreg": ("NOREG", "UP"),
        "lost": ("FAIL_WAIT", "DOWN"),
        "unpinged": ("REGED", "DOWN"),
    }
    found = current_alarms({}, {}, {}, True, None, 0.0, gateways)
    assert sorted(found) == ["gateway:lost", "gateway:unpinged"]
    assert found["gateway:lost"].severity == "critical"
    # with the switch gone its trunks' state is unknown: only the switch alarm
    assert sorted(current_alarms({}, {}, {}, False, None, 0.0, gateways)) == ["switch:"]


def test_a_database_away_for_longer_than_the_grace_is_a_critical_alarm_cleared_when_back():
    """Issue 21: the operator sees the outage on the wallboard and in the event history."""
    book = AlarmBook()
    blip = current_alarms({}, {}, {}, True, None, 1002.0, None, (1000.0, 40))
    assert blip == {}  # one failed write (2 s) is not an outage yet
    away = current_alarms({}, {}, {}, True, None, 1030.0, None, (1000.0, 1234))
    (raised,) = book.update(away, 1030.0)
    assert raised.raised and raised.alarm.kind == "database"
    assert raised.alarm.severity == "critical"
    assert "30 s" in raised.alarm.text and "1234 records kept on disk" in raised.alarm.text
    (cleared,) = book.update(current_alarms({}, {}, {}, True, None, 1090.0), 1090.0)
    assert not cleared.raised and cleared.since == 1030.0
