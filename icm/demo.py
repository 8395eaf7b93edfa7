"""Demo call center: one site, one switch, ten agents, three queues, an IVR flow and customers.

`load_demo()` is idempotent: every row is found by its natural key and only written when it
differs from the demo values, and passwords are only re-hashed when they no longer match, so a
second run changes nothing. The passwords are for demos only (admin/admin, leader/leader, …).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone

from agents.models import Agent, AgentSkill, Skill, WorkGroup
from icm.models import (
    Customer,
    CustomerNumber,
    Extension,
    Gateway,
    Holiday,
    InboundRoute,
    Queue,
    QueueSkill,
    Schedule,
    ScheduleRule,
    Site,
    Switch,
)
from ivr.demo import MAIN_FLOW, MAIN_GRAPH, NIGHT_FLOW, load_billing_table, load_flows
from ivr.models import Flow
from outbound.models import Campaign, Contact, DiallingRuleSet
from recording.models import EvaluationForm, EvaluationQuestion, RecordingPolicy
from stats.demo import load_demo_tariffs

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=models.Model)

SITE_CODE = "hq"
SIP_DOMAIN = "hq.ipbx.local"
SWITCH_NAME = "fs1"
AGENT_PASSWORD = "demo"  # noqa: S105 - demo data
EXTENSIONS = range(1001, 1011)

SKILLS = {
    "english": "English language",
    "spanish": "Spanish language",
    "billing": "Invoices, payments and refunds",
    "tech": "Technical support",
    "vip": "VIP customer care",
}

# name, display name, strategy, {skill: minimum level}
QUEUES = [
    ("sales", "Sales", Queue.Strategy.ROUND_ROBIN, {"english": 3}),
    ("support", "Technical support", Queue.Strategy.SKILLS_BEST_MATCH, {"english": 2, "tech": 3}),
    ("billing", "Billing", Queue.Strategy.LONGEST_IDLE, {"billing": 3}),
]

WORK_GROUPS = {
    "Team Sales": "Sales and VIP desk",
    "Team Support": "Technical support and billing",
}

# extension, name, level, work group, {skill: level}
AGENTS = [
    (
        1001,
        "Alice Martin",
        Agent.Level.SENIOR,
        "Team Sales",
        {"english": 9, "vip": 8, "billing": 5},
    ),
    (1002, "Bruno Garcia", Agent.Level.AGENT, "Team Sales", {"english": 7, "spanish": 9}),
    (1003, "Chen Wei", Agent.Level.SENIOR, "Team Support", {"english": 6, "tech": 9}),
    (1004, "Diana Lopez", Agent.Level.AGENT, "Team Support", {"spanish": 8, "billing": 7}),
    (1005, "Emeka Obi", Agent.Level.AGENT, "Team Support", {"english": 8, "tech": 7, "vip": 6}),
    (1006, "Fatima Zahra", Agent.Level.AGENT, "Team Support", {"english": 6, "billing": 9}),
    (1007, "Gustav Berg", Agent.Level.TRAINEE, "Team Support", {"english": 5, "tech": 4}),
    (1008, "Hana Sato", Agent.Level.SENIOR, "Team Sales", {"english": 7, "vip": 9}),
    (1009, "Ivan Petrov", Agent.Level.TRAINEE, "Team Sales", {"english": 4, "billing": 4}),
    (
        1010,
        "Julia Rossi",
        Agent.Level.TEAM_LEADER,
        "Team Sales",
        {"english": 8, "spanish": 6, "tech": 5, "billing": 5},
    ),
]

FLOW_NAME = MAIN_FLOW
FLOW_GRAPH = MAIN_GRAPH

# name, account, grade, numbers
CUSTOMERS = [
    ("Acme Logistics", "C0001", Customer.Grade.VIP, ["5550101", "5550201"]),
    ("Blue Harbor Foods", "C0002", Customer.Grade.GOLD, ["5550102"]),
    ("Carmen Ortiz", "C0003", Customer.Grade.STANDARD, ["5550103"]),
    ("Delta Print Shop", "C0004", Customer.Grade.SILVER, ["5550104"]),
    ("Erik Lindqvist", "C0005", Customer.Grade.STANDARD, ["5550105", "5550205"]),
    ("Future Motors", "C0006", Customer.Grade.VIP, ["5550106"]),
    ("Grace Okafor", "C0007", Customer.Grade.STANDARD, ["5550107"]),
    ("Helios Solar", "C0008", Customer.Grade.GOLD, ["5550108"]),
    ("Isabel Fernandes", "C0009", Customer.Grade.SILVER, ["5550109"]),
    ("Jade Garden Hotel", "C0010", Customer.Grade.VIP, ["5550110", "5550210"]),
    ("Kenji Tanaka", "C0011", Customer.Grade.STANDARD, ["5550111"]),
    ("Lumen Clinics", "C0012", Customer.Grade.GOLD, ["5550112"]),
    ("Maria Rossi", "C0013", Customer.Grade.STANDARD, ["5550113"]),
    ("Nordic Timber", "C0014", Customer.Grade.SILVER, ["5550114"]),
    ("Omar Haddad", "C0015", Customer.Grade.STANDARD, ["5550115"]),
    ("Pacific Freight", "C0016", Customer.Grade.VIP, ["5550116"]),
    ("Quinn & Partners", "C0017", Customer.Grade.GOLD, ["5550117"]),
    ("Rosa Delgado", "C0018", Customer.Grade.STANDARD, ["5550118"]),
    ("Sunrise Bakery", "C0019", Customer.Grade.SILVER, ["5550119"]),
    ("Tomas Novak", "C0020", Customer.Grade.STANDARD, ["5550120", "5550220"]),
]


@dataclass
class DemoSummary:
    """Rows load_demo created or brought back to the demo values, by model label."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, label: str, created: bool) -> None:
        if created:
            self.created[label] = self.created.get(label, 0) + 1

    def count_update(self, label: str) -> None:
        self.updated[label] = self.updated.get(label, 0) + 1

    @property
    def changed(self) -> bool:
        """False when the run wrote nothing (the demo was already loaded)."""
        return bool(self.created or self.updated)


