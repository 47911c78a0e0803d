"""Pages of the replies: the reply box's endpoints on the ticket page (send, preview,
template search and fill, retry), the response templates library, one's signatures, and the
mailroom's print batches of reply letters.

One role check at the top of each view; tickets fetched with `ticket_get_for_user` (404
outside the user's scope); writes through `replies.services`.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from contacts.models import Contact, Outcome, Status
from contacts.selectors import ticket_get_for_user
from contacts.services import InvalidTransition, StaleTicket, ticket_change_status
from contacts.services.viewers import fold

from . import services
from .forms import PreviewForm, ReplyForm, SignatureForm, TemplateForm
from .models import PrintBatch, ReplyChannel, ResponseTemplate, ResponseTemplateVersion


def reply_channels(*, email_to: str, address: list[str]) -> list[dict]:
    """The reply box's channel choices, each saying where the reply would go."""
    return [
        {
            "value": ReplyChannel.EMAIL,
            "label": ReplyChannel.EMAIL.label,
            "available": bool(email_to),
            "detail": email_to or _("no working email address"),
        },
        {
            "value": ReplyChannel.LETTER,
            "label": ReplyChannel.LETTER.label,
            "available": bool(address),
            "detail": ", ".join(address[1:]) if address else _("postal address incomplete"),
        },
    ]


def _ticket_page(request, ticket, **kwargs) -> HttpResponse:
    from contacts.views.tickets import render_ticket_page

    return render_ticket_page(request, ticket, **kwargs)


def _draft(data) -> dict:
    return {
        "channel": data.get("channel", ""),
        "subject": data.get("subject", ""),
        "body": data.get("body", ""),
        "template": data.get("template", ""),
    }


