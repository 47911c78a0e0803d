"""The viewer pages of the staff workspace: search, the viewer's page with their history,
editing details and consents, merging duplicates and undoing a merge.

Every view checks the role first (`accounts.permissions`); the history shows only the
tickets the user may see; merges are audited and undone from their audit record.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.models import AuditEvent

from ..models import Viewer, ViewerEmail
from ..selectors import viewer_card, viewer_get_for_user, viewer_history, viewer_search
from ..services import (
    ViewerDetails,
    ViewerMergeError,
    viewer_consent_record,
    viewer_email_mark_working,
    viewer_merge,
    viewer_merge_undo,
    viewer_update,
)
from ..services.viewers import MERGE_ACTION
from ..workspace_forms import ConsentForm, ViewerForm, ViewerMergeForm


@login_required
@require_GET
def viewer_search_view(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "search_viewers")
    result = viewer_search(user=request.user, query=request.GET.get("q", ""))
    template = "contacts/_viewer_results.html" if request.htmx else "contacts/viewer_search.html"
    return render(request, template, {"result": result})


@login_required
@require_GET
def viewer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    history = viewer_history(user=request.user, viewer=viewer, before=request.GET.get("before"))
    return render(
        request,
        "contacts/viewer_detail.html",
        {
            "viewer": viewer,
            "history": history,
            "card": history.card,
            "can_edit": permissions.can(request.user, "change", viewer),
            "can_merge": permissions.can(request.user, "merge", viewer),
            "consent_form": ConsentForm(),
            "merge_action": MERGE_ACTION,
        },
    )


def _details_initial(viewer: Viewer) -> dict:
    initial = {name: getattr(viewer, name) for name in ViewerDetails.__dataclass_fields__}
    initial["sender_kind"] = viewer.sender_kind
    initial["emails"] = "\n".join(
        viewer.emails.order_by("-is_primary", "email").values_list("email", flat=True)
    )
    initial["phones"] = "\n".join(
        viewer.phones.order_by("-is_primary", "number").values_list("number", flat=True)
    )
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def viewer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "change", viewer)
    if request.method == "POST":
        form = ViewerForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            viewer_update(
                viewer=viewer,
                by=request.user,
                details=ViewerDetails(
                    **{name: d[name] for name in ViewerDetails.__dataclass_fields__}
                ),
                sender_kind=d["sender_kind"],
                emails=d["emails"],
                phones=d["phones"],
                request=request,
            )
            messages.success(request, _("Viewer's details saved."))
            return redirect("contacts:viewer", pk=viewer.pk)
    else:
        form = ViewerForm(initial=_details_initial(viewer))
    return render(request, "contacts/viewer_edit.html", {"viewer": viewer, "form": form})


@login_required
@require_POST
def viewer_consent(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "change", viewer)
    form = ConsentForm(request.POST)
    if form.is_valid():
        viewer_consent_record(
            viewer=viewer,
            kind=form.cleaned_data["kind"],
            granted=form.cleaned_data["granted"],
            source=form.cleaned_data["source"],
            by=request.user,
            request=request,
        )
        messages.success(request, _("Consent recorded."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(f"{reverse('contacts:viewer', args=[viewer.pk])}#consents")


@login_required
@require_POST
def viewer_email_working(request: HttpRequest, pk: int, email_id: int) -> HttpResponse:
    viewer = viewer_get_for_user(user=request.user, pk=pk)
    email = get_object_or_404(ViewerEmail, pk=email_id, viewer=viewer)
    viewer_email_mark_working(email=email, by=request.user)
    messages.success(request, _("%(email)s marked as working.") % {"email": email.email})
    return redirect("contacts:viewer", pk=viewer.pk)


@login_required
@require_http_methods(["GET", "POST"])
def viewer_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another viewer (a duplicate) into this one, after seeing both side by side."""
    target = viewer_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "merge", target)
    form = ViewerMergeForm(request.POST or request.GET or None)
    source = None
    if form.is_bound and form.is_valid():
        source = Viewer.objects.filter(pk=form.cleaned_data["other"]).first()
        if source is None:
            form.add_error("other", _("No viewer has this number."))
    if request.method == "POST" and source is not None and request.POST.get("confirm") == "1":
        try:
            viewer_merge(source=source, target=target, by=request.user, request=request)
        except ViewerMergeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(source)s merged into this viewer. You can undo it from the history below.")
                % {"source": source},
            )
            return redirect("contacts:viewer", pk=target.pk)
    return render(
        request,
        "contacts/viewer_merge.html",
        {
            "target": target,
            "source": source,
            "form": form,
            "target_card": viewer_card(user=request.user, viewer=target, limit=10),
            "source_card": viewer_card(user=request.user, viewer=source, limit=10)
            if source
            else None,
        },
    )


@login_required
@require_POST
def viewer_merge_undo_view(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent, pk=event_id, action=MERGE_ACTION)
    target = viewer_get_for_user(user=request.user, pk=int(event.object_id))
    if not permissions.can(request.user, "merge", target):
        raise PermissionDenied
    try:
        source = viewer_merge_undo(event=event, by=request.user, request=request)
    except ViewerMergeError as exc:
        messages.error(request, str(exc))
        return redirect("contacts:viewer", pk=target.pk)
    messages.success(request, _("Merge undone: %(viewer)s is separate again.") % {"viewer": source})
    return redirect("contacts:viewer", pk=target.pk)
