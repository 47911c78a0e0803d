"""The mediators' screens (and managers' read-only window): desk, case file, notes, requests
for comment, opinion editor, review, publication, the answer to every viewer, moderation,
yearly figures, the audit log.

Each view: one policy check at the top, a selector for what it shows (404 for what the user
must not see), a service for what it changes.
"""

from __future__ import annotations

import csv
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.services import audit_record
from contacts.selectors import ticket_get_for_user
from outbox.selectors import messages_by_cause

from .. import selectors, services
from ..forms import (
    AssignForm,
    CaseEditForm,
    CaseForm,
    CloseForm,
    CommentRequestForm,
    EvidenceForm,
    ModerateForm,
    NoteForm,
    OpinionForm,
    ReopenForm,
    ReplyForm,
    ReviewForm,
    TicketSearchForm,
)
from ..models import Case, CommentRequest, ConfidentialNote, Opinion, OpinionComment

ATTACH_ALL_LIMIT = 5000


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _case_to_change(request: HttpRequest, pk: int) -> Case:
    """The case for a POST that changes it: 404 for those who may not read it, 403 for
    readers who may not change it (managers). Not audited as a read: the change is."""
    case = selectors.case_get_for_user(user=request.user, pk=pk, audit=False)
    permissions.require(request.user, "change", case)
    return case


def _back(case: Case, anchor: str = "") -> HttpResponse:
    return redirect(f"{_case_url(case)}{'#' + anchor if anchor else ''}")


def _case_url(case: Case) -> str:
    from django.urls import reverse

    return reverse("mediation:case", args=[case.pk])


# --- desk and overview -------------------------------------------------------------------------


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "mediation_desk")
    data = selectors.desk_for_user(user=request.user)
    return render(
        request,
        "mediation/desk.html",
        {"desk": data, "today": timezone.localdate(), "year": timezone.localdate().year},
    )


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Managers' window: opinions waiting for their review, open cases, figures, audit log."""
    permissions.require(request.user, "mediation_overview")
    return render(
        request,
        "mediation/overview.html",
        {
            "to_review": list(selectors.opinions_to_review(user=request.user)),
            "open_cases": list(selectors.case_list(user=request.user)[:200]),
            "today": timezone.localdate(),
            "year": timezone.localdate().year,
        },
    )


# --- case files --------------------------------------------------------------------------------


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "add", Case())
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_open(by=request.user, **data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            return _back(case)
    return render(request, "mediation/case_form.html", {"form": form, "case": None})


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, pk=pk, request=request)
    user = request.user
    can_change = permissions.can(user, "change", case)
    opinion = selectors.case_opinion(case=case)
    links = list(selectors.case_tickets(case=case))
    context = {
        "case": case,
        "can_change": can_change,
        "notes": selectors.case_notes_for_user(user=user, case=case, request=request),
        "links": links,
        "ticket_count": case.links.count() if len(links) >= 200 else len(links),
        "evidence": list(selectors.case_evidence(case=case)),
        "requests": list(selectors.case_comment_requests(case=case)),
        "timeline": list(selectors.case_timeline(case=case)),
        "opinion": opinion,
        "can_review": opinion is not None and permissions.can(user, "review", opinion),
        "can_read_audit": permissions.can(user, "view_audit"),
        "today": timezone.localdate(),
    }
    if can_change:
        context.update(
            assign_form=AssignForm(initial={"mediator": case.mediator_id}),
            close_form=CloseForm(),
            reopen_form=ReopenForm(),
            evidence_form=EvidenceForm(),
            note_form=NoteForm(),
        )
    # The delivery state of each request's emails (request, reminder), in one query.
    context["request_mails"] = messages_by_cause(
        model=CommentRequest, ids=[r.pk for r in context["requests"]]
    )
    return render(request, "mediation/case_detail.html", context)


@login_required
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    initial = {
        "title": case.title,
        "brand": case.brand_id,
        "programme": case.programme_id,
        "air_date": case.air_date,
        "topic": case.topic,
        "summary": case.summary,
        "due_on": case.due_on,
    }
    form = CaseEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.case_update(case=case, by=request.user, **form.cleaned_data)
        messages.success(request, _("Case updated."))
        return _back(case)
    return render(request, "mediation/case_form.html", {"form": form, "case": case})


