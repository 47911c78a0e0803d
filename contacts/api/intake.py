"""Integration endpoints of the intake: POST /api/v1/contacts/ and POST /api/v1/calls/.

Serializers validate and translate codes to objects; the services decide. Clients
authenticate with their integration token (see contacts.api.auth).
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from frt_crm import api_input
from frt_crm.api_errors import ApiConflict, Conflict

from ..intake_selectors import brand_active_by_code, viewers_for_phone
from ..models import Channel, ConsentKind, Programme, Ticket
from ..services.calls import CALL_EVENTS, call_event_record
from ..services.intake import DUPLICATE, SenderIdentity
from ..services.integrations import (
    ApiContactInput,
    ExternalIdConflict,
    IntegrationRefused,
    api_contact_submit,
    payload_digest,
)
from ..services.viewers import normalise_phone
from .auth import IntegrationThrottle, IntegrationTokenAuthentication, MayPostCalls, MayPostContacts


class Refused(PermissionDenied):
    """403 for what the client may not write, with the service's reason and field."""

    def __init__(self, refusal: IntegrationRefused):
        super().__init__(refusal.message, code=refusal.code)
        self.extra = {"errors": {refusal.field: [refusal.message]}}


# --- contacts ----------------------------------------------------------------------------------


class SenderSerializer(serializers.Serializer):
    email = api_input.EmailField(required=False, allow_blank=True, max_length=254)
    civility = api_input.ChoiceField(choices=["", "M.", "Mme"], required=False, default="")
    first_name = api_input.CharField(required=False, allow_blank=True, max_length=100)
    last_name = api_input.CharField(required=False, allow_blank=True, max_length=100)
    organisation = api_input.CharField(required=False, allow_blank=True, max_length=200)
    phone = api_input.CharField(required=False, allow_blank=True, max_length=32)
    address = api_input.CharField(required=False, allow_blank=True, max_length=200)
    postcode = api_input.CharField(required=False, allow_blank=True, max_length=16)
    city = api_input.CharField(required=False, allow_blank=True, max_length=100)
    country = api_input.CharField(required=False, default="FR", min_length=2, max_length=2)

    def validate_phone(self, value):
        if value and not normalise_phone(value):
            raise serializers.ValidationError(_("Not a valid phone number."))
        return value

    def validate(self, attrs):
        if not (attrs.get("email") or attrs.get("phone") or attrs.get("last_name")):
            raise serializers.ValidationError(
                _("Give at least an email, a phone number or a last name.")
            )
        return attrs


class ConsentSerializer(serializers.Serializer):
    kind = api_input.ChoiceField(choices=ConsentKind.choices)
    granted = api_input.BooleanField()


