"""Django admin for IVR flows and their versions (ICM-4); published versions are not editable."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from .actions import FlowInvalid, check_publish
from .connectors.registry import forget_cache
from .models import DataConnector, Flow, FlowVersion, Prompt


class FlowVersionInline(admin.TabularInline):
    model = FlowVersion
    extra = 0
    fields = ["number", "status", "created_at", "created_by", "published_at"]
    readonly_fields = ["number", "status", "created_at", "created_by", "published_at"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # New versions are created on the FlowVersion page (they need a graph).
        return False


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "published_version", "version_count", "editor"]
    list_select_related = ["published_version"]
    search_fields = ["name", "description"]
    inlines = [FlowVersionInline]
    # publishing validates: use the "Validate and publish" action or the flow editor
    readonly_fields = ["published_version"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flow]:
        return super().get_queryset(request).annotate(_versions=Count("versions"))

    @admin.display(description="versions", ordering="_versions")
    def version_count(self, obj: Flow) -> int:
        return obj._versions

    @admin.display(description="graphical editor")
    def editor(self, obj: Flow) -> str:
        return format_html(
            '<a href="{}">Open the editor</a>', reverse("ivr-flow-editor", args=[obj.name])
        )


@admin.register(FlowVersion)
class FlowVersionAdmin(admin.ModelAdmin):
    list_display = ["flow", "number", "status", "created_at", "created_by", "published_at"]
    list_filter = ["status", "flow"]
    list_select_related = ["flow", "created_by"]
    search_fields = ["flow__name"]
    autocomplete_fields = ["flow"]
    date_hierarchy = "created_at"

    def get_readonly_fields(
        self, request: HttpRequest, obj: FlowVersion | None = None
    ) -> list[str]:
        readonly = ["created_at", "created_by"]
        if obj is not None and obj.status != FlowVersion.Status.DRAFT:
            # A published (or retired) graph is immutable: calls may be running it.
            readonly += ["flow", "number", "graph"]
        return readonly

    actions = ["publish"]

    @admin.action(description="Validate and publish (new calls use it)")
    def publish(self, request: HttpRequest, queryset: QuerySet[FlowVersion]) -> None:
        for version in queryset.select_related("flow"):
            try:
                check_publish(version)
            except FlowInvalid as exc:
                for problem in exc.problems:
                    self.message_user(request, f"{version}: {problem}", messages.ERROR)
            else:
                self.message_user(request, f"{version.flow.name} v{version.number} published")

    def save_model(self, request: HttpRequest, obj: FlowVersion, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(DataConnector)
class DataConnectorAdmin(admin.ModelAdmin):
    """Data-access connectors (IVR-3); definitions are checked on save (model clean)."""

    list_display = [
        "name",
        "kind",
        "enabled",
        "timeout_seconds",
        "failure_threshold",
        "description",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "description"]

    def save_model(self, request: HttpRequest, obj: DataConnector, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        forget_cache()  # this process uses the new definition at once (icm within 10 s)


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    """Uploaded prompts (upload them in the flow editor: the WAV is checked there)."""

    list_display = [
        "name",
        "language",
        "transcript",
        "duration_seconds",
        "sample_rate",
        "uploaded_at",
        "uploaded_by",
    ]
    list_filter = ["language"]
    search_fields = ["name", "transcript"]
    readonly_fields = ["file_name", "duration_seconds", "sample_rate", "uploaded_at", "uploaded_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a prompt needs its WAV: upload it in the flow editor
