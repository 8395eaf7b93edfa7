"""CallCenterDB models owned by icm: devices, routing data, customers, calls and legs,
the system event history."""

from .calls import Call, CallLeg
from .customers import Customer, CustomerNumber
from .devices import Extension, ExtensionRegistration, Gateway, Site, Switch
from .routing import (
    Holiday,
    InboundRoute,
    Queue,
    QueueAgent,
    QueueSkill,
    RoutingRule,
    Schedule,
    ScheduledQueueChange,
    ScheduleRule,
)
from .system_events import SystemEvent

__all__ = [
    "Call",
    "CallLeg",
    "Customer",
    "CustomerNumber",
    "Extension",
    "ExtensionRegistration",
    "Gateway",
    "Holiday",
    "InboundRoute",
    "Queue",
    "QueueAgent",
    "QueueSkill",
    "RoutingRule",
    "ScheduledQueueChange",
    "Schedule",
    "ScheduleRule",
    "Site",
    "Switch",
    "SystemEvent",
]
