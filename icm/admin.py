"""Django admin for CallCenterDB: devices, routing, customers and the read-only CDRs (OPS-4)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from .models import (
    Call,
    CallLeg,
    Customer,
    CustomerNumber,
    Extension,
    ExtensionRegistration,
    Gateway,
    Holiday,
    InboundRoute,
    Queue,
    QueueAgent,
    QueueSkill,
    RoutingRule,
    Schedule,
    ScheduledQueueChange,
    ScheduleRule,
    Site,
    Switch,
    SystemEvent,
)


class ReadOnlyAdminMixin:
    """CDRs are written by icm only: the admin may browse them but never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SecretFieldsForm(forms.ModelForm):
    """Its `secret_fields` are never sent to the browser; left empty, they keep their value."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            field = self.fields.get(name)
            if field is None:
                continue
            field.widget = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            )
            field.required = False
            if self.instance.pk is not None and getattr(self.instance, name):
                field.help_text = "Stored. Leave empty to keep it, or type a new one."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.secret_fields:
            if name in self.fields and not cleaned.get(name) and self.instance.pk is not None:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


# --- Devices ---------------------------------------------------------------------------------


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sip_domain", "timezone"]
    search_fields = ["code", "name", "sip_domain"]


class GatewayForm(SecretFieldsForm):
    secret_fields = ("password",)

    class Meta:
        model = Gateway
        fields = [
            "switch",
            "name",
            "proxy",
            "username",
            "password",
            "register",
            "caller_id_number",
            "max_channels",
            "calls_per_second",
            "enabled",
        ]


class GatewayInline(admin.TabularInline):
    model = Gateway
    form = GatewayForm
    extra = 0
    fields = ["name", "proxy", "username", "password", "register", "max_channels", "enabled"]
    show_change_link = True


class SwitchForm(SecretFieldsForm):
    secret_fields = ("esl_password",)

    class Meta:
        model = Switch
        fields = ["site", "name", "esl_host", "esl_port", "esl_password", "enabled"]


@admin.register(Switch)
class SwitchAdmin(admin.ModelAdmin):
    form = SwitchForm
    list_display = [
        "name",
        "site",
        "esl_host",
        "esl_port",
        "enabled",
        "status",
        "status_changed_at",
    ]
    list_filter = ["enabled", "status", "site"]
    list_select_related = ["site"]
    search_fields = ["name", "esl_host", "core_uuid"]
    autocomplete_fields = ["site"]
    readonly_fields = ["status", "status_changed_at", "core_uuid"]
    inlines = [GatewayInline]


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    form = GatewayForm
    list_display = ["name", "switch", "proxy", "username", "register", "max_channels", "enabled"]
    list_filter = ["enabled", "register", "switch"]
    list_select_related = ["switch"]
    search_fields = ["name", "proxy", "username", "caller_id_number"]
    autocomplete_fields = ["switch"]


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    # The SIP password is deliberately absent from the list.
    list_display = [
        "number",
        "site",
        "display_name",
        "caller_id_number",
        "context",
        "enabled",
        "phone",
    ]
    list_filter = ["enabled", "site", "context"]
    list_select_related = ["site"]
    search_fields = ["number", "display_name", "caller_id_number", "agents__login_id"]
    autocomplete_fields = ["site"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Extension]:
        """With its registration as icm follows it (ICM-1): registered on any switch wins."""
        regs = ExtensionRegistration.objects.filter(user=OuterRef("number")).order_by(
            "-registered", "-since"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                _registered=Subquery(regs.values("registered")[:1]),
                _why=Subquery(regs.values("why")[:1]),
                _since=Subquery(regs.values("since")[:1]),
            )
        )

    @admin.display(description="phone", ordering="_registered")
    def phone(self, obj: Extension) -> str:
        registered = getattr(obj, "_registered", None)
        if registered is None:
            return "unknown (never seen registering)"
        since = f" since {obj._since:%Y-%m-%d %H:%M}" if getattr(obj, "_since", None) else ""
        if registered:
            return f"registered{since}"
        return f"NOT registered ({obj._why or '?'}){since}"


# --- Customers -------------------------------------------------------------------------------


class CustomerNumberInline(admin.TabularInline):
    model = CustomerNumber
    extra = 1


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "grade", "phone_numbers", "email", "created_at"]
    list_filter = ["grade"]
    search_fields = ["name", "account", "email", "numbers__number"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"
    inlines = [CustomerNumberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return super().get_queryset(request).prefetch_related("numbers")

    @admin.display(description="numbers")
    def phone_numbers(self, obj: Customer) -> str:
        return ", ".join(n.number for n in obj.numbers.all())


# --- Routing ---------------------------------------------------------------------------------


class QueueSkillInline(admin.TabularInline):
    model = QueueSkill
    extra = 1
    autocomplete_fields = ["skill"]


class QueueAgentInline(admin.TabularInline):
    """R-6: each agent's top-down position and reserve flag in this queue."""

    model = QueueAgent
    extra = 1
    autocomplete_fields = ["agent"]
    fields = ["agent", "position", "reserve"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "display_name",
        "site",
        "strategy",
        "required_skill_list",
        "service_level_seconds",
        "service_level_target",
        "enabled",
    ]
    list_filter = ["enabled", "strategy", "site"]
    list_select_related = ["site"]
    search_fields = ["name", "display_name"]
    autocomplete_fields = ["site"]
    inlines = [QueueSkillInline, QueueAgentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Queue]:
        return super().get_queryset(request).prefetch_related("required_skills__skill")

    @admin.display(description="required skills")
    def required_skill_list(self, obj: Queue) -> str:
        return ", ".join(f"{s.skill.name}≥{s.minimum_level}" for s in obj.required_skills.all())