@login_required
@require_POST
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.case_assign(case=case, to=form.cleaned_data["mediator"], by=request.user)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Mediator in charge changed."))
    return _back(case)


@login_required
@require_POST
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A case closes only with an outcome."))
        return _back(case, "close")
    try:
        services.case_close(case=case, by=request.user, outcome=form.cleaned_data["outcome"])
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Case closed."))
    return _back(case)


@login_required
@require_POST
def case_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.case_reopen(case=case, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _errors(request, exc)
    return _back(case)


def _search(form: TicketSearchForm) -> dict:
    data = form.cleaned_data
    return {
        "programme_id": data["programme"].pk if data["programme"] else None,
        "brand_id": data["brand"].pk if data["brand"] else None,
        "received_from": data["received_from"],
        "received_to": data["received_to"],
        "keywords": data["keywords"],
    }


@login_required
def case_tickets(request: HttpRequest, pk: int) -> HttpResponse:
    """Gather tickets: search by programme, brand, dates and keywords, then attach the ticked
    ones or every match (a controversial report brings hundreds)."""
    case = _case_to_change(request, pk)
    if request.method == "POST":
        if request.POST.get("all_matching"):
            form = TicketSearchForm(request.POST)
            if not form.is_valid():
                raise Http404
            ids = list(
                selectors.ticket_search_for_case(user=request.user, **_search(form))
                .filter(in_open_case=False)
                .values_list("pk", flat=True)[:ATTACH_ALL_LIMIT]
            )
        else:
            ids = [int(v) for v in request.POST.getlist("ticket") if v.isdigit()]
            # Only tickets the mediator may see: the selector's scope, not the posted ids.
            ids = list(
                selectors.ticket_search_for_case(user=request.user)
                .filter(pk__in=ids)
                .values_list("pk", flat=True)
            )
        try:
            result = services.case_attach_tickets(case=case, ticket_ids=ids, by=request.user)
        except ValidationError as exc:
            _errors(request, exc)
            return _back(case)
        messages.success(
            request, _("%(count)s ticket(s) added to the case.") % {"count": result.added}
        )
        if result.in_other_open_case:
            messages.error(
                request,
                _("Already in another open case: %(refs)s")
                % {"refs": ", ".join(result.in_other_open_case[:20])},
            )
        return _back(case, "tickets")
    initial = {
        "programme": case.programme_id,
        "brand": case.brand.national.pk if case.brand_id else None,
        "received_from": case.air_date,
        "received_to": case.air_date + timedelta(days=14) if case.air_date else None,
    }
    form = TicketSearchForm(request.GET or None, initial=initial)
    page = None
    total = 0
    if request.GET and form.is_valid():
        results = selectors.ticket_search_for_case(user=request.user, **_search(form))
        page = Paginator(results, 100).get_page(request.GET.get("page"))
        total = page.paginator.count  # the paginator's count, not a second COUNT
    return render(
        request,
        "mediation/case_tickets.html",
        {"case": case, "form": form, "page": page, "total": total},
    )


@login_required
@require_POST
def case_ticket_remove(request: HttpRequest, pk: int, ticket_pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    ticket = ticket_get_for_user(user=request.user, pk=ticket_pk)
    services.case_detach_ticket(case=case, ticket=ticket, by=request.user)
    return _back(case, "tickets")


@login_required
@require_POST
def ticket_open_case(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """Open (or find) the case of a level-3 ticket that reached the desk without one."""
    permissions.require(request.user, "add", Case())
    ticket = ticket_get_for_user(user=request.user, pk=ticket_pk)
    case = services.case_open_from_escalation(
        ticket=ticket, by=request.user, reason=_("Opened from the mediation desk")
    )
    return _back(case)


@login_required
@require_POST
def evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.evidence_add(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, _("The evidence could not be added: check the fields."))
    return _back(case, "evidence")


@login_required
@require_GET
def evidence_file(request: HttpRequest, pk: int, evidence_pk: int) -> FileResponse:
    """A document filed as evidence, for those who may read the case (the read is audited):
    files are never served from a public media URL."""
    case = selectors.case_get_for_user(user=request.user, pk=pk, audit=False)
    evidence = selectors.case_evidence(case=case).filter(pk=evidence_pk).first()
    if evidence is None or not evidence.file:
        raise Http404
    audit_record(
        actor=request.user,
        action="mediation.evidence.read",
        obj=case,
        data={"evidence": evidence.pk},
        request=request,
    )
    return FileResponse(
        evidence.file.open("rb"), as_attachment=True, filename=evidence.file.name.rsplit("/", 1)[-1]
    )


@login_required
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, pk=pk, audit=False)
    # Notes are for mediators only: for anyone else the form does not exist.
    if not permissions.can(request.user, "add", ConfidentialNote(case=case)):
        raise Http404
    form = NoteForm(request.POST)
    if form.is_valid():
        services.confidential_note_add(
            case=case, author=request.user, body=form.cleaned_data["body"]
        )
    return _back(case, "notes")


# --- requests for comment ----------------------------------------------------------------------


@login_required
def comment_request_new(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    today = timezone.localdate()
    initial = {
        "due_on": services.add_working_days(
            start=today, days=services.comment_requests.COMMENT_DUE_WORKING_DAYS
        )
    }
    form = CommentRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_request_send(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(
                request, _("Request for comment recorded: its email is on its way to the outbox.")
            )
            return _back(case, "requests")
    return render(request, "mediation/comment_request_form.html", {"case": case, "form": form})


@login_required
@require_POST
def comment_request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        rfc = CommentRequest.objects.select_related("case").get(pk=pk)
    except CommentRequest.DoesNotExist:
        raise Http404 from None
    case = _case_to_change(request, rfc.case_id)
    try:
        services.comment_request_cancel(request=rfc, by=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    return _back(case, "requests")


# --- opinion -----------------------------------------------------------------------------------


def _opinion_or_404(case: Case) -> Opinion:
    opinion = selectors.case_opinion(case=case)
    if opinion is None:
        raise Http404
    return opinion


@login_required
def opinion_edit(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    opinion = selectors.case_opinion(case=case)
    if opinion is not None and opinion.is_published:
        return _back(case, "opinion")
    if opinion is not None:
        initial = {
            "title": opinion.title,
            "question": opinion.question,
            "department_answer": opinion.department_answer,
            "body": opinion.body,
        }
    else:
        answers = "\n\n".join(
            # The department speaks publicly, not the person who answered for it.
            f"{r.department}:\n{r.answer}"
            for r in selectors.case_comment_requests(case=case)
            if r.answer
        )
        initial = {
            "title": case.title,
            "question": services.redact_identities(text=case.summary, case=case),
            "department_answer": answers,
        }
    form = OpinionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.opinion_save_draft(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Draft saved."))
            return _back(case, "opinion")
    leaks = services.opinion_identity_leaks(opinion=opinion) if opinion else []
    return render(
        request,
        "mediation/opinion_form.html",
        {"case": case, "opinion": opinion, "form": form, "leaks": leaks},
    )


@login_required
@require_POST
def opinion_submit(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    try:
        services.opinion_submit(opinion=_opinion_or_404(case), by=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Opinion sent for review."))
    return _back(case, "opinion")


@login_required
def opinion_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The reviewer's page: the other mediator or a manager approves or returns the draft."""
    case = selectors.case_get_for_user(
        user=request.user, pk=pk, request=request, audit=request.method == "GET"
    )
    opinion = _opinion_or_404(case)
    if not permissions.can(request.user, "review", opinion):
        raise PermissionDenied
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.opinion_review(
                opinion=opinion,
                by=request.user,
                approve=form.cleaned_data["decision"] == "approve",
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Review recorded."))
            if permissions.can(request.user, "mediation_desk"):
                return redirect("mediation:desk")
            return redirect("mediation:overview")
    return render(
        request,
        "mediation/opinion_review.html",
        {
            "case": case,
            "opinion": opinion,
            "form": form,
            "leaks": services.opinion_identity_leaks(opinion=opinion),
            "reviewer_names": [str(u) for u in selectors.opinion_reviewers(opinion=opinion)],
        },
    )


@login_required
@require_POST
def opinion_publish(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_change(request, pk)
    opinion = _opinion_or_404(case)
    try:
        services.opinion_publish(opinion=opinion, by=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Opinion published."))
    return _back(case, "opinion")


@login_required
def opinion_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer every viewer of the case at once from the published opinion (preview, send)."""
    case = _case_to_change(request, pk)
    opinion = _opinion_or_404(case)
    permissions.require(request.user, "reply", opinion)
    # "Preview" re-renders the page by GET with the message typed so far.
    form = ReplyForm(request.POST or None, initial={"message": request.GET.get("message", "")})
    if request.method == "POST" and form.is_valid():
        try:
            summary = services.opinion_answer_viewers(
                opinion=opinion, by=request.user, message=form.cleaned_data["message"]
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(
                request,
                _(
                    "%(emails)s email(s) to send, %(letters)s letter(s) to print, "
                    "%(done)s already answered."
                )
                % {
                    "emails": summary.emails,
                    "letters": summary.letters,
                    "done": summary.already_answered,
                },
            )
            if summary.without_address:
                messages.error(
                    request,
                    _("No email nor postal address: %(refs)s")
                    % {"refs": ", ".join(summary.without_address[:30])},
                )
            return _back(case, "opinion")
    first = selectors.case_tickets(case=case, limit=1)
    preview = ""
    preview_subject = ""
    if first and opinion.is_published:
        ticket = first[0].ticket
        preview_subject = services.opinion_reply_subject(opinion=opinion, ticket=ticket)
        preview = services.opinion_reply_text(
            opinion=opinion, ticket=ticket, message=form["message"].value() or ""
        )
    return render(
        request,
        "mediation/opinion_reply.html",
        {
            "case": case,
            "opinion": opinion,
            "form": form,
            "preview": preview,
            "preview_subject": preview_subject,
            "ticket_count": case.links.count(),
            "answered": opinion.replies.count(),
        },
    )


# --- comments ----------------------------------------------------------------------------------


@login_required
@require_GET
def comments(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "mediation_desk")
    return render(
        request,
        "mediation/comments.html",
        {"comments": list(selectors.comments_to_moderate()[:200]), "form": ModerateForm()},
    )


@login_required
@require_POST
def comment_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "mediation_desk")
    try:
        comment = OpinionComment.objects.get(pk=pk)
    except OpinionComment.DoesNotExist:
        raise Http404 from None
    form = ModerateForm(request.POST)
    if form.is_valid():
        try:
            services.comment_moderate(
                comment=comment,
                by=request.user,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _errors(request, exc)
    return redirect("mediation:comments")


# --- figures and audit -------------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("year", timezone.localdate().year))
    except ValueError:
        raise Http404 from None


@login_required
@require_GET
def figures(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "mediation_figures")
    year = _year(request)
    this_year = timezone.localdate().year
    return render(
        request,
        "mediation/figures.html",
        {
            "figures": selectors.yearly_figures(year=year),
            "years": list(range(this_year, this_year - 6, -1)),
        },
    )


@login_required
@require_GET
def figures_csv(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "mediation_figures")
    year = _year(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mediation-{year}.csv"'
    response.write("\ufeff")  # so that spreadsheet software reads the accents right
    writer = csv.writer(response)
    writer.writerow(["year", "section", "key", "value"])
    for section, key, value in selectors.yearly_figures(year=year).rows():
        writer.writerow([year, section, key, value])
    return response


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Who read and changed mediation files, when (managers and administrators)."""
    permissions.require(request.user, "view_audit")
    case = None
    if request.GET.get("case"):
        try:
            case = Case.objects.get(pk=int(request.GET["case"]))
        except (Case.DoesNotExist, ValueError):
            raise Http404 from None
    events = selectors.mediation_audit_log(user=request.user, case=case)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "mediation/audit.html", {"page": page, "case": case})