@login_required
@require_POST
def reply_send(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        if str(request.POST.get("version")) != str(ticket.version):
            return _ticket_page(
                request,
                ticket,
                status=409,
                reply=_draft(request.POST),
                stale=str(StaleTicket(ticket)),
            )
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _ticket_page(request, ticket, status=400, reply=_draft(request.POST))
    data = form.cleaned_data
    template = (
        services.template_get_for_ticket(pk=data["template"], ticket=ticket)
        if data.get("template")
        else None
    )
    try:
        contact = services.reply_send(
            ticket=ticket,
            by=request.user,
            channel=data["channel"],
            subject=data["subject"],
            body=data["body"],
            template=template,
            expected_version=data["version"],
        )
    except StaleTicket as exc:
        fresh = ticket_get_for_user(user=request.user, pk=ticket.pk)
        return _ticket_page(request, fresh, status=409, reply=_draft(request.POST), stale=str(exc))
    except services.ReplyError as exc:
        messages.error(request, str(exc))
        return _ticket_page(request, ticket, status=400, reply=_draft(request.POST))
    if contact.channel == ReplyChannel.EMAIL:
        messages.success(
            request,
            _("Reply recorded: it will be sent to %(to)s; the thread shows when it is.")
            % {"to": contact.meta.get("to")},
        )
    else:
        messages.success(request, _("Letter ready: it goes into the mailroom's next print batch."))
    _then(request, ticket, data.get("then", ""))
    return redirect(f"{reverse('contacts:ticket', args=[ticket.pk])}#contact-{contact.pk}")


def _then(request: HttpRequest, ticket, then: str) -> None:
    """After the reply: wait for the viewer, or resolve (the survey follows)."""
    if not then:
        return
    from satisfaction.services import survey_send_for

    try:
        if then == "waiting_viewer":
            ticket_change_status(
                ticket=ticket,
                to=Status.WAITING_VIEWER,
                by=request.user,
                expected_version=ticket.version,
            )
        elif then == "resolve":
            resolved = ticket_change_status(
                ticket=ticket,
                to=Status.RESOLVED,
                by=request.user,
                outcome=Outcome.ANSWERED,
                expected_version=ticket.version,
            )
            if survey_send_for(ticket=resolved) is not None:
                messages.info(request, _("A satisfaction survey is on its way to the viewer."))
    except (InvalidTransition, StaleTicket) as exc:
        messages.warning(request, str(exc))


@login_required
@require_POST
def reply_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the reply as the viewer will receive it."""
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    preview = services.reply_preview(
        ticket=ticket,
        by=request.user,
        channel=form.cleaned_data["channel"],
        subject=form.cleaned_data["subject"],
        body=form.cleaned_data["body"],
    )
    letter_url = ""
    if preview.letter_html:
        # The letter is its own document (its print styles inline), framed from a short-lived
        # copy: inside the page, the page's Content-Security-Policy would refuse its styles.
        token = secrets.token_urlsafe(16)
        cache.set(
            f"letter-preview:{token}",
            {"user": request.user.pk, "ticket": ticket.pk, "html": preview.letter_html},
            LETTER_PREVIEW_SECONDS,
        )
        letter_url = reverse("replies:letter_preview", args=[ticket.pk, token])
    return render(
        request,
        "replies/_preview.html",
        {"preview": preview, "ticket": ticket, "letter_url": letter_url},
    )


LETTER_PREVIEW_SECONDS = 30 * 60
# The previewed letter runs nothing and loads nothing but its own styles and embedded images;
# only the CRM may frame it.
LETTER_PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)


@login_required
@require_GET
@xframe_options_sameorigin
def letter_preview(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The letter of the reply box's last preview, for the preview's sandboxed frame."""
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    kept = cache.get(f"letter-preview:{token}")
    if not kept or kept["user"] != request.user.pk or kept["ticket"] != ticket.pk:
        raise Http404
    response = HttpResponse(kept["html"])
    response["Content-Security-Policy"] = LETTER_PREVIEW_POLICY
    return response


@login_required
@require_GET
def template_search(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: templates matching the words typed in the reply box."""
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    channel = request.GET.get("channel", "")
    if channel not in ReplyChannel.values:
        channel = ""
    found = list(
        services.templates_for_ticket(
            ticket=ticket, channel=channel, query=request.GET.get("q", "")
        )
    )
    return render(
        request,
        "replies/_template_results.html",
        {"templates": found, "ticket": ticket, "query": request.GET.get("q", "")},
    )


@login_required
@require_GET
def template_fill(request: HttpRequest, pk: int, template_id: int) -> HttpResponse:
    """htmx: the reply box's subject and text, filled from a template (then editable)."""
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, "work", ticket)
    template = services.template_get_for_ticket(pk=template_id, ticket=ticket)
    if template is None:
        raise Http404
    filled = services.template_render(template=template, ticket=ticket, by=request.user)
    response = render(
        request,
        "replies/_reply_fields.html",
        {
            "reply": {"subject": filled.subject, "body": filled.body, "template": template.pk},
            "template": template,
            "unknown": filled.unknown,
            "ticket": ticket,
        },
    )
    # The reply box refreshes its preview when the fields are filled.
    response["HX-Trigger-After-Settle"] = "reply-filled"
    return response


@login_required
@require_POST
def reply_retry(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("ticket"), pk=contact_id)
    ticket = ticket_get_for_user(user=request.user, pk=contact.ticket_id)
    try:
        services.reply_retry(contact=contact, by=request.user)
    except services.ReplyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The email will be sent again."))
    return redirect(f"{reverse('contacts:ticket', args=[ticket.pk])}#contact-{contact.pk}")


# --- the templates library ---------------------------------------------------------------------


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "manage_templates")
    query = request.GET.get("q", "")
    qs = ResponseTemplate.objects.select_related("brand", "updated_by").order_by(
        "-is_active", "topic", "title"
    )
    for word in fold(query).split()[:6]:
        qs = qs.filter(search_text__contains=word)
    return render(
        request,
        "replies/template_list.html",
        {"templates": list(qs[:300]), "query": query, "variables": services.VARIABLES},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "manage_templates")
    template = get_object_or_404(ResponseTemplate, pk=pk) if pk else None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                saved = services.template_save(
                    by=request.user,
                    template=template,
                    data=services.TemplateData(
                        title=d["title"],
                        body=d["body"],
                        subject=d["subject"],
                        topic=d["topic"],
                        brand=d["brand"],
                        channel=d["channel"],
                        is_active=d["is_active"],
                    ),
                )
            except services.TemplateError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Template saved (version %(v)s).") % {"v": saved.version},
                )
                return redirect("replies:template_list")
    elif template is not None:
        form = TemplateForm(
            initial={
                "title": template.title,
                "topic": template.topic,
                "brand": template.brand_id,
                "channel": template.channel,
                "subject": template.subject,
                "body": template.body,
                "is_active": template.is_active,
            }
        )
    else:
        form = TemplateForm()
    versions = (
        list(
            ResponseTemplateVersion.objects.filter(template=template)
            .select_related("saved_by")
            .order_by("-version")[:30]
        )
        if template
        else []
    )
    return render(
        request,
        "replies/template_form.html",
        {"form": form, "template": template, "versions": versions, "variables": services.VARIABLES},
    )


