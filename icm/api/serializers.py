"""Request and response shapes of the icm REST API."""

from rest_framework import serializers

from icm.models import Call, CallLeg

ENDPOINT_PATTERN = (
    r"^(user/[0-9A-Za-z_.@-]+|loopback/[0-9A-Za-z_*#/-]+|sofia/gateway/[A-Za-z0-9_.-]+/[0-9+*#]+)$"
)


class HangupSerializer(serializers.Serializer):
    cause = serializers.RegexField(r"^[A-Z_]{3,40}$", required=False, default="NORMAL_CLEARING")


class OriginateSerializer(serializers.Serializer):
    switch = serializers.SlugField(required=False)
    endpoint = serializers.RegexField(
        ENDPOINT_PATTERN,
        error_messages={
            "invalid": "endpoint must be user/<ext>, loopback/<ext> or "
            "sofia/gateway/<gateway>/<number>"
        },
    )
    destination = serializers.RegexField(r"^[0-9A-Za-z*#+_-]{1,40}$")
    context = serializers.SlugField(required=False, default="default")
    caller_id_number = serializers.RegexField(r"^[0-9+*#]{1,32}$", required=False, default="")


class CallLegSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallLeg
        fields = [
            "uuid",
            "channel_name",
            "direction",
            "ani",
            "dnis",
            "state",
            "other_leg_uuid",
            "created_at",
            "answered_at",
            "bridged_at",
            "hungup_at",
            "hangup_cause",
        ]


class CallSerializer(serializers.ModelSerializer):
    switch = serializers.SlugRelatedField(slug_field="name", read_only=True)
    queue = serializers.SlugRelatedField(slug_field="name", read_only=True)
    legs = CallLegSerializer(many=True, read_only=True)

    class Meta:
        model = Call
        fields = [
            "switch",
            "call_uuid",
            "direction",
            "ani",
            "caller_name",
            "dnis",
            "state",
            "created_at",
            "answered_at",
            "bridged_at",
            "ended_at",
            "hangup_cause",
            "queue",
            "attached_data",
            "legs",
        ]


class AgentStateSerializer(serializers.Serializer):
    """Change an agent's ACD state: sign in (ready or not), ready, not ready, sign out …"""

    state = serializers.ChoiceField(
        choices=[
            "login",
            "login_not_ready",
            "ready",
            "not_ready",
            "logout",
            "end_wrap_up",
            "extend_wrap_up",
            "reject",
            "reject_not_ready",
        ]
    )
    reason = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    switch = serializers.SlugField(required=False)

    def validate(self, attrs: dict) -> dict:
        """A not-ready reason must be one of the configured codes, when any are configured."""
        from agents.models import NotReadyReason

        if attrs["state"] in ("not_ready", "login_not_ready"):
            codes = list(NotReadyReason.objects.filter(active=True).values_list("code", flat=True))
            if codes and attrs["reason"] not in codes:
                raise serializers.ValidationError({"reason": f"must be one of {sorted(codes)}"})
        return attrs
