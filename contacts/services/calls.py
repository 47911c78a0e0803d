"""Phone calls: the telephony platform's events, and the call an agent logs.

Events (ring, answer, hang-up) are kept as received, once per (call, kind): the platform may
send one twice. From them the call's record knows its waiting time (ring → answer, or what the
platform says of the queue) and its handling time (answer → hang-up), for the 80/20 service
level and the call-centre cost model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import permissions
from accounts.models import User

from ..models import (
    OPEN_STATUSES,
    STATUS_TRANSITIONS,
    Brand,
    CallEvent,
    CallRecord,
    Channel,
    PhoneLine,
    Programme,
    Status,
    Ticket,
    Topic,
    Viewer,
)
from .intake import (
    CREATED,
    InboundMessage,
    IntakeResult,
    SenderIdentity,
    contact_intake,
    ticket_resolve_first_contact,
)
from .tickets import ticket_change_status
from .viewers import normalise_phone

CALL_EVENTS = ("ring", "answer", "hangup")


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def phone_line_brand(*, line: str) -> Brand | None:
    """The brand a called number belongs to (numbers compared in E.164 when possible)."""
    candidates = {line.strip()}
    e164 = normalise_phone(line)
    if e164:
        candidates.add(e164)
    found = PhoneLine.objects.select_related("brand").filter(number__in=candidates).first()
    return found.brand if found else None


def _agent(ref: str) -> User | None:
    if not ref:
        return None
    return (
        User.objects.filter(Q(username=ref) | Q(phone_extension=ref), is_active=True)
        .order_by("id")
        .first()
    )


def call_event_record(
    *,
    call_id: str,
    kind: str,
    at: datetime | None = None,
    caller: str = "",
    line: str = "",
    agent: str = "",
    queue_wait_seconds: int | None = None,
    payload: dict | None = None,
) -> tuple[CallRecord, bool]:
    """Record one telephony event; returns (call record, whether the event was new).

    Idempotent per (call, kind): a repeated event changes nothing. Events may arrive out of
    order; the record is created by whichever comes first.
    """
    if kind not in CALL_EVENTS:
        raise ValueError(f"unknown call event {kind!r}")
    at = at or timezone.now()
    caller_e164 = normalise_phone(caller) or caller.strip()[:20]
    with transaction.atomic():
        call, created = CallRecord.objects.select_for_update().get_or_create(
            call_id=call_id,
            defaults={
                "rang_at": at,
                "caller_number": caller_e164[:20],
                "called_line": line.strip()[:32],
                "brand": phone_line_brand(line=line) if line else None,
            },
        )
        try:
            with transaction.atomic():
                CallEvent.objects.create(call=call, kind=kind, at=at, payload=payload or {})
        except IntegrityError:
            return call, False
        if caller_e164 and not call.caller_number:
            call.caller_number = caller_e164[:20]
        if line and not call.called_line:
            call.called_line = line.strip()[:32]
            call.brand = phone_line_brand(line=line)
        if kind == "ring":
            call.rang_at = min(call.rang_at, at) if not created else at
            if call.viewer_id is None and call.caller_number:
                matches = list(
                    Viewer.objects.filter(
                        phones__number=call.caller_number, merged_into__isnull=True
                    ).values_list("pk", flat=True)[:2]
                )
                if len(matches) == 1:
                    call.viewer_id = matches[0]
        elif kind == "answer":
            call.answered_at = at
            call.agent = _agent(agent) or call.agent
            call.wait_seconds = (
                queue_wait_seconds if queue_wait_seconds is not None else _seconds(call.rang_at, at)
            )
        elif kind == "hangup":
            call.ended_at = at
            if call.answered_at is not None:
                call.handling_seconds = _seconds(call.answered_at, at)
            else:
                call.abandoned = True
                call.wait_seconds = (
                    queue_wait_seconds
                    if queue_wait_seconds is not None
                    else _seconds(call.rang_at, at)
                )
        call.save()
    return call, True


# --- the agent's call log ----------------------------------------------------------------------


class CallOutcome:
    RESOLVED = "resolved"
    TRIAGE = "triage"


@dataclass(frozen=True)
class CallLogInput:
    brand: Brand
    reason: str  # a Topic code
    notes: str
    outcome: str  # CallOutcome
    programme: Programme | None = None
    viewer: Viewer | None = None
    new_viewer: SenderIdentity | None = None
    ticket: Ticket | None = None
    call: CallRecord | None = None


def call_log(*, by: User, data: CallLogInput) -> IntakeResult:
    """Log a call an agent took: the contact on the viewer's ticket (a chosen open ticket, or a
    new one), resolved at first contact or left `new` for triage.

    Requires `log_call` and the brand in the agent's scope. A chosen ticket is one the agent
    may work on, or one whose standing they may only track (a level-2 or level-3 request): the
    call is then added to it as a contact and nothing else (its state is the handling level's
    to change, whatever the outcome chosen). A call already logged (same call id) is not
    logged twice.
    """
    permissions.require(by, "log_call")
    scope = permissions.brand_scope(by)
    if scope is not None and data.brand.pk not in scope:
        raise PermissionDenied
    contact_only = False
    if data.ticket is not None and not permissions.can(by, "work", data.ticket):
        if not permissions.can(by, "track", data.ticket):
            raise PermissionDenied
        contact_only = True
    reason_label = Topic(data.reason).label if data.reason in Topic.values else data.reason
    first_line = (data.notes or "").strip().splitlines()[0][:120] if data.notes.strip() else ""
    subject = f"{reason_label} — {first_line}" if first_line else str(reason_label)
    message = InboundMessage(
        channel=Channel.PHONE,
        external_source="call" if data.call else "",
        external_id=data.call.call_id if data.call else None,
        sender=data.new_viewer or SenderIdentity(),
        viewer=data.viewer,
        brand=data.brand,
        programme=data.programme,
        subject=subject,
        body_text=data.notes,
        ticket=data.ticket,
        author=by,
        meta={"reason": data.reason, "outcome": data.outcome},
    )
    with transaction.atomic():
        result = contact_intake(message=message)
        if data.call is not None and result.contact is not None:
            CallRecord.objects.filter(pk=data.call.pk).update(
                contact=result.contact, viewer=result.viewer, agent=data.call.agent or by
            )
        ticket = result.ticket
        if data.outcome == CallOutcome.RESOLVED and ticket is not None and not contact_only:
            if result.status == CREATED:
                result.ticket = ticket_resolve_first_contact(
                    ticket=ticket, by=by, topic=data.reason
                )
            elif ticket.status in OPEN_STATUSES and Status.RESOLVED in STATUS_TRANSITIONS.get(
                ticket.status, ()
            ):
                result.ticket = ticket_change_status(
                    ticket=ticket,
                    to=Status.RESOLVED,
                    by=by,
                    reason="answered on the phone",
                    outcome="answered",
                )
    return result
