"""CallCenterDB models owned by icm: devices, routing data, customers, calls and legs."""

from .calls import Call, CallLeg
from .customers import Customer, CustomerNumber
from .devices import Extension, Gateway, Site, Switch
from .routing import (
    Holiday,
    InboundRoute,
    Queue,
    QueueSkill,
    RoutingRule,
    Schedule,
    ScheduledQueueChange,
    ScheduleRule,
)

__all__ = [
    "Call",
    "CallLeg",
    "Customer",
    "CustomerNumber",
    "Extension",
    "Gateway",
    "Holiday",
    "InboundRoute",
    "Queue",
    "QueueSkill",
    "RoutingRule",
    "ScheduledQueueChange",
    "Schedule",
    "ScheduleRule",
    "Site",
    "Switch",
]
