"""Whether a configured schedule is open at a moment (R-3, IVR-7): its weekly rules, its own
holidays and the global ones, read from CallCenterDB. No gevent: the web (the IVR simulator)
and the daemon (routing look-ups, IVR flows) both ask it."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from icm.domain.schedule import OpenInterval, is_open
from icm.models import Holiday, Schedule


def schedule_open(schedule: Schedule, at: datetime) -> bool:
    """Is `schedule` open at `at` (its weekly rules, its holidays and global ones)?"""
    intervals = [OpenInterval(r.weekday, r.opens, r.closes) for r in schedule.rules.all()]
    holidays = Holiday.objects.filter(Q(schedule=schedule) | Q(schedule__isnull=True))
    return is_open(intervals, holidays.values_list("date", flat=True), schedule.timezone, at)
