"""The quarantine page: managers see what the intake held, retry it or discard it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.services import audit_record

from ..intake_selectors import quarantine_get_for_user, quarantine_list
from ..models import QuarantineItem
from ..services.quarantine import quarantine_discard, quarantine_retry

PREVIEW_BYTES = 20_000


@login_required
@require_GET
def quarantine_index(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "view_quarantine")
    state = request.GET.get("state", QuarantineItem.State.HELD)
    if state not in QuarantineItem.State.values:
        state = QuarantineItem.State.HELD
    items = list(quarantine_list(user=request.user, state=state)[:200])
    return render(
        request,
        "contacts/quarantine.html",
        {
            "items": items,
            "state": state,
            "states": QuarantineItem.State.choices,
            "can_manage": permissions.can(request.user, "manage_quarantine"),
        },
    )


@login_required
@require_GET
def quarantine_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = quarantine_get_for_user(user=request.user, pk=pk)
    with item.raw_file.open("rb") as fh:
        head = fh.read(PREVIEW_BYTES)
    return render(
        request,
        "contacts/quarantine_item.html",
        {
            "item": item,
            "preview": head.decode("utf-8", errors="replace"),
            "truncated": item.size > PREVIEW_BYTES,
            "can_manage": permissions.can(request.user, "manage_quarantine"),
        },
    )


@login_required
@require_GET
def quarantine_raw(request: HttpRequest, pk: int) -> FileResponse:
    item = quarantine_get_for_user(user=request.user, pk=pk)
    audit_record(actor=request.user, action="quarantine.download", obj=item, request=request)
    ext = item.raw_file.name.rsplit(".", 1)[-1]
    return FileResponse(
        item.raw_file.open("rb"),
        as_attachment=True,
        filename=f"quarantine-{item.pk}.{ext}",
        content_type="application/octet-stream",
    )


@login_required
@require_POST
def quarantine_action(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "manage_quarantine")
    item = quarantine_get_for_user(user=request.user, pk=pk)
    action = request.POST.get("action")
    if action == "retry":
        item = quarantine_retry(item=item, by=request.user)
        if item.state == QuarantineItem.State.RELEASED:
            messages.success(request, _("Released: the contact was created."))
        else:
            messages.error(request, _("Still held: %(reason)s") % {"reason": item.reason})
    elif action == "discard":
        quarantine_discard(item=item, by=request.user, note=request.POST.get("note", ""))
        messages.success(request, _("Discarded. The raw input is kept."))
    else:
        messages.error(request, _("Unknown action."))
    return redirect("contacts:quarantine_item", pk=item.pk)
