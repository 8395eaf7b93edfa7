"""Voicemail in the admin: mailboxes (editable: owner, PIN, addresses, greeting, retention) and
their messages with the operation log (read-only: messages come from callers)."""

from django.contrib import admin

from voicemail.models import Mailbox, VoicemailAccess, VoicemailMessage


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "active", "emails", "retention_days")
    list_filter = ("kind", "active")
    raw_id_fields = ("agent", "queue")
    filter_horizontal = ("members",)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(VoicemailMessage)
class VoicemailMessageAdmin(ReadOnly):
    list_display = ("id", "mailbox", "caller_number", "received_at", "duration", "heard_at")
    list_filter = ("mailbox__kind",)
    search_fields = ("caller_number", "caller_name")


@admin.register(VoicemailAccess)
class VoicemailAccessAdmin(ReadOnly):
    list_display = ("at", "username", "kind", "message", "detail")
    list_filter = ("kind",)
