"""CDR persistence: batched upserts are idempotent and keep the latest state of every call."""

from datetime import UTC, datetime, timedelta

import pytest

from icm.daemon.calls.store import CdrStore, ensure_switch
from icm.domain import events as ev
from icm.domain.calls import LiveCalls
from icm.models import Call, CallLeg, Queue, Site

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def switch(db):
    return ensure_switch("store-sw", "127.0.0.1", 8021)


def _bridged_call(model):
    out = []
    out += model.apply(
        ev.LegCreated(
            "store-sw",
            "a",
            "a",
            "inbound",
            "sofia/external/100",
            "5550100",
            "Ann",
            "8000",
            "public",
            T0,
        )
    )
    out += model.apply(ev.LegAnswered("store-sw", "a", T0 + timedelta(seconds=1)))
    t2 = T0 + timedelta(seconds=2)
    out += model.apply(
        ev.LegCreated(
            "store-sw",
            "b",
            "a",
            "outbound",
            "sofia/internal/1001",
            "5550100",
            "Ann",
            "1001",
            "",
            t2,
            "a",
        )
    )
    out += model.apply(ev.LegBridged("store-sw", "a", "b", T0 + timedelta(seconds=3)))
    return out


def test_upserts_are_idempotent_and_keep_the_latest_state(switch):
    model, store = LiveCalls(), CdrStore()
    changes = _bridged_call(model)
    store.write(changes)
    store.write(changes)  # the same batch again adds nothing
    call = Call.objects.get(switch=switch, call_uuid="a")
    assert call.state == "bridged" and call.ani == "5550100" and call.caller_name == "Ann"
    assert call.legs.count() == 2
    assert call.bridged_at == T0 + timedelta(seconds=3)
    ended = model.apply(ev.LegHungUp("store-sw", "b", "NORMAL_CLEARING", T0 + timedelta(seconds=9)))
    ended += model.apply(
        ev.LegHungUp("store-sw", "a", "NORMAL_CLEARING", T0 + timedelta(seconds=10))
    )
    store.write(ended)
    call.refresh_from_db()
    assert call.state == "ended" and call.ended_at == T0 + timedelta(seconds=10)
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert Call.objects.filter(switch=switch).count() == 1
    assert CallLeg.objects.filter(switch=switch, hungup_at__isnull=True).count() == 0


def test_queue_is_resolved_by_name_and_kept(switch):
    site = Site.objects.create(code="q", name="Q", sip_domain="q.local")
    queue = Queue.objects.create(site=site, name="sales", display_name="Sales")
    model, store = LiveCalls(), CdrStore()
    store.write(_bridged_call(model))
    store.write(model.apply(ev.CallQueued("store-sw", "a", "sales", T0)))
    assert Call.objects.get(call_uuid="a").queue == queue


def test_live_calls_are_reloaded_after_a_restart(switch):
    model, store = LiveCalls(), CdrStore()
    store.write(_bridged_call(model))
    reloaded = LiveCalls()
    reloaded.seed(store.load_live("store-sw"))
    call = reloaded.call("store-sw", "a")
    assert call is not None and len(call.legs) == 2
    assert reloaded.leg_count() == 2
