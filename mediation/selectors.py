"""Reads of mediation, each scoped by the policy. Reads of a case file and of its confidential
notes are written to the audit log here, where they happen, so that no screen can forget to.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts import permissions
from accounts.models import AuditEvent, Role, User
from accounts.services import audit_record
from contacts.models import OPEN_STATUSES, Brand, Contact, Ticket, Topic
from contacts.selectors import ticket_list
from contacts.services import fold

from .models import (
    Case,
    CaseEvent,
    CaseOutcome,
    CaseStatus,
    CaseTicket,
    CommentRequest,
    CommentRequestStatus,
    CommentStatus,
    ConfidentialNote,
    Desk,
    Evidence,
    Opinion,
    OpinionComment,
    OpinionStatus,
)

# --- case files --------------------------------------------------------------------------------


def case_get_for_user(
    *, user: User, pk: int, request: HttpRequest | None = None, audit: bool = True
) -> Case:
    """The case, or Http404 when it does not exist or the user may not read case files.

    Every successful read is audited (`mediation.case.read`) unless `audit=False`, which only
    POST handlers use: the change they make is audited by its service instead.
    """
    try:
        case = Case.objects.select_related(
            "brand", "brand__parent", "programme", "mediator", "opened_by"
        ).get(pk=pk)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not permissions.can(user, "view", case):
        raise Http404
    if audit:
        audit_record(actor=user, action="mediation.case.read", obj=case, request=request)
    return case


def case_notes_for_user(
    *, user: User, case: Case, request: HttpRequest | None = None
) -> list[ConfidentialNote] | None:
    """The case's confidential notes for a mediator (the read is audited, with the notes'
    ids), or None for anyone else: nobody else reads them, administrators included."""
    if not permissions.can(user, "view", ConfidentialNote(case=case)):
        return None
    notes = list(
        ConfidentialNote.objects.filter(case=case).select_related("author").order_by("created_at")
    )
    audit_record(
        actor=user,
        action="mediation.notes.read",
        obj=case,
        data={"notes": [n.pk for n in notes]},
        request=request,
    )
    return notes


def case_tickets(*, case: Case, limit: int = 200) -> QuerySet[CaseTicket]:
    """The case's tickets, with what the case page shows (first `limit`; a case may hold
    hundreds)."""
    return (
        CaseTicket.objects.filter(case=case)
        .select_related("ticket__viewer", "ticket__brand", "ticket__programme")
        .order_by("ticket__created_at", "ticket_id")[:limit]
    )


def case_timeline(*, case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")


def case_evidence(*, case: Case) -> QuerySet[Evidence]:
    return Evidence.objects.filter(case=case).select_related("added_by")


def case_comment_requests(*, case: Case) -> QuerySet[CommentRequest]:
    return CommentRequest.objects.filter(case=case).select_related("sent_by").order_by("sent_at")


def case_opinion(*, case: Case) -> Opinion | None:
    return (
        Opinion.objects.select_related("author", "reviewed_by", "brand").filter(case=case).first()
    )


def _case_scope_q(user: User, prefix: str = "") -> Q:
    """The cases of the user's brands (and those of no known brand); mediators see all."""
    scope = None if permissions.can(user, "mediation_desk") else permissions.brand_scope(user)
    if scope is None:
        return Q()
    return Q(**{f"{prefix}brand_id__in": sorted(scope)}) | Q(**{f"{prefix}brand__isnull": True})


def case_list(*, user: User, status: str = CaseStatus.OPEN) -> QuerySet[Case]:
    """Cases the user may read (mediators; managers: their brands'), soonest deadline first."""
    if not permissions.can(user, "view", Case()):
        return Case.objects.none()
    return (
        Case.objects.filter(_case_scope_q(user), status=status)
        .select_related("brand", "programme", "mediator")
        .annotate(ticket_count=Count("links"))
        .order_by("due_on", "id")
    )


def mediators() -> QuerySet[User]:
    return User.objects.filter(role=Role.MEDIATOR, is_active=True).order_by("last_name", "id")


def ticket_search_for_case(
    *,
    user: User,
    programme_id: int | None = None,
    brand_id: int | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    keywords: str = "",
) -> QuerySet[Ticket]:
    """Tickets to gather into a case: by programme, brand, date received (from the air date)
    and keywords (all of them, in the subject or a message), within the user's scope."""
    qs = ticket_list(user=user)
    if programme_id:
        qs = qs.filter(programme_id=programme_id)
    if brand_id:
        qs = qs.filter(Q(brand_id=brand_id) | Q(brand__parent_id=brand_id))
    if received_from:
        qs = qs.filter(created_at__gte=_start_of_day(received_from))
    if received_to:
        qs = qs.filter(created_at__lt=_start_of_day(received_to + timedelta(days=1)))
    for word in keywords.split():
        in_message = Contact.objects.filter(ticket=OuterRef("pk"), body_text__icontains=word)
        qs = qs.filter(Q(subject__icontains=word) | Exists(in_message))
    return qs.annotate(
        in_open_case=Exists(
            CaseTicket.objects.filter(ticket=OuterRef("pk"), case__status=CaseStatus.OPEN)
        )
    )


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- the desk ----------------------------------------------------------------------------------


