"""The audit log in the admin: read-only, filterable."""

from django.contrib import admin

from supervision.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "role", "action", "target_kind", "target", "outcome")
    list_filter = ("action", "outcome", "role")
    search_fields = ("username", "target")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
