"""The flow editor API's answers as OpenAPI shapes (drf-spectacular): flows, versions,
validation problems, prompts. The views build these dictionaries; these serializers only
describe them."""

from __future__ import annotations

from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    node = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField(allow_null=True)


class VersionGraphSerializer(VersionSerializer):
    graph = serializers.JSONField()


class DraftSerializer(VersionSerializer):
    problems = ProblemSerializer(many=True)


class FlowSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    published = serializers.IntegerField(allow_null=True)
    versions = VersionSerializer(many=True)


class ValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)


class NodeTypesSerializer(serializers.Serializer):
    types = serializers.DictField(child=serializers.DictField())
    call_variables = serializers.ListField(child=serializers.CharField())


class PromptSerializer(serializers.Serializer):
    name = serializers.CharField()
    file = serializers.CharField()
    language = serializers.CharField(allow_blank=True)
    transcript = serializers.CharField(allow_blank=True)
    duration_seconds = serializers.FloatField()
    sample_rate = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()


class PromptUploadSerializer(serializers.Serializer):
    """The multipart form of a prompt upload."""

    name = serializers.SlugField(max_length=64)
    file = serializers.FileField(help_text="A WAV file, at most 20 MiB")
    transcript = serializers.CharField(required=False, allow_blank=True, max_length=500)
    language = serializers.CharField(required=False, allow_blank=True, max_length=8)
