"""The data-lifecycle pages: a viewer's rights (from the viewer card or a GDPR ticket), the
requests and their deadlines, the retention policy and its runs, the register; and the two
public pages reached by signed links (the file download, the unsubscribe page).

Each view checks `privacy.policy` first; POSTs call one service each.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.selectors import ticket_get_for_user, viewer_get_for_user

from . import policy, selectors
from .forms import CloseForm, ExtendForm, HoldForm, RetentionRuleForm
from .models import LegalHold, PrivacyRequest, RequestKind, RetentionRule, RetentionRun
from .services import access, consent, holds, requests, retention
from .services.erasure import erasure_blockers


def _viewer_for(request: HttpRequest, pk: int):
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    policy.require(request.user, "handle", viewer)
    return viewer


def _ticket_from(request: HttpRequest):
    pk = request.POST.get("ticket") or request.GET.get("ticket")
    if not pk or not str(pk).isdigit():
        return None
    return ticket_get_for_user(user=request.user, pk=int(pk))


@login_required
@require_GET
def viewer_rights(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer_for(request, pk)
    return render(
        request,
        "privacy/viewer.html",
        {
            "viewer": viewer,
            "ticket": _ticket_from(request),
            "requests": selectors.viewer_requests(viewer=viewer),
            "blockers": [] if viewer.is_anonymised else erasure_blockers(viewer_id=viewer.pk),
            "holds": LegalHold.objects.filter(viewer=viewer).select_related("placed_by"),
            "may_manage": policy.can(request.user, "manage"),
            "hold_form": HoldForm(),
        },
    )


def _back(privacy_request: PrivacyRequest):
    return redirect("privacy:request", pk=privacy_request.pk)


@login_required
@require_POST
def access_start(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer_for(request, pk)
    try:
        obj = access.access_request(
            viewer=viewer, by=request.user, ticket=_ticket_from(request), request=request
        )
    except requests.RequestError as exc:
        messages.error(request, str(exc))
        return redirect("privacy:viewer", pk=viewer.pk)
    messages.success(request, _("The viewer's file is being prepared."))
    return _back(obj)


@login_required
@require_POST
def erasure_start(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer_for(request, pk)
    try:
        obj = requests.erasure_request(
            viewer=viewer, by=request.user, ticket=_ticket_from(request), request=request
        )
    except requests.RequestError as exc:
        messages.error(request, str(exc))
        return redirect("privacy:viewer", pk=viewer.pk)
    if obj.state == "refused":
        messages.error(request, obj.outcome)
    else:
        messages.success(request, _("Erasure requested: another manager must confirm it."))
    return _back(obj)


@login_required
@require_POST
def objection(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer_for(request, pk)
    source = (request.POST.get("source") or "").strip() or "staff"
    try:
        obj = consent.objection_record(
            viewer=viewer,
            by=request.user,
            source=source,
            ticket=_ticket_from(request),
            request=request,
        )
    except requests.RequestError as exc:
        messages.error(request, str(exc))
        return redirect("privacy:viewer", pk=viewer.pk)
    messages.success(request, obj.outcome)
    return redirect("privacy:viewer", pk=viewer.pk)


@login_required
@require_POST
def hold_place(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "manage")
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    form = HoldForm(request.POST)
    if form.is_valid():
        holds.legal_hold_place(
            viewer=viewer,
            kind=form.cleaned_data["kind"],
            reason=form.cleaned_data["reason"],
            by=request.user,
            request=request,
        )
        messages.success(request, _("Hold recorded: the viewer's data will not be erased."))
    return redirect("privacy:viewer", pk=viewer.pk)


@login_required
@require_POST
def hold_lift(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "manage")
    hold = get_object_or_404(LegalHold.objects.select_related("viewer"), pk=pk)
    holds.legal_hold_lift(hold=hold, by=request.user, request=request)
    messages.success(request, _("Hold lifted."))
    return redirect("privacy:viewer", pk=hold.viewer_id)


@login_required
@require_GET
def viewer_audit_csv(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    events = selectors.viewer_audit_events(user=request.user, viewer=viewer)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="journal-acces-{viewer.pk}.csv"'
    response.write("\ufeff")  # Excel reads UTF-8 with its byte-order mark
    writer = csv.writer(response, delimiter=";")
    writer.writerow([_("Date"), _("Staff"), _("Action"), _("Object"), _("Details"), _("IP")])
    for e in events.iterator():
        writer.writerow(
            [
                timezone.localtime(e.at).strftime("%d/%m/%Y %H:%M:%S"),
                e.actor.username if e.actor else "",
                e.action,
                f"{e.object_type}:{e.object_id}",
                e.data,
                e.ip_address or "",
            ]
        )
    from accounts.services import audit_record

    audit_record(actor=request.user, action="privacy.audit_export", obj=viewer, request=request)
    return response


# --- requests ----------------------------------------------------------------------------------


@login_required
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    state = "all" if request.GET.get("state") == "all" else "open"
    page = selectors.privacy_requests_list(user=request.user, state=state)
    return render(request, "privacy/requests.html", {"page": page})


@login_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = selectors.privacy_request_get_for_user(user=request.user, pk=pk)
    user = request.user
    ctx = {
        "req": obj,
        "may_handle": policy.can(user, "handle", obj.viewer),
        "may_confirm": obj.kind == RequestKind.ERASURE
        and obj.state == "requested"
        and policy.can(user, "confirm_erasure", obj.viewer, obj),
        "may_release": obj.kind == RequestKind.ACCESS
        and obj.is_open
        and policy.can(user, "release_mediation_notes")
        and obj.mediation_notes_released_at is None,
        "extend_form": ExtendForm(),
        "close_form": CloseForm(),
        "blockers": []
        if obj.viewer.is_anonymised or not obj.is_open
        else erasure_blockers(viewer_id=obj.viewer_id),
    }
    if obj.state == "ready" and ctx["may_handle"]:
        ctx["zip_url"] = access.access_download_url(privacy_request=obj, which="zip")
        ctx["pdf_url"] = access.access_download_url(privacy_request=obj, which="pdf")
        ctx["expires_at"] = access.access_expires_at(obj)
    return render(request, "privacy/request.html", ctx)


def _request_action(request: HttpRequest, pk: int, action) -> HttpResponse:
    obj = selectors.privacy_request_get_for_user(user=request.user, pk=pk)
    try:
        message = action(obj)
    except requests.RequestError as exc:
        messages.error(request, str(exc))
    else:
        if message:
            messages.success(request, message)
    return _back(obj)


@login_required
@require_POST
def request_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    def confirm(obj):
        obj = requests.erasure_confirm(privacy_request=obj, by=request.user, request=request)
        if obj.state == "refused":
            raise requests.RequestError(obj.outcome)
        return obj.outcome

    return _request_action(request, pk, confirm)


@login_required
@require_POST
def request_extend(request: HttpRequest, pk: int) -> HttpResponse:
    form = ExtendForm(request.POST)

    def extend(obj):
        if not form.is_valid():
            raise requests.RequestError(_("Say why the answer needs more time."))
        requests.privacy_request_extend(
            privacy_request=obj,
            by=request.user,
            months=form.cleaned_data["months"],
            reason=form.cleaned_data["reason"],
            request=request,
        )
        return _("Deadline extended.")

    return _request_action(request, pk, extend)


@login_required
@require_POST
def request_close(request: HttpRequest, pk: int) -> HttpResponse:
    form = CloseForm(request.POST)

    def close(obj):
        if not form.is_valid():
            raise requests.RequestError(_("Say what was done."))
        requests.privacy_request_close(
            privacy_request=obj,
            by=request.user,
            outcome=form.cleaned_data["outcome"],
            request=request,
        )
        return _("Request closed.")

    return _request_action(request, pk, close)


@login_required
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    def cancel(obj):
        requests.erasure_cancel(privacy_request=obj, by=request.user, request=request)
        return _("Erasure request cancelled.")

    return _request_action(request, pk, cancel)


@login_required
@require_POST
def request_release_notes(request: HttpRequest, pk: int) -> HttpResponse:
    def release(obj):
        access.mediation_notes_release(privacy_request=obj, by=request.user, request=request)
        return _("Your confidential notes will be part of the viewer's file.")

    return _request_action(request, pk, release)


# --- public: the file download, the unsubscribe page -------------------------------------------


@never_cache
@require_GET
def download(request: HttpRequest, token: str) -> HttpResponse:
    """The viewer's file by its signed link: works without login (the link is what is sent
    to the viewer); every download is audited, with the member of staff when logged in."""
    try:
        obj, stored, name = access.access_download(token=token, user=request.user, request=request)
    except requests.RequestError as exc:
        return render(request, "privacy/link_invalid.html", {"message": str(exc)}, status=404)
    response = FileResponse(stored.open("rb"), as_attachment=True, filename=name)
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie or token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        viewer, purpose = consent.unsubscribe_from_token(token=token)
    except consent.UnsubscribeError as exc:
        return render(request, "privacy/link_invalid.html", {"message": str(exc)}, status=404)
    if request.method == "POST":
        consent.unsubscribe(token=token, request=request)
        return render(request, "privacy/unsubscribed.html", {"purpose": purpose})
    return render(request, "privacy/unsubscribe.html", {"purpose": purpose})


# --- retention and the register ----------------------------------------------------------------


@login_required
@require_GET
def retention_page(request: HttpRequest) -> HttpResponse:
    runs = selectors.retention_runs(user=request.user)
    return render(
        request,
        "privacy/retention.html",
        {
            "rules": [
                (r, RetentionRuleForm(initial={"days": r.days, "note": r.note}))
                for r in RetentionRule.objects.all()
            ],
            "runs": runs,
            "steps": retention.STEPS,
        },
    )


@login_required
@require_POST
def retention_rule(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "manage")
    rule = get_object_or_404(RetentionRule, pk=pk)
    form = RetentionRuleForm(request.POST)
    if form.is_valid():
        retention.retention_rule_update(
            rule=rule,
            days=form.cleaned_data["days"],
            note=form.cleaned_data["note"] or "",
            by=request.user,
        )
        messages.success(request, _("Retention rule saved."))
    else:
        messages.error(request, _("The number of days is not valid."))
    return redirect("privacy:retention")


@login_required
@require_POST
def retention_dry_run(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "manage")
    run = retention.retention_run(dry_run=True, by=request.user)
    return redirect("privacy:run", pk=run.pk)


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "manage")
    run = get_object_or_404(RetentionRun, pk=pk)
    return render(request, "privacy/run.html", {"run": run, "steps": retention.STEPS})


@login_required
@require_GET
def register_page(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/register.html", selectors.register(user=request.user))
