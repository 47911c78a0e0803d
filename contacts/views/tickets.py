"""The ticket page of the staff workspace, and its actions (notes, status, resolution,
taking, merging, the score asked on the phone), the presence of colleagues on the same
ticket, and the files of its contacts.

One role check at the top of each view (the ticket comes from `ticket_get_for_user`: 404
outside the user's level or brands); reads through `contacts.selectors.ticket_page`, writes
through services. A form posted against an older version of the ticket is refused with the
new state shown (409) and the user's draft kept: nothing is overwritten or sent twice.
Replies are posted to the `replies` app, re-routing and escalation to `routing`.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.models import Level, Team
from accounts.services import audit_record

from ..models import Outcome, Status, Topic
from ..selectors import (
    attachment_get_for_user,
    contact_get_for_user,
    ticket_get_for_user,
    ticket_page,
)
from ..services import (
    InvalidTransition,
    StaleTicket,
    TicketMergeError,
    note_add,
    ticket_assign,
    ticket_change_status,
    ticket_merge,
)
from ..workspace_forms import (
    MergeTicketForm,
    NoteForm,
    PhoneScoreForm,
    ResolveForm,
    StatusForm,
    status_choices,
)

# Presence: who has the ticket open. Each open page refreshes its mark every ~20 s (htmx
# poll); a mark older than PRESENCE_TTL is gone. Kept in the shared cache (database or
# Redis), one key per ticket; two pages writing at the same instant may drop a mark for one
# poll, which the next poll restores.
PRESENCE_POLL_SECONDS = 20
PRESENCE_TTL = 50


def _url(name: str, *args: Any) -> str:
    """A url of another app's page, or '' while that app does not provide it."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def render_ticket_page(
    request: HttpRequest,
    ticket,
    *,
    status: int = 200,
    reply: dict | None = None,
    note_draft: str = "",
    stale: str = "",
) -> HttpResponse:
    """Render the ticket page for `ticket` (fetched with `ticket_get_for_user`).

    `reply` pre-fills the reply box (a draft refused because the ticket changed), `stale`
    explains why a post was refused.
    """
    from replies.services import pick_recipient, postal_address_lines, templates_for_ticket
    from replies.views import reply_channels

    user = request.user
    page = ticket_page(user=user, ticket=ticket)
    can_work = permissions.can(user, "work", ticket)
    channel = (reply or {}).get("channel") or ("letter" if ticket.channel == "letter" else "email")
    # The card's addresses and the thread are already here: no query for the recipient.
    last_sender = next(
        (
            c.sender_address
            for c in reversed(page.thread)
            if c.direction == "in" and c.channel == "email" and c.sender_address
        ),
        "",
    )
    email_to = (
        pick_recipient(emails=page.card.emails, last_sender=last_sender)
        if can_work and page.card
        else ""
    )
    address = postal_address_lines(ticket.viewer) if can_work else []
    context = {
        "ticket": ticket,
        "page": page,
        "card": page.card,
        "can_work": can_work,
        "can_escalate": permissions.can(user, "escalate", ticket),
        "can_send_back": permissions.can(user, "send_back", ticket),
        "can_reroute": permissions.can(user, "reroute", ticket),
        "can_merge": permissions.can(user, "merge", ticket),
        "can_edit_viewer": ticket.viewer_id is not None
        and permissions.can(user, "change", ticket.viewer),
        "status_choices": status_choices(ticket.status) if can_work else [],
        "outcomes": [(o.value, o.label) for o in Outcome if o != Outcome.MEDIATION],
        "can_resolve": can_work and Status.RESOLVED in _allowed(ticket.status),
        "reply": {
            "channel": channel,
            "subject": (reply or {}).get("subject", ""),
            "body": (reply or {}).get("body", ""),
            "template": (reply or {}).get("template", ""),
        },
        "reply_channels": reply_channels(email_to=email_to, address=address),
        "email_to": email_to,
        "postal_address": address,
        "suggested_templates": list(templates_for_ticket(ticket=ticket, channel=channel))
        if can_work
        else [],
        "note_draft": note_draft,
        "stale": stale,
        "levels": Level.choices,
        "teams": list(Team.objects.filter(is_active=True).order_by("level", "name"))
        if permissions.can(user, "reroute", ticket)
        else [],
        "topics": Topic.choices,
        "escalate_url": _url("routing:escalate", ticket.pk),
        "send_back_url": _url("routing:send_back", ticket.pk),
        "reroute_url": _url("routing:reroute", ticket.pk),
        "take_next_url": _url("routing:take_next"),
        "queue_url": _url("routing:queue"),
        "call_log_url": _url("contacts:call_log"),
        "presence_seconds": PRESENCE_POLL_SECONDS,
        "phone_score_form": PhoneScoreForm(),
        "now": timezone.now(),
    }
    return render(request, "contacts/ticket.html", context, status=status)


