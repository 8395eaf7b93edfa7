"""Request and response shapes of the icm REST API."""

from rest_framework import serializers

from agents.reasons import UnknownReason, check_state_reason
from icm.models import Call, CallLeg

ENDPOINT_PATTERN = (
    r"^(user/[0-9A-Za-z_.@-]+|loopback/[0-9A-Za-z_*#/-]+|sofia/gateway/[A-Za-z0-9_.-]+/[0-9+*#]+)\Z"
)


class HangupSerializer(serializers.Serializer):
    cause = serializers.RegexField(r"^[A-Z_]{3,40}\Z", required=False, default="NORMAL_CLEARING")


class OriginateSerializer(serializers.Serializer):
    switch = serializers.SlugField(required=False)
    endpoint = serializers.RegexField(
        ENDPOINT_PATTERN,
        error_messages={
            "invalid": "endpoint must be user/<ext>, loopback/<ext> or "
            "sofia/gateway/<gateway>/<number>"
        },
    )
    destination = serializers.RegexField(r"^[0-9A-Za-z*#+_-]{1,40}\Z")
    context = serializers.SlugField(required=False, default="default")
    caller_id_number = serializers.RegexField(r"^[0-9+*#]{1,32}\Z", required=False, default="")


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
        """A not-ready reason is an active configured code, or none (agents.reasons: the
        same check as the desktop's and a supervisor's); any other state carries none."""
        try:
            attrs["reason"] = check_state_reason(attrs["state"], attrs["reason"])
        except UnknownReason as exc:
            raise serializers.ValidationError({"reason": str(exc)}) from exc
        return attrs
