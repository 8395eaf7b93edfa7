"""Django admin for agents, skills, work groups and the read-only agent state log (ICM-6)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from supervision.roles import ADMINISTRATOR, TEAM_LEADER, role_of

from .models import (
    AddressBookEntry,
    Agent,
    AgentSkill,
    AgentStateChange,
    CallbackAttempt,
    CallbackRetryRule,
    ContactNote,
    DialRule,
    Disposition,
    NotReadyReason,
    ScheduledCallback,
    Skill,
    WorkGroup,
)


def membership_locked(request: HttpRequest) -> bool:
    """A team leader changes work groups only on `/supervision/work-groups/`, where
    supervision.workgroups scopes and audits it (it may not take another team's agent): here
    an agent's groups and a group's leaders and queues are read-only to it, whatever
    permissions it was given."""
    return role_of(request.user) == TEAM_LEADER


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system (icm, the desktop): browse and search, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "active"]
    list_editable = ["active"]
    search_fields = ["code", "label"]


@admin.register(DialRule)
class DialRuleAdmin(admin.ModelAdmin):
    """Outbound dialing restrictions by agent level (AG-16)."""

    list_display = ["priority", "name", "pattern", "minimum_level", "message", "enabled"]
    list_display_links = ["name"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "minimum_level"]


@admin.register(ContactNote)
class ContactNoteAdmin(ReadOnlyAdmin):
    """Agents' wrap-ups, read-only: they are the record of what was said."""

    list_display = ["at", "agent", "call_uuid", "disposition", "notes"]
    list_filter = ["disposition", "agent"]
    search_fields = ["call_uuid", "notes", "agent__login_id"]
    date_hierarchy = "at"
    list_select_related = ["agent", "disposition"]


@admin.register(NotReadyReason)
class NotReadyReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "paid", "active"]
    list_editable = ["active"]
    list_filter = ["active", "paid"]
    search_fields = ["code", "label"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "agent_count"]
    search_fields = ["name", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skill]:
        return super().get_queryset(request).annotate(_agent_count=Count("agent_skills"))

    @admin.display(description="agents", ordering="_agent_count")
    def agent_count(self, obj: Skill) -> int:
        return obj._agent_count


@admin.register(WorkGroup)
class WorkGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "leader_names"]
    search_fields = ["name", "description", "leaders__username"]
    filter_horizontal = ["leaders"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkGroup]:
        return super().get_queryset(request).prefetch_related("leaders")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        locked = ["leaders", "queues"] if membership_locked(request) else []
        return [*super().get_readonly_fields(request, obj), *locked]

    @admin.display(description="team leaders")
    def leader_names(self, obj: WorkGroup) -> str:
        return ", ".join(user.get_username() for user in obj.leaders.all())


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1
    autocomplete_fields = ["skill"]


