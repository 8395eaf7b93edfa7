"""The supervision feature's contract: monitoring commands, standing intercepts (SV-9) and
the agent's live figures."""

from __future__ import annotations

from django.db import connection

from icm.daemon.feature import Contract
from icm.daemon.supervision.intercept_store import load_intercepts
from icm.daemon.supervision.intercepts import (
    Intercepts,
    InterceptsDue,
    InterceptsLoaded,
    ListenerPlaced,
)
from icm.daemon.supervision.live_figures import LiveFigures
from icm.daemon.supervision.monitoring import Monitoring


def contract(monitoring: Monitoring, live: LiveFigures) -> Contract:
    intercepts = Intercepts(monitoring, load_intercepts, done_loading=lambda: connection.close())
    return Contract(
        "supervision",
        handles=(
            (InterceptsLoaded, intercepts.loaded),
            (InterceptsDue, intercepts.due),
            (ListenerPlaced, intercepts.placed),
        ),
        commands={"monitor": monitoring.run, "intercepts_reload": intercepts.reload},
        follows_legs=intercepts.on_leg,
        agent_view=live.agent_view,
    )
