"""The audit log (read-only, filterable) and sent bulletins with their receipts, in the admin."""

from django.contrib import admin

from supervision.models import AuditEntry, Bulletin, BulletinReceipt


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "role", "action", "target_kind", "target", "outcome")
    list_filter = ("action", "outcome", "role")
    search_fields = ("username", "target")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class BulletinReceiptInline(admin.TabularInline):
    model = BulletinReceipt
    extra = 0
    fields = ("agent", "read_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Bulletin)
class BulletinAdmin(admin.ModelAdmin):
    """Sent bulletins and who read them (sent from the wallboard or the API, never here)."""

    list_display = ("created_at", "author_name", "priority", "target_kind", "target", "text")
    list_filter = ("priority", "target_kind")
    search_fields = ("text", "author_name", "target")
    readonly_fields = (
        "author",
        "author_name",
        "text",
        "priority",
        "target_kind",
        "target",
        "created_at",
        "expires_at",
    )
    inlines = [BulletinReceiptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # what was sent, and who read it, is a record

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