@login_required
@require_http_methods(["GET", "POST"])
def signatures(request: HttpRequest) -> HttpResponse:
    """One's own signature per brand (the `{{ signature }}` of the templates)."""
    from contacts.intake_forms import brands_for

    if not permissions.can(request.user, "view_queue"):
        raise PermissionDenied
    brands = brands_for(request.user).filter(parent__isnull=True)
    if request.method == "POST":
        form = SignatureForm(request.POST, brands=brands)
        if form.is_valid():
            services.signature_set(
                user=request.user, brand=form.cleaned_data["brand"], text=form.cleaned_data["text"]
            )
            messages.success(request, _("Signature saved."))
            return redirect("replies:signatures")
    rows = [
        {"brand": b, "text": services.signature_for(user=request.user, brand=b)} for b in brands
    ]
    return render(request, "replies/signatures.html", {"rows": rows})


# --- the mailroom's print batches --------------------------------------------------------------


@login_required
@require_GET
def print_queue(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "print_letters")
    waiting = list(services.letters_to_print()[:500])
    batches = list(
        PrintBatch.objects.select_related("created_by", "posted_by").order_by("-created_at")[:30]
    )
    return render(request, "replies/print_queue.html", {"waiting": waiting, "batches": batches})


@login_required
@require_POST
def print_batch_create(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "print_letters")
    batch = services.print_batch_create(by=request.user)
    if batch is None:
        messages.info(request, _("No letter is waiting to be printed."))
        return redirect("replies:print_queue")
    messages.success(
        request,
        _("Print batch %(n)s prepared: %(count)s letter(s).")
        % {"n": batch.pk, "count": batch.letter_count},
    )
    return redirect("replies:print_batch", pk=batch.pk)


@login_required
@require_GET
def print_batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "print_letters")
    batch = get_object_or_404(
        PrintBatch.objects.select_related("created_by", "posted_by").prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.select_related("ticket__brand"))
        ),
        pk=pk,
    )
    letters = sorted(batch.contacts.all(), key=lambda c: (c.occurred_at, c.pk))
    return render(request, "replies/print_batch.html", {"batch": batch, "letters": letters})


@login_required
@require_GET
def print_batch_pdf(request: HttpRequest, pk: int) -> FileResponse:
    permissions.require(request.user, "print_letters")
    batch = get_object_or_404(PrintBatch, pk=pk)
    if not batch.pdf:
        raise Http404
    return FileResponse(
        batch.pdf.open("rb"),
        content_type="application/pdf",
        filename=batch.pdf.name.rsplit("/", 1)[-1],
    )


@login_required
@require_POST
def print_batch_posted(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "print_letters")
    batch = get_object_or_404(PrintBatch, pk=pk)
    count = services.print_batch_mark_posted(batch=batch, by=request.user)
    messages.success(request, _("%(count)s letter(s) marked as posted.") % {"count": count})
    return redirect("replies:print_batch", pk=batch.pk)
