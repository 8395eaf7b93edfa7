"""Outbound in the Django admin: campaigns (with their contacts' progress), contacts, the
do-not-call list and the attempt log (read-only: it is a record)."""

from django.contrib import admin

from outbound.models import Attempt, Campaign, Contact, DiallingRuleSet, DoNotCall


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "display_name", "mode", "state", "queue", "gateway", "max_attempts")
    list_filter = ("mode", "state")
    search_fields = ("name", "display_name")
    readonly_fields = ("state_reason",)  # set by the platform when it pauses a campaign


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "name",
        "campaign",
        "status",
        "attempts",
        "next_attempt_at",
        "last_result",
    )
    list_filter = ("status", "campaign")
    search_fields = ("number", "name")


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ("number", "reason", "added_at")
    search_fields = ("number",)


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = (
        "requested_at",
        "campaign",
        "number",
        "attempt",
        "result",
        "hangup_cause",
        "ring_seconds",
        "talk_seconds",
        "agent",
        "disposition",
    )
    list_filter = ("campaign", "result")
    search_fields = ("number", "call_uuid", "key")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DiallingRuleSet)
class DiallingRuleSetAdmin(admin.ModelAdmin):
    """The company's rules for the numbers the platform dials by itself (issue 18 item 4):
    one rule set, never deleted (without it the safe defaults apply)."""

    list_display = ("__str__", "allow_international", "allowed_countries", "updated_at")
    fieldsets = (
        (
            "International",
            {
                "fields": (
                    "allow_international",
                    "allowed_countries",
                    "home_country_codes",
                    "international_prefixes",
                )
            },
        ),
        (
            "Ranges",
            {"fields": ("blocked_prefixes", "allowed_prefixes", "min_digits", "max_digits")},
        ),
    )

    def has_add_permission(self, request) -> bool:
        return not DiallingRuleSet.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
