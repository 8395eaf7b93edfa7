"""The agent API's bodies as OpenAPI shapes (drf-spectacular): click-to-dial and scheduled
call-backs. The views parse and answer these; the serializers describe them."""

from __future__ import annotations

from rest_framework import serializers


class DialSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="The number to dial (the agent's dialing rules apply)")


class CallbackBookingSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="The customer's number")
    due_at = serializers.DateTimeField(help_text="When to call back (ISO 8601)")
    note = serializers.CharField(required=False, allow_blank=True)
    queue = serializers.CharField(required=False, allow_blank=True, help_text="A queue name")
    account = serializers.CharField(
        required=False, allow_blank=True, help_text="The customer's account"
    )


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    account = serializers.CharField(allow_blank=True)


class CallbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    due_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    source = serializers.CharField()
    agent = serializers.CharField(allow_blank=True)
    queue = serializers.CharField(allow_blank=True)
    customer = CustomerSerializer(allow_null=True)
    booked_by = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    dispatched_to = serializers.CharField(allow_blank=True)
    contact = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class CallbackListSerializer(serializers.Serializer):
    callbacks = CallbackSerializer(many=True)


class CallAgentSerializer(serializers.Serializer):
    target = serializers.CharField(help_text="The colleague's agent ID (AG-8)")


class MonitorColleagueSerializer(serializers.Serializer):
    target = serializers.CharField(help_text="The colleague's agent ID")
    mode = serializers.ChoiceField(choices=["listen", "barge"], required=False)
