"""The supervision feature's contract: monitoring commands and the agent's live figures."""

from __future__ import annotations

from icm.daemon.feature import Contract
from icm.daemon.supervision.live_figures import LiveFigures
from icm.daemon.supervision.monitoring import Monitoring


def contract(monitoring: Monitoring, live: LiveFigures) -> Contract:
    return Contract(
        "supervision",
        commands={"monitor": monitoring.run},
        agent_view=live.agent_view,
    )