def _upsert(
    model: type[M], summary: DemoSummary, defaults: dict[str, Any] | None = None, **lookup: Any
) -> M:
    """get_or_create, then write only the fields that differ from `defaults`."""
    defaults = defaults or {}
    obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
    summary.count(model._meta.label, created)
    if not created:
        changed = [name for name, value in defaults.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, defaults[name])
            obj.save(update_fields=changed)
            summary.count_update(model._meta.label)
    return obj


def _user(username: str, password: str, summary: DemoSummary, **flags: Any) -> AbstractBaseUser:
    user = _upsert(get_user_model(), summary, defaults=flags, username=username)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
        summary.count_update(user._meta.label)
    return user


@transaction.atomic
def load_demo() -> DemoSummary:
    """Create (or bring back to the demo values) the whole demo call center."""
    summary = DemoSummary()
    site = _upsert(
        Site,
        summary,
        code=SITE_CODE,
        defaults={"name": "Headquarters", "sip_domain": SIP_DOMAIN, "timezone": "UTC"},
    )
    switch = _upsert(
        Switch,
        summary,
        name=SWITCH_NAME,
        defaults={
            "site": site,
            # the switch icm drives (FREESWITCH_ESL_*), not FreeSWITCH's defaults
            "esl_host": settings.FREESWITCH_ESL_HOST,
            "esl_port": settings.FREESWITCH_ESL_PORT,
            "esl_password": settings.FREESWITCH_ESL_PASSWORD,
        },
    )
    _upsert(
        Gateway,
        summary,
        switch=switch,
        name="carrier",
        defaults={
            "proxy": "sip.carrier.example",
            "username": "ipbx-demo",
            "register": False,
            "caller_id_number": "5550000",
            "max_channels": 30,
        },
    )

    skills = {
        name: _upsert(Skill, summary, name=name, defaults={"description": description})
        for name, description in SKILLS.items()
    }
    _load_queues(site, skills, summary)
    _load_recording(summary)

    _user("admin", "admin", summary, is_staff=True, is_superuser=True)
    leader = _user("leader", "leader", summary, first_name="Lena", last_name="Leader")
    team_leaders, _ = Group.objects.get_or_create(name="Team leaders")
    if not leader.groups.filter(pk=team_leaders.pk).exists():
        leader.groups.add(team_leaders)
        summary.count_update(leader._meta.label)
    groups = {}
    queues = list(Queue.objects.filter(site=site))
    for name, description in WORK_GROUPS.items():
        groups[name] = _upsert(WorkGroup, summary, name=name, defaults={"description": description})
        if not groups[name].leaders.filter(pk=leader.pk).exists():
            groups[name].leaders.add(leader)
            summary.count_update(WorkGroup._meta.label)
        if groups[name].queues.count() != len(queues):  # the leader supervises every queue
            groups[name].queues.set(queues)
            summary.count_update(WorkGroup._meta.label)

    _load_agents(site, skills, groups, summary)
    flow, night = _load_flow(summary)
    _load_routing(site, flow, night, summary)
    _load_customers(summary)
    _load_campaigns(switch, summary)

    if load_demo_tariffs():
        summary.count_update("stats.TariffRate")
    logger.info("demo data loaded: created %s, updated %s", summary.created, summary.updated)
    return summary


