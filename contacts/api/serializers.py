from rest_framework import serializers

from ..models import Ticket


class TicketSerializer(serializers.ModelSerializer):
    brand = serializers.SlugRelatedField(slug_field="code", read_only=True)
    team = serializers.SlugRelatedField(slug_field="code", read_only=True)
    programme = serializers.StringRelatedField()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

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