class ContactIntakeSerializer(serializers.Serializer):
    external_id = api_input.CharField(
        max_length=128, help_text="Your id for this contact: sending it again is harmless."
    )
    channel = api_input.ChoiceField(choices=Channel.choices, default=Channel.WEB)
    brand = api_input.CharField(
        required=False, max_length=64, help_text="Brand code, e.g. france2, france3-bretagne."
    )
    programme = api_input.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Programme slug."
    )
    subject = api_input.CharField(required=False, allow_blank=True, max_length=300, default="")
    body = api_input.CharField(max_length=50_000, trim_whitespace=True)
    occurred_at = api_input.DateTimeField(required=False)
    sender = SenderSerializer()
    ticket_reference = api_input.CharField(required=False, allow_blank=True, max_length=20)
    consents = ConsentSerializer(many=True, required=False, default=list)
    meta = api_input.JSONObjectField(
        required=False,
        default=dict,
        help_text="Free-form JSON object kept with the contact: at most 5 levels deep and "
        "16 KiB once encoded.",
    )

    def validate_brand(self, value):
        brand = brand_active_by_code(value)
        if brand is None:
            raise serializers.ValidationError(_("Unknown brand “%(code)s”.") % {"code": value})
        return brand

    def validate(self, attrs):
        client = self.context["client"]
        brand = attrs.get("brand") or client.brand
        if brand is None:
            raise serializers.ValidationError({"brand": [_("This field is required.")]})
        attrs["brand"] = brand
        slug = attrs.get("programme")
        attrs["programme"] = None
        if slug:
            programme = Programme.objects.filter(
                brand_id__in=[brand.pk, brand.parent_id or brand.pk], slug=slug
            ).first()
            if programme is None:
                raise serializers.ValidationError(
                    {
                        "programme": [
                            _("Unknown programme “%(slug)s” for this brand.") % {"slug": slug}
                        ]
                    }
                )
            attrs["programme"] = programme
        reference = attrs.get("ticket_reference")
        attrs["ticket"] = None
        if reference:
            ticket = Ticket.objects.filter(reference=reference.upper()).first()
            if ticket is None:
                raise serializers.ValidationError(
                    {"ticket_reference": [_("Unknown ticket reference.")]}
                )
            attrs["ticket"] = ticket
        return attrs

    def to_input(self) -> ApiContactInput:
        data = self.validated_data
        sender = data["sender"]
        return ApiContactInput(
            external_id=data["external_id"],
            channel=data["channel"],
            brand=data["brand"],
            programme=data["programme"],
            subject=data["subject"],
            body=data["body"],
            occurred_at=data.get("occurred_at"),
            sender=SenderIdentity(
                email=sender.get("email", ""),
                civility=sender.get("civility", ""),
                first_name=sender.get("first_name", ""),
                last_name=sender.get("last_name", ""),
                organisation=sender.get("organisation", ""),
                phone=sender.get("phone", ""),
                address_line1=sender.get("address", ""),
                postcode=sender.get("postcode", ""),
                city=sender.get("city", ""),
                country=sender.get("country", "FR"),
            ),
            ticket=data["ticket"],
            consents=tuple((c["kind"], c["granted"]) for c in data["consents"]),
            meta=data["meta"],
        )


class ContactIntakeResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["created", "threaded", "duplicate"])
    contact = serializers.IntegerField()
    ticket = serializers.CharField(help_text="Ticket reference, e.g. FTV-2026-000123.")
    viewer = serializers.IntegerField(allow_null=True)


