"""Reads of the data-lifecycle pages: the DPO's list of requests, a viewer's requests and
audit trail, the register of processing activities, the retention runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from . import policy
from .models import PrivacyRequest, RequestKind, RetentionRule, RetentionRun

GDPR_TAG = "rgpd"
REQUESTS_LIMIT = 500


def privacy_request_get_for_user(*, user, pk: int) -> PrivacyRequest:
    """The request, or 404 for a user who may not handle its viewer (a mediator sees access
    requests, to decide on their confidential notes)."""
    obj = (
        PrivacyRequest.objects.select_related(
            "viewer", "ticket", "requested_by", "confirmed_by", "mediation_notes_released_by"
        )
        .filter(pk=pk)
        .first()
    )
    if obj is None:
        raise Http404
    if policy.can(user, "handle", obj.viewer):
        return obj
    if obj.kind == RequestKind.ACCESS and policy.can(user, "release_mediation_notes"):
        return obj
    raise Http404


@dataclass
class RequestsPage:
    requests: list[PrivacyRequest]
    tickets: list  # GDPR tickets (tagged by triage) with no recorded request
    state: str


def privacy_requests_list(*, user, state: str = "open") -> RequestsPage:
    """Every GDPR request with its deadline, open ones first by deadline; and the tickets
    triage tagged `rgpd` that no request records yet (to be taken up)."""
    from contacts.models import OPEN_STATUSES, Ticket

    policy.require(user, "manage")
    qs = PrivacyRequest.objects.select_related("viewer", "ticket", "requested_by")
    if state == "open":
        qs = qs.filter(state__in=["requested", "building", "ready"]).order_by("due_on", "id")
    else:
        qs = qs.order_by("-requested_at", "-id")
    tickets = (
        Ticket.objects.filter(tags__contains=[GDPR_TAG], status__in=OPEN_STATUSES)
        .exclude(privacy_requests__isnull=False)
        .select_related("viewer", "brand")
        .order_by("created_at")[:REQUESTS_LIMIT]
        if _json_contains_supported()
        else _gdpr_tickets_fallback()
    )
    return RequestsPage(requests=list(qs[:REQUESTS_LIMIT]), tickets=list(tickets), state=state)


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _gdpr_tickets_fallback():
    # SQLite has no JSON containment: the tag is matched in the JSON text.
    from contacts.models import OPEN_STATUSES, Ticket

    return (
        Ticket.objects.filter(tags__icontains=f'"{GDPR_TAG}"', status__in=OPEN_STATUSES)
        .exclude(privacy_requests__isnull=False)
        .select_related("viewer", "brand")
        .order_by("created_at")[:REQUESTS_LIMIT]
    )


def viewer_requests(*, viewer) -> list[PrivacyRequest]:
    return list(
        PrivacyRequest.objects.filter(viewer=viewer)
        .select_related("requested_by", "confirmed_by", "ticket")
        .order_by("-requested_at", "-id")
    )


def viewer_audit_events(*, user, viewer):
    """The audit trail of a viewer's file: every logged read or change of the viewer, their
    requests, downloads of their file, and reads of their raw messages."""
    from accounts.models import AuditEvent
    from contacts.models import Contact

    policy.require(user, "manage")
    contact_ids = [
        str(i) for i in Contact.objects.filter(viewer=viewer).values_list("pk", flat=True)
    ]
    return (
        AuditEvent.objects.filter(
            Q(object_type="contacts.viewer", object_id=str(viewer.pk))
            | Q(object_type="contacts.contact", object_id__in=contact_ids)
        )
        .select_related("actor")
        .order_by("at", "id")
    )


@dataclass
class Activity:
    name: str
    data: list[str]
    purpose: str
    legal_basis: str
    retention: str
    recipients: str


def _days_text(days: int | None) -> str:
    if days is None:
        return str(_("kept for ever"))
    if days % 365 == 0:
        return str(_("%(n)s years") % {"n": days // 365})
    if days >= 180 and days % 30 in (0, 3):
        return str(_("%(n)s months") % {"n": round(days / 30.5)})
    return str(_("%(n)s days") % {"n": days})


def _fields_of(label: str, names: list[str]) -> list[str]:
    model = apps.get_model(label)
    return [str(model._meta.get_field(n).verbose_name) for n in names]


def register(*, user) -> dict:
    """The register of processing activities (GDPR art. 30), generated from the product's
    configuration: the retention rules in force, the apps installed, the erasure plan."""
    from django.conf import settings

    from .services.erasure import ERASURE_PLAN

    policy.require(user, "manage")
    rules = {r.kind: r for r in RetentionRule.objects.all()}

    def keep(kind: str) -> str:
        rule = rules.get(kind)
        if rule is None:
            return ""
        return f"{_days_text(rule.days)} — {rule.counted_from}"

    installed = {a.label for a in apps.get_app_configs()}
    activities = [
        Activity(
            _("Viewer relations: answering requests in every channel"),
            _fields_of(
                "contacts.Viewer",
                [
                    "civility",
                    "first_name",
                    "last_name",
                    "organisation",
                    "address_line1",
                    "postcode",
                    "city",
                    "sender_kind",
                ],
            )
            + [str(_("emails")), str(_("phones")), str(_("messages, letters and their scans"))],
            _(
                "Answer viewers' requests, complaints and questions; keep the history of the "
                "relationship."
            ),
            _("Public-interest task of the public broadcaster (GDPR art. 6-1-e)"),
            keep("viewer_data"),
            _(
                "Viewer-relations staff of the brands; the external call centre (level 1, "
                "processor); departments asked for input"
            ),
        ),
        Activity(
            _("Telephone reception"),
            [str(_("caller's number")), str(_("call times and outcome"))],
            _("Answer calls; measure the service level and the call centre's cost."),
            _("Public-interest task (art. 6-1-e); legitimate interest for the measures"),
            keep("call_numbers"),
            _("The external call centre (processor), managers"),
        ),
    ]
    if "satisfaction" in installed:
        activities.append(
            Activity(
                _("Satisfaction surveys"),
                [str(_("score")), str(_("comment")), str(_("email"))],
                _("Measure viewers' satisfaction with the answers."),
                _("Legitimate interest (art. 6-1-f); the viewer may object at any time"),
                keep("viewer_data"),
                _("Managers"),
            )
        )
    if "mediation" in installed:
        activities.append(
            Activity(
                _("Mediation"),
                [str(_("the viewer's request")), str(_("case file"))],
                _("Examine appeals and editorial complaints; publish opinions."),
                _("Legal obligation of the public broadcaster (cahier des charges)"),
                keep("viewer_data")
                + " ; "
                + str(_("published opinions: %(k)s") % {"k": keep("published_opinions")}),
                _("The mediators; departments asked for comment"),
            )
        )
    activities.append(
        Activity(
            _("Relationship marketing (invitations, newsletters)"),
            [str(_("identity")), str(_("email")), str(_("consents and their history"))],
            _("Invite viewers who asked for it to events and shoots."),
            _("Consent (art. 6-1-a), renewed before the data expires"),
            keep("viewer_data"),
            _("Managers"),
        )
    )
    activities.append(
        Activity(
            _("Security and accountability"),
            [str(_("who read or changed what, and when")), str(_("IP address"))],
            _("Prove who accessed viewers' files; investigate misuse."),
            _("Legal obligation (art. 5-2 and 32)"),
            keep("audit"),
            _("Managers, administrators"),
        )
    )
    plan = [
        {
            "model": str(apps.get_model(e.model)._meta.verbose_name),
            "what": ", ".join([*e.replace, *e.redact, *e.files]) or str(_("rows deleted")),
            "why": e.why,
        }
        for e in ERASURE_PLAN
    ]
    return {
        "controller": settings.PRIVACY_CONTROLLER,
        "activities": activities,
        "rules": list(rules.values()),
        "plan": plan,
    }


def retention_runs(*, user, limit: int = 30) -> list[RetentionRun]:
    policy.require(user, "manage")
    return list(RetentionRun.objects.select_related("started_by")[:limit])


def days_left(due: date) -> int:
    from django.utils import timezone

    return (due - timezone.localdate()).days
