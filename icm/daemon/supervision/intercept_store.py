"""The standing intercepts (SV-9) icm reads from CallCenterDB: those not cancelled and not
over, of any agent (an agent this icm does not serve is never on its calls)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import close_old_connections

from icm.domain.intercepts import Intercept
from supervision.models import StandingIntercept


def load_intercepts() -> list[Intercept]:
    close_old_connections()  # a greenlet's connection may have broken since its last use
    now = datetime.now(tz=UTC)
    rows = StandingIntercept.objects.filter(cancelled_at__isnull=True, ends_at__gt=now)
    return [
        Intercept(
            r.pk, r.agent.login_id, r.extension, r.starts_at.timestamp(), r.ends_at.timestamp()
        )
        for r in rows.select_related("agent")
    ]