DEMO_PLANS = ("Bronze", "Silver", "Gold")
ABANDON_MESSAGE = "ivr/abandon.wav"
DEMO_NAMES = (
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
    "Margaret Hamilton",
    "John Backus",
)


def _load_campaigns(switch: Switch, summary: DemoSummary) -> None:
    """Two draft campaigns for the sales queue, started from /campaigns/: renewals in preview
    (the agent sees each contact first) and a win-back list dialed predictively; switchsim's
    demo scenario decides who answers (35 % people, 12 % machines …)."""
    # the demo's callers and customers are North American (+1 555 …): domestic numbers for
    # the dialling rules of system calls (call-backs, campaigns), which refuse international
    _upsert(DiallingRuleSet, summary, pk=1, defaults={"home_country_codes": "1"})
    sales = Queue.objects.get(name="sales")
    all_week = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "08:00", "end": "21:00"}]
    specs = (
        ("demo-renewals", "Renewals (preview)", Campaign.Mode.PREVIEW, 20, "55510"),
        ("demo-winback", "Win-back (predictive)", Campaign.Mode.PREDICTIVE, 200, "55520"),
    )
    for name, display, mode, size, prefix in specs:
        campaign = _upsert(
            Campaign,
            summary,
            name=name,
            defaults={
                "display_name": display,
                "mode": mode,
                "switch": switch,
                "queue": sales,
                "gateway": "carrier",
                "caller_id_number": "5550000",
                "windows": all_week,
                "time_zone": "UTC",
                "calls_per_second": 2.0,
                "max_concurrent": 20,
                "amd": mode == Campaign.Mode.PREDICTIVE,
                # answered calls no agent could take hear this (shipped in sounds/)
                "message": ABANDON_MESSAGE if mode == Campaign.Mode.PREDICTIVE else "",
                # the demo's agents are signed in by a script: previews dial by themselves
                "preview_seconds": 15 if mode == Campaign.Mode.PREVIEW else 0,
            },
        )
        for n in range(size):
            _upsert(
                Contact,
                summary,
                campaign=campaign,
                number=f"{prefix}{n:04d}",
                defaults={
                    "name": DEMO_NAMES[n % len(DEMO_NAMES)],
                    "data": {"plan": DEMO_PLANS[n % 3], "customer_since": str(2015 + n % 10)},
                },
            )


def _load_recording(summary: DemoSummary) -> None:
    """Record every call in A-law (half of PCM's size), kept 90 days; a QA form."""
    _upsert(
        RecordingPolicy,
        summary,
        name="demo: all calls",
        defaults={"mode": "all", "format": "alaw", "stereo": True, "retention_days": 90},
    )
    form = _upsert(
        EvaluationForm,
        summary,
        name="Call quality",
        defaults={"description": "The demo's evaluation form"},
    )
    for order, (text, weight, points) in enumerate(
        (
            ("Greeting and identification", 1, 5),
            ("Understood the need", 2, 10),
            ("Resolution", 3, 10),
            ("Courtesy", 1, 5),
        )
    ):
        _upsert(
            EvaluationQuestion,
            summary,
            form=form,
            text=text,
            defaults={"weight": weight, "max_points": points, "order": order},
        )


