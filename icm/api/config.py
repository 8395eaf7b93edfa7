"""REST API for routing configuration (ISSUE 3 item 10, INT-1): skills, queues and their
required skills, their agents' top-down positions and reserve flags (R-6), agent skills,
not-ready reasons, routing rules. Model permissions apply;
an invalid strategy or parameters are refused with the reason."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.validators import UniqueTogetherValidator

from agents.models import Agent, AgentSkill, NotReadyReason, Skill
from icm.acd_config import policy_from_queue
from icm.domain.acd.strategies import InvalidPolicy
from icm.models import Queue, QueueAgent, QueueSkill, RoutingRule


class ViewPermissions(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class SkillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "name", "description"]


class NotReadyReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotReadyReason
        fields = ["id", "code", "label", "paid", "active"]


class QueueSerializer(serializers.ModelSerializer):
    required_skills = serializers.SerializerMethodField()
    agents = serializers.SerializerMethodField()

    class Meta:
        model = Queue
        fields = [
            "id",
            "site",
            "name",
            "display_name",
            "strategy",
            "strategy_parameters",
            "service_level_seconds",
            "service_level_target",
            "wrap_up_seconds",
            "max_wait_seconds",
            "music_on_hold",
            "enabled",
            "reserve_threshold",
            "reserve_service_level",
            "required_skills",
            "agents",
        ]

    def get_required_skills(self, queue: Queue) -> dict[str, int]:
        return {qs.skill.name: qs.minimum_level for qs in queue.required_skills.all()}

    def get_agents(self, queue: Queue) -> list[dict[str, Any]]:
        """Its agents' top-down positions and reserve flags (set through /queue-agents/)."""
        return [
            {"agent": row.agent.login_id, "position": row.position, "reserve": row.reserve}
            for row in queue.agent_settings.all()
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        trial = Queue(**{**_current(self.instance), **attrs})
        try:
            policy_from_queue(trial, {})
        except InvalidPolicy as exc:
            raise serializers.ValidationError({"strategy_parameters": str(exc)}) from exc
        return attrs


def _current(instance: Queue | None) -> dict[str, Any]:
    if instance is None:
        return {}
    return {
        f.name: getattr(instance, f.name)
        for f in Queue._meta.concrete_fields
        if f.name not in ("id", "site")
    }


class QueueSkillSerializer(serializers.ModelSerializer):
    queue = serializers.SlugRelatedField(slug_field="name", queryset=Queue.objects.all())
    skill = serializers.SlugRelatedField(slug_field="name", queryset=Skill.objects.all())

    class Meta:
        model = QueueSkill
        fields = ["id", "queue", "skill", "minimum_level"]


class QueueAgentSerializer(serializers.ModelSerializer):
    """An agent's top-down position and reserve flag in one queue (R-6)."""

    queue = serializers.SlugRelatedField(slug_field="name", queryset=Queue.objects.all())
    agent = serializers.SlugRelatedField(slug_field="login_id", queryset=Agent.objects.all())

    class Meta:
        model = QueueAgent
        fields = ["id", "queue", "agent", "position", "reserve"]
        validators = [
            UniqueTogetherValidator(
                queryset=QueueAgent.objects.all(),
                fields=["queue", "agent"],
                message="this agent already has settings in this queue: change that row",
            )
        ]


class AgentSkillSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="login_id", queryset=Agent.objects.all())
    skill = serializers.SlugRelatedField(slug_field="name", queryset=Skill.objects.all())

    class Meta:
        model = AgentSkill
        fields = ["id", "agent", "skill", "level"]


class RoutingRuleSerializer(serializers.ModelSerializer):
    queue = serializers.SlugRelatedField(slug_field="name", queryset=Queue.objects.all())

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "priority",
            "dnis",
            "caller_prefix",
            "schedule",
            "when",
            "queue",
            "enabled",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        when = attrs.get("when", getattr(self.instance, "when", "always"))
        schedule = attrs.get("schedule", getattr(self.instance, "schedule", None))
        if when != "always" and schedule is None:
            raise serializers.ValidationError({"schedule": f"required when {when!r}"})
        return attrs


class _ConfigViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated, ViewPermissions]


class SkillViewSet(_ConfigViewSet):
    queryset = Skill.objects.all()
    serializer_class = SkillSerializer


class NotReadyReasonViewSet(_ConfigViewSet):
    queryset = NotReadyReason.objects.all()
    serializer_class = NotReadyReasonSerializer


class QueueViewSet(_ConfigViewSet):
    queryset = Queue.objects.prefetch_related("required_skills__skill", "agent_settings__agent")
    serializer_class = QueueSerializer


class QueueAgentViewSet(_ConfigViewSet):
    queryset = QueueAgent.objects.select_related("queue", "agent")
    serializer_class = QueueAgentSerializer


class QueueSkillViewSet(_ConfigViewSet):
    queryset = QueueSkill.objects.select_related("queue", "skill")
    serializer_class = QueueSkillSerializer


class AgentSkillViewSet(_ConfigViewSet):
    queryset = AgentSkill.objects.select_related("agent", "skill")
    serializer_class = AgentSkillSerializer


class RoutingRuleViewSet(_ConfigViewSet):
    queryset = RoutingRule.objects.select_related("queue")
    serializer_class = RoutingRuleSerializer