@extend_schema(tags=["intake"])
class ContactIntakeViewSet(viewsets.GenericViewSet):
    """Contacts pushed by integrations (partner sites, telephony, pre-parsing gateways)."""

    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [MayPostContacts]
    throttle_classes = [IntegrationThrottle]
    serializer_class = ContactIntakeSerializer

    @extend_schema(
        summary="Submit a contact",
        description="Creates the contact on its viewer's ticket (a new ticket in state `new`, "
        "or the ticket named by `ticket_reference`). Idempotent on `external_id`: the same "
        "payload again answers 200 with the same contact; another payload under a used "
        "`external_id` answers 409.\n\n"
        "A client with a brand writes only into that brand (and its regional stations): "
        "another `brand` answers 403 `brand_not_allowed`, another brand's ticket 403 "
        "`ticket_not_allowed`. A contact joins the ticket of `ticket_reference` only when the "
        "sender's email address or phone number is that ticket's viewer's, else 403 "
        "`sender_not_ticket_viewer`. Nothing is stored on any refusal.",
        request=ContactIntakeSerializer,
        responses={
            201: ContactIntakeResultSerializer,
            200: OpenApiResponse(ContactIntakeResultSerializer, "Already received."),
            409: OpenApiResponse(ApiConflict, "This external_id was used for another payload."),
        },
        examples=[
            OpenApiExample(
                "Web form of a partner site",
                value={
                    "external_id": "partner-42-000017",
                    "channel": "web",
                    "brand": "france2",
                    "subject": "Horaires du journal",
                    "body": "Bonjour, à quelle heure est rediffusé le journal de 13 h ?",
                    "sender": {
                        "email": "jeanne.martin@example.fr",
                        "first_name": "Jeanne",
                        "last_name": "Martin",
                        "postcode": "29150",
                    },
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        api_input.check_content_length(request)  # before reading the body into memory
        raw = request._request.body  # kept as received, before parsing
        serializer = ContactIntakeSerializer(data=request.data, context={"client": request.auth})
        serializer.is_valid(raise_exception=True)
        digest = payload_digest(request.data)
        try:
            result = api_contact_submit(
                client=request.auth, data=serializer.to_input(), raw=raw, digest=digest
            )
        except IntegrationRefused as exc:
            raise Refused(exc) from None
        except ExternalIdConflict as exc:
            raise Conflict(
                _("This external_id was already used for a different contact."),
                code="conflict",
                extra={"contact": exc.contact.pk},
            ) from None
        body = {
            "status": result.status,
            "contact": result.contact.pk,
            "ticket": result.ticket.reference,
            "viewer": result.viewer.pk if result.viewer else None,
        }
        code = status.HTTP_200_OK if result.status == DUPLICATE else status.HTTP_201_CREATED
        return Response(body, status=code)


# --- telephony events --------------------------------------------------------------------------


class CallEventSerializer(serializers.Serializer):
    event = api_input.ChoiceField(choices=[(e, e) for e in CALL_EVENTS])
    call_id = api_input.CharField(max_length=128)
    at = api_input.DateTimeField(
        required=False,
        max_past=timedelta(days=365),
        max_future=timedelta(days=1),
        help_text="When it happened (default: now); within the last 365 days.",
    )
    caller = api_input.CharField(required=False, allow_blank=True, max_length=32, default="")
    line = api_input.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        default="",
        help_text="The number called; it tells the brand.",
    )
    agent = api_input.CharField(
        required=False,
        allow_blank=True,
        max_length=150,
        default="",
        help_text="Agent's username or phone extension (answer events).",
    )
    queue_wait_seconds = api_input.IntegerField(
        required=False, min_value=0, max_value=86_400, help_text="At most a day."
    )


class ScreenPopViewerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    postcode = serializers.CharField()
    open_tickets = serializers.ListField(child=serializers.CharField())


class CallEventResultSerializer(serializers.Serializer):
    call_id = serializers.CharField()
    event = serializers.CharField()
    duplicate = serializers.BooleanField()
    brand = serializers.CharField(allow_null=True)
    wait_seconds = serializers.IntegerField(allow_null=True)
    handling_seconds = serializers.IntegerField(allow_null=True)
    viewers = ScreenPopViewerSerializer(many=True, required=False)
    call_log_url = serializers.CharField(required=False)


@extend_schema(tags=["intake"])
class CallEventViewSet(viewsets.GenericViewSet):
    """Events of the telephony platform (CTI): ring, answer, hang-up."""

    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [MayPostCalls]
    throttle_classes = [IntegrationThrottle]
    serializer_class = CallEventSerializer

    @extend_schema(
        summary="Record a telephony event",
        description="Idempotent per (call_id, event). On `ring` the answer lists the viewers "
        "whose phone matches the caller, for the agent's screen pop.",
        request=CallEventSerializer,
        responses={
            201: CallEventResultSerializer,
            200: CallEventResultSerializer,
        },
    )
    def create(self, request):
        serializer = CallEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        call, new = call_event_record(
            call_id=data["call_id"],
            kind=data["event"],
            at=data.get("at"),
            caller=data["caller"],
            line=data["line"],
            agent=data["agent"],
            queue_wait_seconds=data.get("queue_wait_seconds"),
            payload=request.data,
        )
        body = {
            "call_id": call.call_id,
            "event": data["event"],
            "duplicate": not new,
            "brand": call.brand.code if call.brand_id else None,
            "wait_seconds": call.wait_seconds,
            "handling_seconds": call.handling_seconds,
        }
        if data["event"] == "ring":
            body["viewers"] = [
                {
                    "id": v.pk,
                    "name": str(v.display_name),
                    "postcode": v.postcode,
                    "open_tickets": [t.reference for t in v.open_tickets],
                }
                for v in viewers_for_phone(number=call.caller_number)
            ]
            body["call_log_url"] = request.build_absolute_uri(
                reverse("contacts:call_log") + f"?call={call.call_id}"
            )
        return Response(body, status=status.HTTP_201_CREATED if new else status.HTTP_200_OK)