def _load_queues(site: Site, skills: dict[str, Skill], summary: DemoSummary) -> None:
    for name, display_name, strategy, required in QUEUES:
        queue = _upsert(
            Queue,
            summary,
            name=name,
            defaults={
                "site": site,
                "display_name": display_name,
                "strategy": strategy,
                # the wallboard's alarms: more than 4 callers, or one waiting over 2 min
                "alarm_waiting": 4,
                "alarm_wait_seconds": 120,
            },
        )
        for skill_name, minimum in required.items():
            _upsert(
                QueueSkill,
                summary,
                queue=queue,
                skill=skills[skill_name],
                defaults={"minimum_level": minimum},
            )


def _load_agents(
    site: Site, skills: dict[str, Skill], groups: dict[str, WorkGroup], summary: DemoSummary
) -> None:
    for number, name, level, group, agent_skills in AGENTS:
        extension = _upsert(
            Extension,
            summary,
            site=site,
            number=str(number),
            defaults={
                "password": f"demo-{number}",
                "display_name": name,
                "caller_id_number": str(number),
                "context": "default",
                "enabled": True,
            },
        )
        login_id = f"a{number}"
        first, _, last = name.partition(" ")
        user = _user(login_id, AGENT_PASSWORD, summary, first_name=first, last_name=last)
        agent = _upsert(
            Agent,
            summary,
            login_id=login_id,
            defaults={
                "name": name,
                "user": user,
                "extension": extension,
                "level": level,
                "active": True,
            },
        )
        if not agent.check_phone_bar_password(AGENT_PASSWORD):
            agent.set_phone_bar_password(AGENT_PASSWORD)
            agent.save(update_fields=["phone_bar_password"])
            summary.count_update(Agent._meta.label)
        if not agent.work_groups.filter(pk=groups[group].pk).exists():
            agent.work_groups.add(groups[group])
            summary.count_update(Agent._meta.label)
        for skill_name, skill_level in agent_skills.items():
            _upsert(
                AgentSkill,
                summary,
                agent=agent,
                skill=skills[skill_name],
                defaults={"level": skill_level},
            )


def _load_flow(summary: DemoSummary) -> tuple[Flow, Flow]:
    """The demo flows (main menu, account balance, night service) and their data."""
    flows, changed = load_flows()
    if changed:
        summary.count_update(Flow._meta.label)
    if load_billing_table(CUSTOMERS):
        summary.count_update("demo.accounts")
    return flows[MAIN_FLOW], flows[NIGHT_FLOW]


def _load_routing(site: Site, flow: Flow, night: Flow, summary: DemoSummary) -> None:
    schedule = _upsert(Schedule, summary, name="Office hours", defaults={"timezone": "UTC"})
    for weekday in range(ScheduleRule.Weekday.MONDAY, ScheduleRule.Weekday.FRIDAY + 1):
        _upsert(
            ScheduleRule,
            summary,
            schedule=schedule,
            weekday=weekday,
            opens=dt.time(8, 0),
            defaults={"closes": dt.time(20, 0)},
        )
    year = timezone.localdate().year
    _upsert(
        Holiday,
        summary,
        schedule=schedule,
        date=dt.date(year, 12, 25),
        defaults={"name": "Christmas Day"},
    )
    _upsert(
        InboundRoute,
        summary,
        site=site,
        dnis="8000",
        name="Main number",
        defaults={
            "flow": flow,
            "queue": None,
            "priority": 100,
            "enabled": True,
            "schedule": schedule,
            "closed_flow": night,
        },
    )
    _upsert(
        InboundRoute,
        summary,
        site=site,
        dnis="8001",
        name="Sales line",
        defaults={"flow": None, "queue": Queue.objects.get(name="sales"), "enabled": True},
    )


def _load_customers(summary: DemoSummary) -> None:
    for name, account, grade, numbers in CUSTOMERS:
        customer = _upsert(
            Customer,
            summary,
            account=account,
            defaults={"name": name, "grade": grade, "email": f"{account.lower()}@example.com"},
        )
        for index, number in enumerate(numbers):
            _upsert(
                CustomerNumber,
                summary,
                customer=customer,
                number=number,
                defaults={"label": "office" if index == 0 else "mobile"},
            )
