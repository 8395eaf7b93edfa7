"""Recording in the admin: policies (editable), supervisors' orders, and the catalogue and its
access log (read-only: recordings come from the switch, listens from the player)."""

from django.contrib import admin

from recording.models import (
    Evaluation,
    EvaluationForm,
    EvaluationQuestion,
    Recording,
    RecordingAccess,
    RecordingPolicy,
    RecordOrder,
)


class EvaluationQuestionInline(admin.TabularInline):
    model = EvaluationQuestion
    extra = 1


@admin.register(EvaluationForm)
class EvaluationFormAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "description")
    inlines = [EvaluationQuestionInline]


@admin.register(RecordingPolicy)
class RecordingPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "mode", "format", "stereo", "priority", "retention_days")
    list_filter = ("enabled", "mode", "format")
    filter_horizontal = ("agents", "queues")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "priority", "mode", "agents", "queues")}),
        ("Numbers", {"fields": ("only_numbers", "never_numbers")}),
        (
            "Daily time windows (local time; none: all day)",
            {
                "fields": (
                    ("window1_start", "window1_end"),
                    ("window2_start", "window2_end"),
                    ("window3_start", "window3_end"),
                )
            },
        ),
        ("File", {"fields": ("format", "stereo", "retention_days")}),
    )


@admin.register(RecordOrder)
class RecordOrderAdmin(admin.ModelAdmin):
    list_display = ("agent", "starts_at", "ends_at", "format", "ordered_by", "cancelled_at")
    list_filter = ("format",)
    raw_id_fields = ("agent",)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Recording)
class RecordingAdmin(ReadOnly):
    list_display = (
        "started_at",
        "ani",
        "dnis",
        "agent",
        "queue",
        "duration_seconds",
        "format",
        "size_bytes",
        "status",
        "legal_hold",
    )
    list_filter = ("status", "format", "legal_hold", "queue")
    search_fields = ("ani", "dnis", "call_uuid", "agent__login_id", "agent__name")
    date_hierarchy = "started_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # retention deletes, with legal hold respected


@admin.register(RecordingAccess)
class RecordingAccessAdmin(ReadOnly):
    list_display = ("at", "username", "kind", "recording")
    list_filter = ("kind",)
    search_fields = ("username",)
    date_hierarchy = "at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnly):
    list_display = ("created_at", "recording", "form", "score", "evaluator")
    list_filter = ("form",)
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
