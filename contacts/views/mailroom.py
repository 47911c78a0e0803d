"""The mailroom: upload the day's scans, check what the OCR proposes, register each letter."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions

from ..intake_forms import LetterRegisterForm, ScanUploadForm
from ..intake_selectors import letter_scan_get_for_user, letter_scans_to_register
from ..models import LetterScan, Viewer
from ..selectors import ticket_get_for_user
from ..services.intake import SenderIdentity
from ..services.letters import (
    LetterRegistration,
    ScanRejected,
    letter_batch_upload,
    letter_register,
    letter_scan_ocr_retry,
    read_upload,
)
from ..services.viewers import fold, normalise_email, normalise_phone


@login_required
@require_http_methods(["GET", "POST"])
def mailroom(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "register_letters")
    status = 200
    if request.method == "POST":
        form = ScanUploadForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            cd = form.cleaned_data
            try:
                uploads = [read_upload(f, max_bytes=settings.MAX_UPLOAD_BYTES) for f in cd["files"]]
                batch = letter_batch_upload(
                    by=request.user,
                    brand=cd["brand"],
                    uploads=uploads,
                    one_letter=cd["mode"] == "one",
                    split=cd["split"],
                    note=cd["note"],
                )
            except ScanRejected as exc:
                form.add_error("files", str(exc))
                status = 400
            else:
                count = batch.scans.count()
                messages.success(
                    request,
                    _("%(count)s letter(s) uploaded; reading them now.") % {"count": count},
                )
                return redirect("contacts:mailroom")
        else:
            status = 400
    else:
        form = ScanUploadForm(user=request.user)
    scans = list(letter_scans_to_register(user=request.user)[:200])
    template = (
        "contacts/_mailroom_list.html"
        if request.htmx and request.GET.get("partial")
        else "contacts/mailroom.html"
    )
    return render(
        request,
        template,
        {
            "form": form,
            "scans": scans,
            "pending": any(s.state == LetterScan.State.PENDING for s in scans),
        },
        status=status,
    )


def _candidates(initial: dict) -> list[Viewer]:
    """Viewers the proposed sender may be: same email, phone, or name and postcode."""
    q = Q()
    if initial.get("email"):
        q |= Q(emails__email=normalise_email(initial["email"]))
    phone = normalise_phone(initial.get("phone", ""))
    if phone:
        q |= Q(phones__number=phone)
    if initial.get("last_name") and initial.get("postcode"):
        q |= Q(last_name__iexact=initial["last_name"], postcode=initial["postcode"])
    elif initial.get("last_name"):
        q |= Q(search_text__contains=fold(initial["last_name"]))
    if not q:
        return []
    return list(
        Viewer.objects.filter(q, merged_into__isnull=True)
        .distinct()
        .prefetch_related("emails")
        .order_by("last_name", "id")[:10]
    )


@login_required
@require_http_methods(["GET", "POST"])
def mailroom_letter(request: HttpRequest, pk: int) -> HttpResponse:
    scan = letter_scan_get_for_user(user=request.user, pk=pk)
    if scan.state == LetterScan.State.REGISTERED:
        messages.info(request, _("This letter is already registered."))
        return redirect("contacts:mailroom")
    status = 200
    if request.method == "POST":
        form = LetterRegisterForm(request.POST, user=request.user)
        if form.is_valid():
            cd = form.cleaned_data
            viewer = None
            if cd.get("viewer"):
                viewer = Viewer.objects.filter(pk=cd["viewer"], merged_into__isnull=True).first()
            result = letter_register(
                scan=scan,
                by=request.user,
                data=LetterRegistration(
                    brand=cd["brand"],
                    sender=SenderIdentity(
                        civility=cd["civility"],
                        first_name=cd["first_name"],
                        last_name=cd["last_name"],
                        email=cd["email"],
                        phone=cd["phone"],
                        postcode=cd["postcode"],
                        address_line1=cd["address_line1"],
                        address_line2=cd["address_line2"],
                        city=cd["city"],
                    ),
                    subject=cd["subject"],
                    body=cd["body"],
                    viewer=viewer,
                    programme=cd["programme"],
                    ticket=ticket_get_for_user(user=request.user, pk=int(request.POST["ticket"]))
                    if request.POST.get("ticket", "").isdigit()
                    else None,
                ),
            )
            messages.success(
                request,
                _("Letter registered on ticket %(ref)s.") % {"ref": result.ticket.reference},
            )
            nxt = letter_scans_to_register(user=request.user).exclude(pk=scan.pk).first()
            if nxt is not None:
                return redirect("contacts:mailroom_letter", pk=nxt.pk)
            return redirect("contacts:mailroom")
        status = 400
        initial = form.data
    else:
        initial = {k: v for k, v in (scan.proposed or {}).items() if v}
        initial["body"] = scan.ocr_text
        initial["subject"] = _("Letter")
        if scan.batch.brand_id:
            initial["brand"] = scan.batch.brand_id
        form = LetterRegisterForm(initial=initial, user=request.user)
    candidates = _candidates(dict(initial.items()) if hasattr(initial, "items") else {})
    return render(
        request,
        "contacts/mailroom_letter.html",
        {"scan": scan, "form": form, "candidates": candidates},
        status=status,
    )


# The scan is shown in a frame of the letter's page: framed by the CRM only, and Chrome's PDF
# viewer (an <embed> of the PDF in its own document) needs object-src.
SCAN_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; "
    "frame-ancestors 'self'"
)


@login_required
@require_GET
@xframe_options_sameorigin
def mailroom_scan_file(request: HttpRequest, pk: int) -> FileResponse:
    scan = letter_scan_get_for_user(user=request.user, pk=pk)
    response = FileResponse(
        scan.file.open("rb"), content_type=scan.content_type, filename=scan.original_filename
    )
    response["Content-Security-Policy"] = SCAN_POLICY
    return response


@login_required
@require_POST
def mailroom_ocr_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Read a letter waiting for OCR (or whose OCR failed) again. Mailroom and managers."""
    scan = letter_scan_get_for_user(user=request.user, pk=pk)
    if letter_scan_ocr_retry(scan=scan, by=request.user):
        messages.success(request, _("The letter is being read again."))
        return redirect("contacts:mailroom")
    messages.info(request, _("This letter is not waiting for OCR."))
    return redirect("contacts:mailroom_letter", pk=scan.pk)
