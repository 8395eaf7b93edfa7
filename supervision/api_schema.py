"""The supervision API's bodies as OpenAPI shapes (drf-spectacular): agent controls, call
assignment, bulletins, the audit log, system events and work groups. The views parse and
answer these; the serializers describe them."""

from __future__ import annotations

from rest_framework import serializers


class AgentActionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)
    extension = serializers.CharField(
        required=False, allow_blank=True, help_text="The supervisor's phone (monitor, barge …)"
    )


class AssignSerializer(serializers.Serializer):
    contact = serializers.CharField(help_text="The waiting caller (icm's contact ID)")
    agent = serializers.CharField(help_text="The agent's ID")


class BulletinTargetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["all", "group", "agent"])
    target = serializers.CharField(required=False, allow_blank=True)


class BulletinSerializer(serializers.Serializer):
    text = serializers.CharField()
    to = BulletinTargetSerializer()
    priority = serializers.CharField(required=False)


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    username = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_blank=True)
    action = serializers.CharField()
    target_kind = serializers.CharField(allow_blank=True)
    target = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField()
    detail = serializers.JSONField()
    address = serializers.IPAddressField(allow_null=True)


class AuditLogSerializer(serializers.Serializer):
    entries = AuditEntrySerializer(many=True)


class SystemEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    switch = serializers.CharField(allow_blank=True)
    kind = serializers.CharField()
    alarm = serializers.CharField(allow_blank=True)
    subject = serializers.CharField(allow_blank=True)
    severity = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    raised_at = serializers.DateTimeField(allow_null=True)
    lasted_seconds = serializers.FloatField(allow_null=True)


class SystemEventListSerializer(serializers.Serializer):
    events = SystemEventSerializer(many=True)


class WorkGroupBodySerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    leaders = serializers.ListField(child=serializers.CharField(), required=False, max_length=500)
    queues = serializers.ListField(child=serializers.CharField(), required=False, max_length=500)


class WorkGroupMembersSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(), required=False, max_length=500)
    remove = serializers.ListField(child=serializers.CharField(), required=False, max_length=500)


class GroupMemberSerializer(serializers.Serializer):
    login_id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    active = serializers.BooleanField()


class WorkGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    leaders = serializers.ListField(child=serializers.CharField())
    queues = serializers.ListField(child=serializers.CharField())
    agents = GroupMemberSerializer(many=True)


class WorkGroupListSerializer(serializers.Serializer):
    groups = WorkGroupSerializer(many=True)
