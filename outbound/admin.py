"""Outbound in the Django admin: campaigns (with their contacts' progress), contacts, the
do-not-call list and the attempt log (read-only: it is a record)."""

from django.contrib import admin

from outbound.models import Attempt, Campaign, Contact, DoNotCall


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "display_name", "mode", "state", "queue", "gateway", "max_attempts")
    list_filter = ("mode", "state")
    search_fields = ("name", "display_name")
    readonly_fields = ("state_reason",)  # set by the platform when it pauses a campaign


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "campaign", "status", "attempts", "next_attempt_at",
                    "last_result")  # fmt: skip
    list_filter = ("status", "campaign")
    search_fields = ("number", "name")


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ("number", "reason", "added_at")
    search_fields = ("number",)


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("requested_at", "campaign", "number", "attempt", "result", "hangup_cause",
                    "ring_seconds", "talk_seconds", "agent", "disposition")  # fmt: skip
    list_filter = ("campaign", "result")
    search_fields = ("number", "call_uuid", "key")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
