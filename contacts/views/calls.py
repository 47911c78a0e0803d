"""The call desk: find the caller, see their open tickets, log the call. Built for speed:
one page, a search that answers as the agent types (htmx), keyboard all the way."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import permissions

from ..intake_forms import CallLogForm
from ..intake_selectors import viewer_for_desk, viewer_search_for_desk
from ..models import CallRecord
from ..selectors import ticket_get_for_tracking
from ..services.calls import CallLogInput, call_log
from ..services.intake import SenderIdentity


def _call(call_id: str) -> CallRecord | None:
    if not call_id:
        return None
    return CallRecord.objects.select_related("brand", "viewer").filter(call_id=call_id).first()


def _attach_url(viewer, call: CallRecord | None) -> str:
    """The desk's address with this viewer (and call) chosen: `&ticket=` picks a request."""
    params = {"viewer": viewer.pk, **({"call": call.call_id} if call else {})}
    return "?" + urlencode(params)


@login_required
@require_http_methods(["GET", "POST"])
def call_desk(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "log_call")
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    call = _call(source.get("call", ""))
    query = request.GET.get("q", "").strip()
    if not query and call is not None and request.method == "GET":
        query = call.caller_number

    if request.headers.get("HX-Request") and request.GET.get("partial") == "results":
        results = viewer_search_for_desk(user=user, query=query)
        return render(
            request, "contacts/_call_results.html", {"results": results, "q": query, "call": call}
        )

    viewer = None
    viewer_id = source.get("viewer") or (call.viewer_id if call else None)
    if viewer_id:
        viewer = viewer_for_desk(user=user, pk=viewer_id)

    if request.method == "POST":
        form = CallLogForm(request.POST, user=user)
        if form.is_valid():
            cd = form.cleaned_data
            ticket = None
            if cd.get("ticket"):
                ticket = ticket_get_for_tracking(user=user, pk=cd["ticket"])
            result = call_log(
                by=user,
                data=CallLogInput(
                    brand=cd["brand"],
                    reason=cd["reason"],
                    notes=cd["notes"],
                    outcome=cd["outcome"],
                    programme=cd["programme"],
                    viewer=viewer,
                    new_viewer=None
                    if viewer
                    else SenderIdentity(
                        civility=cd["civility"],
                        first_name=cd["first_name"],
                        last_name=cd["last_name"],
                        email=cd["email"],
                        phone=cd["phone"],
                        postcode=cd["postcode"],
                    ),
                    ticket=ticket,
                    call=call,
                ),
            )
            messages.success(
                request,
                _("Call logged on ticket %(ref)s (%(status)s).")
                % {"ref": result.ticket.reference, "status": result.ticket.get_status_display()},
            )
            return redirect("contacts:call_log")
        status = 400
    else:
        initial = {"outcome": "resolved", "call": call.call_id if call else ""}
        if call is not None:
            initial["phone"] = call.caller_number
            if call.brand_id:
                initial["brand"] = call.brand_id
        if viewer is not None:
            initial["viewer"] = viewer.pk
        form = CallLogForm(initial=initial, user=user)
        status = 200
    results = viewer_search_for_desk(user=user, query=query) if query and viewer is None else []
    selected_ticket = str(source.get("ticket") or "")
    open_tickets = getattr(viewer, "open_tickets", []) if viewer else []
    chosen = next((t for t in open_tickets if str(t.pk) == selected_ticket), None)
    return render(
        request,
        "contacts/call_log.html",
        {
            "form": form,
            "viewer": viewer,
            "call": call,
            "q": query,
            "results": results,
            "selected_ticket": selected_ticket if chosen else "",
            "chosen_ticket": chosen,
            "open_tickets": open_tickets,
            "attach_url": _attach_url(viewer, call) if viewer else "",
        },
        status=status,
    )
