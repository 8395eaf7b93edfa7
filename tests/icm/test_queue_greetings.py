"""A queue's greetings must be files the switch can play (issue 17, defect 6): a missing one
is refused when the queue is saved through validation (admin, API), naming the greeting."""

import pytest
from django.core.exceptions import ValidationError

from icm.models import Queue, Site


@pytest.fixture
def site(db):
    return Site.objects.create(code="greet", name="Greetings", sip_domain="greet.local")


def test_a_greeting_that_is_not_shipped_is_refused(site):
    queue = Queue(
        site=site,
        name="sales",
        display_name="Sales",
        strategy_parameters={"greetings": {"vip": "ivr/nowhere.wav"}},
    )
    with pytest.raises(ValidationError) as refused:
        queue.full_clean()
    assert "greeting 'vip'" in str(refused.value) and "ivr/nowhere.wav" in str(refused.value)


def test_shipped_greetings_and_streams_are_accepted(site):
    greetings = {"vip": "ivr/vip.wav", "default": "tone_stream://%(200,0,440)"}
    queue = Queue(
        site=site, name="sales", display_name="Sales", strategy_parameters={"greetings": greetings}
    )
    queue.full_clean()
