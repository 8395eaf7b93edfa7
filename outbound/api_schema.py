"""The campaign API's bodies as OpenAPI shapes (drf-spectacular): campaign progress, contact
list uploads and follow-up campaigns. The views parse and answer these; the serializers
describe them."""

from __future__ import annotations

from rest_framework import serializers

from outbound.followup import SOURCES
from outbound.models import Campaign


class CampaignSerializer(serializers.Serializer):
    """A campaign's progress (what its page shows)."""

    name = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)
    mode = serializers.CharField()
    state = serializers.CharField()
    state_reason = serializers.CharField(allow_blank=True)
    queue = serializers.CharField(allow_blank=True)
    contacts = serializers.IntegerField()
    remaining = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    dialed = serializers.IntegerField()
    results = serializers.DictField(child=serializers.IntegerField())
    connected = serializers.IntegerField()
    abandoned_pct = serializers.FloatField(allow_null=True)
    done_pct = serializers.FloatField(allow_null=True)
    ringing = serializers.IntegerField()
    talking = serializers.IntegerField()


class CampaignListSerializer(serializers.Serializer):
    campaigns = CampaignSerializer(many=True)


class ContactListUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV or XLSX contact list, at most 20 MB")


class FollowUpSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=list(SOURCES))
    queue = serializers.CharField()
    since = serializers.DateField()
    until = serializers.DateField(required=False)
    disposition = serializers.CharField(required=False, allow_blank=True)
    mode = serializers.ChoiceField(choices=Campaign.Mode.choices, required=False)
    gateway = serializers.CharField(required=False, allow_blank=True)
