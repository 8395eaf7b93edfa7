"""What icm remembers per call stays bounded (issue 21 finding 5): driven with many calls, the
live model's memories of ended calls and hung-up legs, the recorder's finished paths, the
day figures' short window and the switch jobs waiting for a result keep a window's worth,
not one entry per call for ever — and still do their job within that window."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.memory_report import containers
from icm.daemon.pending_jobs import PendingJobs
from icm.daemon.recording.recorder import SEEN_SECONDS, Recorder
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.day_figures import SHORT_WINDOW, SLOT, DayFigures
from icm.domain.calls import RECENT_SECONDS, LegState, LiveCalls
from icm.domain.recent import Recent

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
RATE = 20.0  # calls per second, as the soak bench drives


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def created(uuid: str, call_uuid: str) -> ev.LegCreated:
    return ev.LegCreated(
        "fs", uuid, call_uuid, "inbound", f"sofia/{uuid}", "100", "", "8000", "public", AT, ""
    )


def snap(uuid: str) -> ev.LegSnapshot:
    return ev.LegSnapshot(
        uuid, uuid, "inbound", f"sofia/{uuid}", "100", "", "8000", "public", AT, True
    )


def a_call(model: LiveCalls, n: int) -> None:
    """A caller and an agent leg icm placed for it, both hung up."""
    caller, agent = f"c{n}", f"a{n}"
    model.apply(created(caller, caller))
    model.apply(ev.LegExpected("fs", agent, caller))
    model.apply(created(agent, agent))
    model.apply(ev.LegHungUp("fs", agent, "NORMAL_CLEARING", AT))
    model.apply(ev.LegHungUp("fs", caller, "NORMAL_CLEARING", AT))


def test_the_live_model_keeps_a_minute_of_ended_calls_whatever_the_call_count():
    clock = Clock()
    model = LiveCalls(clock)
    for n in range(20_000):  # ~17 minutes at 20 calls/s
        a_call(model, n)
        clock.now += 1 / RATE
    assert len(model) == 0
    window = int(RATE * RECENT_SECONDS) + 1
    assert len(model._ended) <= window  # calls
    assert len(model._tombstones) <= 2 * window  # legs
    assert len(model._expected) == 0


def test_within_the_window_a_late_leg_joins_its_call_and_a_stale_row_stays_dead():
    clock = Clock()
    model = LiveCalls(clock)
    model.apply(created("c1", "c1"))
    model.apply(ev.LegExpected("fs", "a1", "c1"))
    model.apply(ev.LegHungUp("fs", "c1", "NORMAL_CLEARING", AT))  # the caller gave up
    clock.now += RECENT_SECONDS / 2
    [record] = model.apply(created("a1", "a1"))  # the agent's phone shows up late
    assert record.call_uuid == "c1"
    model.apply(ev.ResyncStarted("fs", AT))
    model.apply(ev.SwitchResynced("fs", (snap("a1"), snap("c1")), AT))
    [call] = model.calls("fs")
    states = {leg.uuid: leg.state for leg in call.legs}
    assert states["c1"] is LegState.ENDED and states["a1"] is not LegState.ENDED  # c1 stays over


def test_ended_calls_older_than_the_window_are_forgotten_even_when_few():
    clock = Clock()
    model = LiveCalls(clock)
    a_call(model, 1)
    clock.now += RECENT_SECONDS + 1
    a_call(model, 2)
    assert list(model._ended) == [("fs", "c2")]
    assert ("fs", "c1") not in model._tombstones


def test_the_recorder_remembers_finished_paths_for_a_window(tmp_path):
    rows: list[dict] = []
    recorder = Recorder("fs", lambda command: "job", str(tmp_path), "UTC", rows.append)
    clock = Clock()
    recorder.seen.clock = clock
    for n in range(10_000):
        assert recorder.stopped(f"leg{n}", str(tmp_path / f"r{n}.wav"), clock.now, "ok", 1000)
        clock.now += 1 / RATE
    assert len(recorder.seen) <= int(RATE * SEEN_SECONDS) + 1
    # a RECORD_STOP delivered again within the window is still recognised: no second row
    assert not recorder.stopped("leg9999", str(tmp_path / "r9999.wav"), clock.now, "ok", 1000)
    assert len(rows) == 10_000


def test_day_figures_keep_counts_per_slot_not_one_entry_per_contact():
    day = DayFigures(lambda ts: 0.0, lambda queue: 20.0)  # one long day
    at = 0.0
    for n in range(72_000):  # an hour at 20 calls/s
        day.contact_finished("q", "answered", 5.0 if n % 4 else 60.0, at)
        at += 1 / RATE
    assert len(day.queues["q"].recent) <= SHORT_WINDOW / SLOT + 1
    figures = day.queue("q", at)
    assert figures["answered"] == 72_000
    # the last 15 minutes: 18,000 contacts (± one slot at the window's edge), 3 in 4 in time
    assert abs(figures["finished_15m"] - 18_000) <= RATE * SLOT
    assert figures["sl_15m"] == 75.0


def test_a_switch_job_without_a_result_is_forgotten_with_a_log_line(caplog):
    clock = Clock()
    jobs: PendingJobs[str] = PendingJobs("acd fs", max_age=600, clock=clock)
    jobs["lost"] = "leg-1"  # its BACKGROUND_JOB never comes (the switch went away)
    clock.now += 300
    jobs["slow"] = "leg-2"
    clock.now += 301
    with caplog.at_level(logging.WARNING):
        jobs["new"] = "leg-3"
    assert "lost" not in jobs and jobs.forgotten == 1
    assert "bgapi job lost (leg-1) got no result in 600 s" in caplog.text
    assert jobs.pop("slow") == "leg-2"  # a result within the age still finds its job
    assert len(jobs) == 1


def test_the_acds_originate_jobs_stay_bounded_when_results_never_come():
    clock = Clock()
    sent = iter(range(1_000_000))
    acd = AcdRuntime(
        "fs",
        lambda command: f"job{next(sent)}",
        lambda item: None,
        lambda change: None,
        lambda done, routing: None,
    )
    acd.jobs = PendingJobs("acd fs", max_age=600, clock=clock)
    for n in range(5_000):  # one offer every 0.5 s for 40 minutes, no BACKGROUND_JOB
        acd.send(cmd.HangupLeg(f"leg{n}", "NORMAL_CLEARING"), leg=f"leg{n}")
        clock.now += 0.5
    assert len(acd.jobs) <= 1201
    assert not acd.job_done("job0", "-ERR USER_BUSY")  # long forgotten: ignored
    assert acd.job_done("job4999", "+OK leg4999")  # the newest still resolves


def test_recent_forgets_by_age_and_beyond_its_limit():
    clock = Clock()
    recent: Recent[str, int] = Recent(10, 3, clock)
    for n in range(5):
        recent.put(f"k{n}", n)
    assert list(recent) == ["k2", "k3", "k4"]  # the limit
    recent.put("k2", 2)  # put again: the newest now
    clock.now += 11
    assert recent.put("k5", 5) == [("k3", 3), ("k4", 4), ("k2", 2)]  # the age
    assert list(recent) == ["k5"] and recent.get("k5") == 5 and recent.pop("k5") == 5


def test_the_memory_report_finds_the_service_containers_by_path():
    class Feature:
        def __init__(self) -> None:
            self.jobs = {f"j{n}": {"leg": n} for n in range(7)}

    class Service:
        def __init__(self) -> None:
            self.feature = Feature()
            self.queue = [1, 2, 3]

    found = containers(Service())
    assert found["service.feature.jobs"] == 7
    assert found["service.queue"] == 3
    assert found["service.feature.jobs['j0']"] == 1


class _Built(Exception):
    pass


def test_icm_runs_without_djangos_query_log_even_on_debug_settings(monkeypatch, settings):
    """DEBUG kept every connection's last 9,000 queries in icm (~13 MB each)."""
    from icm.management.commands import icm as command

    settings.DEBUG = True  # the development settings
    seen: list[bool] = []

    def built(config: object) -> None:
        seen.append(settings.DEBUG)
        raise _Built

    monkeypatch.setattr(command, "IcmService", built)
    with pytest.raises(_Built):
        command.Command().handle(switch="fs1")
    assert seen == [False]
