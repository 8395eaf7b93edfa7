"""The recording API's bodies as OpenAPI shapes (drf-spectacular): catalogue rows, scoring,
trimming and legal hold. The views parse and answer these; the serializers describe them."""

from __future__ import annotations

from rest_framework import serializers


class RecordingRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call_uuid = serializers.CharField(allow_blank=True)
    ani = serializers.CharField(allow_blank=True)
    dnis = serializers.CharField(allow_blank=True)
    agent = serializers.CharField(allow_blank=True)
    agent_name = serializers.CharField(allow_blank=True)
    queue = serializers.CharField(allow_blank=True)
    customer = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField()
    duration = serializers.FloatField(allow_null=True)
    paused = serializers.FloatField(allow_null=True)
    format = serializers.CharField(allow_blank=True)
    channels = serializers.IntegerField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    legal_hold = serializers.BooleanField()
    qa_score = serializers.FloatField(allow_null=True)
    policy = serializers.CharField(allow_blank=True)


class RecordingPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = RecordingRowSerializer(many=True)


class RecordingDetailSerializer(RecordingRowSerializer):
    evaluations = serializers.ListField(child=serializers.DictField())
    log = serializers.ListField(child=serializers.DictField())


class EvaluateSerializer(serializers.Serializer):
    form = serializers.IntegerField(help_text="The evaluation form's id")
    answers = serializers.DictField(
        child=serializers.IntegerField(), help_text="Points per question id"
    )
    comment = serializers.CharField(required=False, allow_blank=True)


class EvaluationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    score = serializers.FloatField()


class TrimSerializer(serializers.Serializer):
    start = serializers.FloatField(help_text="seconds")
    end = serializers.FloatField(help_text="seconds")


class HoldSerializer(serializers.Serializer):
    hold = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
