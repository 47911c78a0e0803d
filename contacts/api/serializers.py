from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Outcome, Ticket, Topic


class UnsetChoiceField(serializers.ChoiceField):
    """A choice the ticket may not have yet (a topic before triage, an outcome before
    resolution): stored as "", answered as null, so that the enum holds only real values."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


@extend_schema_field({"type": "string", "nullable": True, "readOnly": True})
class NullableStringRelatedField(serializers.StringRelatedField):
    pass


class TicketSerializer(serializers.ModelSerializer):
    brand = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    team = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    programme = NullableStringRelatedField()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    topic = UnsetChoiceField(choices=Topic.choices)
    outcome = UnsetChoiceField(choices=Outcome.choices)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "brand",
            "programme",
            "viewer",
            "subject",
            "channel",
            "topic",
            "level",
            "team",
            "status",
            "priority",
            "assignee",
            "tags",
            "created_at",
            "updated_at",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "level_first_responded_at",
            "sla_state",
            "resolved_at",
            "closed_at",
            "outcome",
            "triage_explanation",
        ]
        read_only_fields = fields
