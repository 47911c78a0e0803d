"""Workflow actions on tickets for integrations: escalate, send back, re-route, take next.

Explicit actions, each validating its input with a serializer and calling one service of
``routing.services``; the rights are the services' (accounts.permissions), a ticket outside
the caller's scope is a 404. Mounted at /api/v1/ticket-workflow/.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Level, Team
from contacts.api.serializers import UnsetChoiceField
from contacts.models import Ticket, Topic
from contacts.selectors import ticket_get_for_user
from contacts.services import StaleTicket
from frt_crm import api_input
from frt_crm.api_errors import ApiError, Conflict

from . import services

STALE = "The ticket changed since the version given."


class ReasonInput(serializers.Serializer):
    reason = api_input.CharField(max_length=2000)
    version = api_input.IntegerField(
        min_value=0,
        required=False,
        help_text=_("The ticket's version as read; refused if it changed since."),
    )


class RerouteInput(ReasonInput):
    level = api_input.ChoiceField(choices=Level.choices, required=False)
    team = serializers.SlugRelatedField(
        slug_field="code", queryset=Team.objects.filter(is_active=True), required=False
    )
    topic = api_input.ChoiceField(choices=Topic.choices, required=False)


class TicketRoutingOutput(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    topic = UnsetChoiceField(choices=Topic.choices)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "status",
            "level",
            "team",
            "topic",
            "priority",
            "assignee",
            "sla_state",
            "first_response_due_at",
            "resolution_due_at",
            "version",
        ]
        read_only_fields = fields


class TicketWorkflowViewSet(viewsets.GenericViewSet):
    """Moves of a ticket between levels and teams, and "take next"."""

    serializer_class = TicketRoutingOutput
    queryset = Ticket.objects.none()  # tickets are fetched through ticket_get_for_user
    lookup_value_regex = "[^/]+"  # any id reaches the view: a 404 in JSON, not the HTML page

    def _ticket(self, pk: str) -> Ticket:
        if not pk.isascii() or not pk.isdigit() or int(pk) > 2**63 - 1:
            raise Http404
        return ticket_get_for_user(user=self.request.user, pk=int(pk))

    def _move(self, request: Request, pk: str, action_name: str) -> Response:
        ticket = self._ticket(pk)
        form = (RerouteInput if action_name == "reroute" else ReasonInput)(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if action_name == "escalate":
                moved = services.ticket_escalate(
                    ticket=ticket,
                    by=request.user,
                    reason=data["reason"],
                    expected_version=data.get("version"),
                )
            elif action_name == "send_back":
                moved = services.ticket_send_back(
                    ticket=ticket,
                    by=request.user,
                    reason=data["reason"],
                    expected_version=data.get("version"),
                )
            else:
                moved = services.ticket_reroute(
                    ticket=ticket,
                    by=request.user,
                    reason=data["reason"],
                    level=data.get("level"),
                    team=data.get("team"),
                    topic=data.get("topic"),
                    expected_version=data.get("version"),
                )
        except StaleTicket as exc:
            raise Conflict(str(exc), code="stale") from None
        except services.RoutingError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}, code="refused") from None
        return Response(TicketRoutingOutput(moved).data)

    @extend_schema(
        request=ReasonInput,
        responses={200: TicketRoutingOutput, 409: OpenApiResponse(ApiError, STALE)},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str, format: str | None = None) -> Response:
        """Up one level (1 → 2 → 3) with a reason; level 3 opens the mediation case."""
        return self._move(request, pk, "escalate")

    @extend_schema(
        request=ReasonInput,
        responses={200: TicketRoutingOutput, 409: OpenApiResponse(ApiError, STALE)},
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request: Request, pk: str, format: str | None = None) -> Response:
        """Down one level (3 → 2 → 1) with a reason."""
        return self._move(request, pk, "send_back")

    @extend_schema(
        request=RerouteInput,
        responses={200: TicketRoutingOutput, 409: OpenApiResponse(ApiError, STALE)},
    )
    @action(detail=True, methods=["post"])
    def reroute(self, request: Request, pk: str, format: str | None = None) -> Response:
        """Correct the triage (level, team by code, topic) with a reason."""
        return self._move(request, pk, "reroute")

    @extend_schema(request=None, responses={200: TicketRoutingOutput, 204: None})
    @action(detail=False, methods=["post"], url_path="take-next")
    def take_next(self, request: Request, format: str | None = None) -> Response:
        # `format`: the router's `.json` suffix routes pass it (without it they answered 500).
        """Assign the caller the most urgent unassigned ticket of their teams' queues."""
        ticket = services.ticket_take_next(user=request.user)
        if ticket is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TicketRoutingOutput(ticket).data)