@dataclass
class DeskView:
    open_cases: list[Case]
    waiting_requests: list[CommentRequest]
    late_requests: int
    to_review: list[Opinion]
    comments_to_moderate: int
    new_cases: list[Case]
    unfiled_tickets: list[Ticket]


NEW_CASE_DAYS = 7


def desk_for_user(*, user: User) -> DeskView:
    """The mediator's desk: open cases by deadline, requests for comment waiting (late ones
    first), opinions to review by this user, comments to moderate, new escalations (cases
    opened from an escalation this week, level-3 tickets in no case yet). Six queries."""
    today = timezone.localdate()
    open_cases = list(
        Case.objects.filter(status=CaseStatus.OPEN)
        .select_related("brand", "programme", "mediator")
        .annotate(ticket_count=Count("links"))
        .order_by("due_on", "id")[:200]
    )
    waiting = list(
        CommentRequest.objects.filter(status=CommentRequestStatus.SENT)
        .select_related("case")
        .order_by("due_on", "id")[:200]
    )
    to_review = list(
        Opinion.objects.filter(status=OpinionStatus.IN_REVIEW)
        .exclude(author=user)
        .select_related("case", "author")
        .order_by("submitted_at")
    )
    comments = OpinionComment.objects.filter(status=CommentStatus.PENDING).count()
    since = timezone.now() - timedelta(days=NEW_CASE_DAYS)
    new_cases = [c for c in open_cases if c.origin == "escalation" and c.opened_at >= since]
    unfiled = list(
        Ticket.objects.filter(level=3, status__in=sorted(OPEN_STATUSES))
        .exclude(Exists(CaseTicket.objects.filter(ticket=OuterRef("pk"), case__status="open")))
        .select_related("brand", "programme")
        .order_by("created_at")[:50]
    )
    return DeskView(
        open_cases=open_cases,
        waiting_requests=waiting,
        late_requests=sum(1 for r in waiting if r.due_on < today),
        to_review=to_review,
        comments_to_moderate=comments,
        new_cases=new_cases,
        unfiled_tickets=unfiled,
    )


def opinions_to_review(*, user: User) -> QuerySet[Opinion]:
    return (
        Opinion.objects.filter(_case_scope_q(user, "case__"), status=OpinionStatus.IN_REVIEW)
        .exclude(author=user)
        .select_related("case", "author")
        .order_by("submitted_at")
    )


def opinion_reviewers(*, opinion: Opinion) -> list[User]:
    """The mediators who may review ``opinion`` (every one but its author); managers may too,
    and the page says so without listing them."""
    return [u for u in mediators() if permissions.can(u, "review", opinion)]


def comments_to_moderate() -> QuerySet[OpinionComment]:
    return (
        OpinionComment.objects.filter(status=CommentStatus.PENDING)
        .select_related("opinion", "opinion__brand")
        .order_by("confirmed_at", "id")
    )


def comment_requests_to_remind(*, today: date) -> list[int]:
    """Waiting requests due within the reminder window that have had no reminder yet."""
    from .services import comment_request_reminder_due_on

    return list(
        CommentRequest.objects.filter(
            status=CommentRequestStatus.SENT,
            reminder_sent_at__isnull=True,
            due_on__lte=comment_request_reminder_due_on(today=today),
            expires_at__gt=timezone.now(),
        )
        .order_by("due_on", "id")
        .values_list("pk", flat=True)
    )


# --- the audit log -----------------------------------------------------------------------------

MEDIATION_OBJECT_TYPES = (
    "mediation.case",
    "mediation.opinion",
    "mediation.opinioncomment",
)


def mediation_audit_log(*, user: User, case: Case | None = None) -> QuerySet[AuditEvent]:
    """Who did and read what in mediation (managers, administrators). For one case: its own
    lines and its opinion's."""
    if not permissions.can(user, "view_audit"):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.filter(object_type__in=MEDIATION_OBJECT_TYPES)
    if case is not None:
        opinion_ids = [
            str(pk) for pk in Opinion.objects.filter(case=case).values_list("pk", flat=True)
        ]
        qs = qs.filter(
            Q(object_type="mediation.case", object_id=str(case.pk))
            | Q(object_type="mediation.opinion", object_id__in=opinion_ids)
        )
    return qs.select_related("actor").order_by("-at", "-id")


# --- public pages ------------------------------------------------------------------------------


def public_brand(*, code: str) -> Brand:
    try:
        return Brand.objects.select_related("parent").get(code=code, is_active=True)
    except Brand.DoesNotExist:
        raise Http404 from None