def _allowed(status: str) -> frozenset[str]:
    from ..models import STATUS_TRANSITIONS

    return STATUS_TRANSITIONS.get(status, frozenset())


@login_required
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    if ticket.merged_into_id and permissions.can(request.user, "view", ticket.merged_into):
        messages.info(
            request,
            _("Ticket %(ref)s was merged into this one.") % {"ref": ticket.reference},
        )
        return redirect("contacts:ticket", pk=ticket.merged_into_id)
    return render_ticket_page(request, ticket)


def _stale(request: HttpRequest, exc: StaleTicket, **drafts) -> HttpResponse:
    """The post was made on an older version: show the ticket as it is now, keep the draft."""
    ticket = ticket_get_for_user(user=request.user, pk=exc.ticket.pk)
    return render_ticket_page(request, ticket, status=409, stale=str(exc), **drafts)


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label} : {error}" if label else error)


@login_required
@require_POST
def ticket_note(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    form = NoteForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("contacts:ticket", pk=ticket.pk)
    # A note does not change the ticket (its version stays): two colleagues may both add one.
    try:
        note_add(ticket=ticket, author=request.user, body=form.cleaned_data["body"])
    except (ValueError, PermissionError) as exc:
        messages.error(request, str(exc))
        return redirect("contacts:ticket", pk=ticket.pk)
    messages.success(request, _("Note added."))
    return redirect(f"{reverse('contacts:ticket', args=[ticket.pk])}#notes")


@login_required
@require_POST
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    form = StatusForm(request.POST, status=ticket.status)
    if not form.is_valid():
        if str(form.data.get("version")) != str(ticket.version):
            return _stale(request, StaleTicket(ticket))
        _form_errors(request, form)
        return redirect("contacts:ticket", pk=ticket.pk)
    try:
        ticket_change_status(
            ticket=ticket,
            to=form.cleaned_data["to"],
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except StaleTicket as exc:
        return _stale(request, exc)
    except InvalidTransition as exc:
        messages.error(request, str(exc))
        return redirect("contacts:ticket", pk=ticket.pk)
    messages.success(request, _("Status changed."))
    return redirect("contacts:ticket", pk=ticket.pk)


@login_required
@require_POST
def ticket_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve with an outcome; the viewer then gets the satisfaction survey (if they have a
    working email and the outcome calls for one)."""
    from satisfaction.services import survey_send_for

    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("contacts:ticket", pk=ticket.pk)
    try:
        resolved = ticket_change_status(
            ticket=ticket,
            to=Status.RESOLVED,
            by=request.user,
            outcome=form.cleaned_data["outcome"],
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except StaleTicket as exc:
        return _stale(request, exc)
    except InvalidTransition as exc:
        messages.error(request, str(exc))
        return redirect("contacts:ticket", pk=ticket.pk)
    survey = survey_send_for(ticket=resolved)
    if survey is not None:
        messages.success(
            request, _("Ticket resolved. A satisfaction survey is on its way to the viewer.")
        )
    else:
        messages.success(request, _("Ticket resolved."))
    return redirect("contacts:ticket", pk=ticket.pk)


@login_required
@require_POST
def ticket_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the ticket (assign it to oneself), or put it back in the queue."""
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    release = request.POST.get("release") == "1"
    if release and ticket.assignee_id != request.user.pk:
        permissions.require(request.user, "assign", ticket)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        ticket_assign(
            ticket=ticket,
            to=None if release else request.user,
            by=request.user,
            expected_version=version,
        )
    except StaleTicket as exc:
        return _stale(request, exc)
    except PermissionError as exc:
        messages.error(request, str(exc))
    return redirect("contacts:ticket", pk=ticket.pk)


@login_required
@require_POST
def ticket_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "merge", ticket)
    form = MergeTicketForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("contacts:ticket", pk=ticket.pk)
    try:
        target = ticket_get_for_user(
            user=request.user, reference=form.cleaned_data["target"].strip().upper()
        )
    except Http404:
        messages.error(request, _("No ticket of yours has this reference."))
        return redirect("contacts:ticket", pk=ticket.pk)
    try:
        merged = ticket_merge(
            source=ticket,
            target=target,
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except StaleTicket as exc:
        return _stale(request, exc)
    except (TicketMergeError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("You may not merge these tickets."))
        return redirect("contacts:ticket", pk=ticket.pk)
    messages.success(
        request,
        _("Ticket %(src)s merged into %(dst)s.")
        % {"src": ticket.reference, "dst": merged.reference},
    )
    return redirect("contacts:ticket", pk=merged.pk)


@login_required
@require_POST
def ticket_phone_score(request: HttpRequest, pk: int) -> HttpResponse:
    """The score the viewer gave when the agent asked on the phone."""
    from satisfaction.services import SurveyError, survey_record_phone

    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    form = PhoneScoreForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("contacts:ticket", pk=ticket.pk)
    try:
        survey_record_phone(
            ticket=ticket,
            by=request.user,
            score=form.cleaned_data["score"],
            comment=form.cleaned_data["comment"],
        )
    except SurveyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Satisfaction score recorded."))
    return redirect("contacts:ticket", pk=ticket.pk)


# --- presence ----------------------------------------------------------------------------------


def _presence_key(ticket_id: int) -> str:
    return f"workspace:presence:{ticket_id}"


def presence_mark(*, ticket_id: int, user, leaving: bool = False) -> dict[int, str]:
    """Refresh (or remove) the user's mark on the ticket; returns the others' names by id."""
    now = time.time()
    key = _presence_key(ticket_id)
    marks = cache.get(key) or {}
    marks = {uid: v for uid, v in marks.items() if now - v[1] < PRESENCE_TTL}
    uid = str(user.pk)
    if leaving:
        marks.pop(uid, None)
    else:
        marks[uid] = (str(user), now)
    cache.set(key, marks, PRESENCE_TTL * 2)
    return {int(other): name for other, (name, _at) in marks.items() if other != uid}


def _still_reading(ticket, others: dict[int, str]) -> list[str]:
    """The names of those marked on the ticket who may still read it: a colleague whose
    access was withdrawn (deactivated, moved off the brand or the level) is no longer shown,
    even while their mark lasts."""
    if not others:
        return []
    users = get_user_model().objects.filter(pk__in=others, is_active=True)
    return sorted(others[u.pk] for u in users if permissions.can(u, "view", ticket))


@login_required
@require_GET
def ticket_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """The htmx fragment polled by the ticket page: colleagues with the ticket open, and
    whether the ticket changed since the page was rendered (`?v=` its version then)."""
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    others = _still_reading(ticket, presence_mark(ticket_id=ticket.pk, user=request.user))
    try:
        seen_version = int(request.GET.get("v", ""))
    except ValueError:
        seen_version = ticket.version
    return render(
        request,
        "contacts/_ticket_presence.html",
        {"ticket": ticket, "others": others, "changed": ticket.version != seen_version},
    )


@login_required
@require_POST
def ticket_presence_leave(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    presence_mark(ticket_id=ticket.pk, user=request.user, leaving=True)
    return HttpResponse(status=204)


# --- files -------------------------------------------------------------------------------------

# Shown in the browser; anything else is downloaded (an HTML or SVG attachment must never run
# in our origin).
INLINE_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff", "text/plain"}
)


def _file_response(file, *, filename: str, content_type: str) -> FileResponse:
    inline = content_type in INLINE_TYPES
    response = FileResponse(
        file.open("rb"),
        as_attachment=not inline,
        filename=filename,
        content_type=content_type if inline else "application/octet-stream",
    )
    # object-src: Chrome shows a PDF through an <embed> of it, refused by default-src 'none'.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def contact_raw(request: HttpRequest, pk: int) -> FileResponse:
    """A contact's raw input: the scan of a letter, the email as received."""
    contact = contact_get_for_user(user=request.user, pk=pk)
    if not contact.raw_file:
        raise Http404
    name = contact.raw_file.name.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content_type = {
        "pdf": "application/pdf",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "tif": "image/tiff",
        "tiff": "image/tiff",
    }.get(ext, "application/octet-stream")
    audit_record(actor=request.user, action="contact.raw", obj=contact, request=request)
    return _file_response(
        contact.raw_file,
        filename=f"{contact.ticket.reference}-{contact.pk}.{ext or 'bin'}",
        content_type=content_type,
    )


# A viewer's email is its own document, framed by the ticket page: it may keep its inline styles
# (its own policy, not the page's), runs nothing, loads nothing but our stylesheet and embedded
# images, and only the CRM may frame it.
MAIL_FRAME_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin"
)


@login_required
@require_GET
@xframe_options_sameorigin
def contact_html(request: HttpRequest, pk: int) -> HttpResponse:
    """An email's sanitised HTML, for the sandboxed frame of the ticket page."""
    contact = contact_get_for_user(user=request.user, pk=pk)
    if not contact.body_html:
        raise Http404
    response = render(request, "contacts/contact_html.html", {"contact": contact})
    response["Content-Security-Policy"] = MAIL_FRAME_POLICY
    return response


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = attachment_get_for_user(user=request.user, pk=pk)
    if not attachment.file:
        raise Http404
    return _file_response(
        attachment.file, filename=attachment.filename, content_type=attachment.content_type
    )