class AgentAdminForm(forms.ModelForm):
    """Agent form: the phone-bar password is typed in clear and stored hashed, never shown."""

    new_phone_bar_password = forms.CharField(
        label="New phone-bar password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current password. Stored hashed.",
    )

    class Meta:
        model = Agent
        fields = [
            "login_id",
            "name",
            "user",
            "active",
            "level",
            "extension",
            "work_groups",
            "may_monitor_colleagues",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        creating = self.instance.pk is None or not self.instance.phone_bar_password
        if creating and not cleaned.get("new_phone_bar_password"):
            self.add_error("new_phone_bar_password", "A new agent needs a phone-bar password.")
        return cleaned

    def save(self, commit: bool = True) -> Agent:
        agent = super().save(commit=False)
        raw = self.cleaned_data.get("new_phone_bar_password")
        if raw:
            agent.set_phone_bar_password(raw)
        if commit:
            agent.save()
            self.save_m2m()
        return agent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentAdminForm
    list_display = ["login_id", "name", "extension", "level", "user", "active", "skill_list"]
    list_display_links = ["login_id", "name"]
    list_filter = ["active", "level", "work_groups", "skills", "extension__site"]
    list_select_related = ["extension__site", "user"]
    search_fields = ["login_id", "name", "extension__number", "user__username"]
    autocomplete_fields = ["user", "extension"]
    filter_horizontal = ["work_groups"]
    inlines = [AgentSkillInline]
    readonly_fields = ["phone_bar_password_state"]
    fieldsets = [
        (None, {"fields": ["login_id", "name", "user", "active", "level"]}),
        (
            "Phone bar",
            {"fields": ["phone_bar_password_state", "new_phone_bar_password", "extension"]},
        ),
        ("Groups", {"fields": ["work_groups"]}),
        ("Colleagues", {"fields": ["may_monitor_colleagues"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return super().get_queryset(request).prefetch_related("agent_skills__skill")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        locked = ["work_groups"] if membership_locked(request) else []
        if role_of(request.user) != ADMINISTRATOR:  # AG-19: only an administrator grants it
            locked.append("may_monitor_colleagues")
        return [*super().get_readonly_fields(request, obj), *locked]

    @admin.display(description="phone-bar password")
    def phone_bar_password_state(self, obj: Agent) -> str:
        return "set (stored hashed)" if obj.phone_bar_password else "not set"

    @admin.display(description="skills")
    def skill_list(self, obj: Agent) -> str:
        return ", ".join(f"{s.skill.name}:{s.level}" for s in obj.agent_skills.all())


@admin.register(AgentStateChange)
class AgentStateChangeAdmin(ReadOnlyAdmin):
    """The state log is written by icm only: browse and search, never edit."""

    list_display = ["at", "agent", "from_state", "to_state", "reason", "switch", "call_uuid"]
    list_filter = ["to_state", "from_state", "switch"]
    list_select_related = ["agent", "switch"]
    search_fields = ["agent__login_id", "agent__name", "call_uuid", "reason"]
    date_hierarchy = "at"


@admin.register(CallbackRetryRule)
class CallbackRetryRuleAdmin(admin.ModelAdmin):
    """How a queue's call-backs are dialled again when the customer does not answer; queues
    without a rule follow the IPBX_CALLBACK_* settings (issue 20 item 3)."""

    list_display = ["queue", "max_attempts", "spacing_minutes", "ring_seconds"]
    list_select_related = ["queue"]


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    fields = ["number", "started_at", "ended_at", "outcome", "detail", "leg"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScheduledCallback)
class ScheduledCallbackAdmin(ReadOnlyAdmin):
    """Scheduled call-backs (AG-17): booked from the desktop, the IVR or the API (which
    validate them), dispatched by Celery; here they are browsed and cancelled."""

    list_display = [
        "due_at",
        "number",
        "agent",
        "queue",
        "customer",
        "status",
        "outcome",
        "attempts",
        "last_error",
        "source",
        "booked_by",
    ]
    inlines = [CallbackAttemptInline]
    list_filter = ["status", "source", "queue"]
    list_select_related = ["agent", "queue", "customer", "booked_by"]
    search_fields = ["number", "agent__login_id", "customer__name", "note", "contact"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScheduledCallback]:
        return super().get_queryset(request).prefetch_related("dial_attempts")

    @admin.display(description="Outcome")
    def outcome(self, obj: ScheduledCallback) -> str:
        from .callbacks import outcome_text

        return outcome_text(obj)

    date_hierarchy = "due_at"
    actions = ["cancel_callbacks"]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("agents.change_scheduledcallback")

    @admin.action(description="Cancel the selected pending call-backs", permissions=["cancel"])
    def cancel_callbacks(self, request: HttpRequest, queryset: QuerySet[ScheduledCallback]) -> None:
        from .callbacks import CallbackConflict, CallbackNotFound, cancel

        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                cancel(pk)
                done += 1
            except (CallbackConflict, CallbackNotFound):
                continue
        self.message_user(request, f"{done} call-back(s) cancelled.")


@admin.register(AddressBookEntry)
class AddressBookEntryAdmin(admin.ModelAdmin):
    """The shared entries of the agents' address book (AG-23)."""

    list_display = ["name", "number", "note", "active"]
    list_editable = ["active"]
    search_fields = ["name", "number", "note"]