def opinions_published(*, brand: Brand, q: str = "") -> QuerySet[Opinion]:
    """Published opinions of a brand (a national brand's page includes its stations'), newest
    first, optionally searched (all words, accent- and case-insensitive)."""
    qs = Opinion.objects.filter(status=OpinionStatus.PUBLISHED).filter(
        Q(brand=brand) | Q(brand__parent=brand)
    )
    for word in fold(q).split():
        qs = qs.filter(search_text__contains=word)
    return qs.select_related("brand", "case").order_by("-published_at", "-id")


def opinion_published_get(*, brand: Brand, pk: int) -> Opinion:
    """A published opinion of this brand, or 404: drafts do not exist for the public."""
    try:
        return (
            Opinion.objects.select_related("brand", "case", "case__programme")
            .filter(Q(brand=brand) | Q(brand__parent=brand))
            .get(pk=pk, status=OpinionStatus.PUBLISHED)
        )
    except (Opinion.DoesNotExist, ValueError):
        raise Http404 from None


def opinion_comments_public(*, opinion: Opinion) -> QuerySet[OpinionComment]:
    return OpinionComment.objects.filter(opinion=opinion, status=CommentStatus.APPROVED).order_by(
        "created_at", "id"
    )


# --- yearly figures ----------------------------------------------------------------------------


@dataclass
class YearlyFigures:
    year: int
    cases_opened: int = 0
    tickets_in_cases: int = 0
    by_brand: list[tuple[str, int]] = field(default_factory=list)
    by_programme: list[tuple[str, int]] = field(default_factory=list)
    by_topic: list[tuple[str, int]] = field(default_factory=list)
    by_desk: list[tuple[str, int]] = field(default_factory=list)
    by_outcome: list[tuple[str, int]] = field(default_factory=list)
    opinions_published: int = 0
    median_days_to_opinion: float | None = None

    def rows(self) -> list[tuple[str, str, object]]:
        """(section, key, value) rows: the CSV export and the tests read the same figures."""
        rows: list[tuple[str, str, object]] = [
            ("total", "cases_opened", self.cases_opened),
            ("total", "tickets_in_cases", self.tickets_in_cases),
            ("total", "opinions_published", self.opinions_published),
            (
                "total",
                "median_days_to_opinion",
                "" if self.median_days_to_opinion is None else self.median_days_to_opinion,
            ),
        ]
        for section, pairs in (
            ("brand", self.by_brand),
            ("programme", self.by_programme),
            ("topic", self.by_topic),
            ("desk", self.by_desk),
            ("outcome", self.by_outcome),
        ):
            rows += [(section, str(key), count) for key, count in pairs]
        return rows


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return _start_of_day(date(year, 1, 1)), _start_of_day(date(year + 1, 1, 1))


def _counted(qs: QuerySet, key: str) -> list[tuple[str, int]]:
    pairs = qs.values(key).annotate(n=Count("id")).order_by("-n", key)
    return [(row[key] or "", row["n"]) for row in pairs]


def yearly_figures(*, year: int) -> YearlyFigures:
    """The figures the mediators publish for a year (Europe/Paris).

    Cases opened in the year, by national brand, programme, topic, desk and outcome (the
    outcome of those cases, "open" while undecided); tickets they gathered; opinions published
    in the year and the median time from opening the case to publishing its opinion, in days.
    """
    start, end = _year_bounds(year)
    cases = Case.objects.filter(opened_at__gte=start, opened_at__lt=end)
    figures = YearlyFigures(year=year)
    figures.cases_opened = cases.count()
    figures.tickets_in_cases = CaseTicket.objects.filter(case__in=cases).count()
    figures.by_brand = _counted(
        cases.annotate(national=Coalesce("brand__parent__name", "brand__name")), "national"
    )
    figures.by_programme = _counted(cases, "programme__name")
    topic_labels = dict(Topic.choices)
    figures.by_topic = [
        (str(topic_labels.get(code, code)), n) for code, n in _counted(cases, "topic")
    ]
    desk_labels = dict(Desk.choices)
    figures.by_desk = [(str(desk_labels.get(c, c)), n) for c, n in _counted(cases, "desk")]
    outcome_labels = dict(CaseOutcome.choices)
    figures.by_outcome = [
        (str(outcome_labels[code]) if code else str(CaseStatus.OPEN.label), n)
        for code, n in _counted(cases, "outcome")
    ]
    published = list(
        Opinion.objects.filter(
            status=OpinionStatus.PUBLISHED, published_at__gte=start, published_at__lt=end
        ).values_list("published_at", "case__opened_at")
    )
    figures.opinions_published = len(published)
    if published:
        days = [(pub - opened).total_seconds() / 86400 for pub, opened in published]
        figures.median_days_to_opinion = round(statistics.median(days), 1)
    return figures