class ScheduleRuleInline(admin.TabularInline):
    model = ScheduleRule
    extra = 1


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "rule_count", "holiday_count"]
    search_fields = ["name"]
    inlines = [ScheduleRuleInline, HolidayInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Schedule]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _rules=Count("rules", distinct=True), _holidays=Count("holidays", distinct=True)
            )
        )

    @admin.display(description="rules", ordering="_rules")
    def rule_count(self, obj: Schedule) -> int:
        return obj._rules

    @admin.display(description="holidays", ordering="_holidays")
    def holiday_count(self, obj: Schedule) -> int:
        return obj._holidays


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "schedule"]
    list_filter = ["schedule"]
    list_select_related = ["schedule"]
    search_fields = ["name"]
    date_hierarchy = "date"
    autocomplete_fields = ["schedule"]


@admin.register(InboundRoute)
class InboundRouteAdmin(admin.ModelAdmin):
    list_display = [
        "dnis",
        "name",
        "site",
        "target",
        "schedule",
        "closed_flow",
        "priority",
        "enabled",
    ]
    list_display_links = ["dnis", "name"]
    list_filter = ["enabled", "site", "schedule", "queue", "flow"]
    list_select_related = ["site", "schedule", "flow", "queue", "closed_flow"]
    search_fields = ["dnis", "name"]
    autocomplete_fields = ["site", "schedule", "flow", "queue", "closed_flow"]

    @admin.display(description="target")
    def target(self, obj: InboundRoute) -> str:
        if obj.flow is not None:
            return f"flow {obj.flow.name}"
        if obj.queue is not None:
            return f"queue {obj.queue.name}"
        return "-"


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """R-3: dialled number, caller prefix and schedule → queue, tried by priority."""

    list_display = [
        "name",
        "priority",
        "dnis",
        "caller_prefix",
        "when",
        "schedule",
        "queue",
        "enabled",
    ]
    list_editable = ["priority", "enabled"]
    list_filter = ["enabled", "when", "queue", "schedule"]
    list_select_related = ["queue", "schedule"]
    search_fields = ["name", "dnis", "caller_prefix"]
    autocomplete_fields = ["queue", "schedule"]


@admin.register(ScheduledQueueChange)
class ScheduledQueueChangeAdmin(admin.ModelAdmin):
    """R-10: prepare a strategy change now, applied live at its time by Celery beat."""

    list_display = ["queue", "strategy", "apply_at", "applied_at", "error", "note"]
    list_filter = ["queue", "strategy", ("applied_at", admin.EmptyFieldListFilter)]
    list_select_related = ["queue"]
    search_fields = ["queue__name", "note"]
    autocomplete_fields = ["queue"]
    readonly_fields = ["applied_at", "error", "created_at"]
    date_hierarchy = "apply_at"


# --- Calls (CDRs, read-only) -----------------------------------------------------------------


class CallLegInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CallLeg
    extra = 0
    can_delete = False
    fields = [
        "uuid",
        "channel_name",
        "direction",
        "ani",
        "dnis",
        "state",
        "other_leg_uuid",
        "created_at",
        "answered_at",
        "bridged_at",
        "hungup_at",
        "hangup_cause",
    ]
    readonly_fields = fields


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "direction",
        "ani",
        "caller_name",
        "dnis",
        "state",
        "queue",
        "agent",
        "customer",
        "duration",
        "hangup_cause",
        "switch",
    ]
    list_filter = ["state", "direction", "hangup_cause", "switch", "queue"]
    list_select_related = ["switch", "queue", "agent", "customer"]
    search_fields = ["ani", "dnis", "call_uuid", "caller_name", "customer__name", "agent__login_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["duration"]
    inlines = [CallLegInline]

    @admin.display(description="duration (s)")
    def duration(self, obj: Call) -> str:
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.0f}"


@admin.register(CallLeg)
class CallLegAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "channel_name",
        "direction",
        "ani",
        "dnis",
        "state",
        "hangup_cause",
        "switch",
    ]
    list_filter = ["state", "direction", "hangup_cause", "switch"]
    list_select_related = ["switch", "call"]
    search_fields = ["uuid", "call__call_uuid", "channel_name", "ani", "dnis"]
    date_hierarchy = "created_at"


@admin.register(SystemEvent)
class SystemEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The system event history (SV-14), written by icm; also /supervision/events/."""

    list_display = ["at", "switch", "kind", "alarm", "subject", "severity", "text"]
    list_filter = ["kind", "alarm", "severity", "switch"]
    search_fields = ["subject", "text"]
    date_hierarchy = "at"
