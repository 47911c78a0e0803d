"""Keeping the rollup tables current: incremental refresh, nightly reconciliation, rebuild.

A day is the unit of work. Recomputing a day deletes its rows and aggregates them again from
the source tables (with GROUP BY in the database), so running the same work twice gives the
same rows: refresh, reconcile and rebuild are idempotent, and `rebuild == many refreshes`.

What makes a day dirty since the watermark (the start of the last successful run, minus an
overlap for transactions that committed late):

- tickets: created since; touched by a TicketEvent since (every service that changes a ticket
  writes one; indexed by kind and time); threaded onto by a new contact; open and saved since;
  open with a deadline that fell due since (their SLA outcome changes with the clock alone);
- surveys: sent or answered since, or inserted since (by id), or on a dirty ticket;
- calls: rang in the last hours (still being updated) or inserted since (by id);
- contacts: inserted since (by id), or on a ticket whose level changed.

Ticket.updated_at has no index, so the incremental refresh does not scan it; a nightly
reconciliation does, once, to catch a change that wrote no event (a bulk update by hand).
"""

from __future__ import annotations

import time as _time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractMinute, TruncDate
from django.utils import timezone

from contacts.models import (
    OPEN_STATUSES,
    CallRecord,
    Contact,
    Direction,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from satisfaction.models import Survey

from ..models import (
    DURATION_EDGES,
    WAIT_THRESHOLDS,
    CallHalfHour,
    ContactHalfHour,
    DurationDaily,
    Measure,
    ProgrammeDaily,
    RollupState,
    RuleDaily,
    SurveyDaily,
    TicketDaily,
    TopicDaily,
)

PARIS = ZoneInfo(settings.TIME_ZONE)
STATE = "main"
# Transactions that started before the watermark may commit after it: look back this far.
OVERLAP = timedelta(minutes=10)
# Calls are updated after they ring (answered, hung up): re-read the last hours each time.
CALL_LOOKBACK = timedelta(hours=3)
BATCH = 2000
_IDS_CHUNK = 5000

TICKET_ROLLUPS = (TicketDaily, TopicDaily, ProgrammeDaily, RuleDaily, DurationDaily)
ALL_ROLLUPS = (*TICKET_ROLLUPS, SurveyDaily, CallHalfHour, ContactHalfHour)


@dataclass
class RefreshReport:
    ticket_days: int = 0
    survey_days: int = 0
    call_days: int = 0
    contact_days: int = 0
    seconds: float = 0.0
    skipped: bool = False
    detail: dict[str, float] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return self.ticket_days + self.survey_days + self.call_days + self.contact_days


# --- days and ranges ---------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """Local midnight of `day` as an aware datetime (Europe/Paris)."""
    return datetime.combine(day, time.min, tzinfo=PARIS)


def day_ranges(days: Iterable[date], *, max_len: int = 31) -> list[tuple[date, date]]:
    """Contiguous runs of days as (first, last) pairs, each at most `max_len` days long."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges:
            first, last = ranges[-1]
            if day == last + timedelta(days=1) and (day - first).days < max_len:
                ranges[-1] = (first, day)
                continue
        ranges.append((day, day))
    return ranges


def month_ranges(first: date, last: date) -> list[tuple[date, date]]:
    out = []
    cursor = first.replace(day=1)
    while cursor <= last:
        nxt = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append((max(cursor, first), min(nxt - timedelta(days=1), last)))
        cursor = nxt
    return out


def _local_day(field_name: str) -> TruncDate:
    return TruncDate(field_name, tzinfo=PARIS)


def _half_hour(field_name: str):
    """Local half-hour of the day, 0 (00:00–00:30) to 47."""
    return ExpressionWrapper(
        ExtractHour(field_name, tzinfo=PARIS) * 2
        + Case(
            When(**{"_minute__gte": 30}, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
        output_field=IntegerField(),
    )


def _days_of(queryset, field_name: str) -> set[date]:
    return set(
        queryset.annotate(_day=_local_day(field_name))
        .order_by()
        .values_list("_day", flat=True)
        .distinct()
    )


def _chunks(ids: list[int], size: int = _IDS_CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# --- recomputing ticket days -------------------------------------------------------------------


def _bucket_case(duration_name: str) -> Case:
    whens = [
        When(**{f"{duration_name}__lt": timedelta(seconds=edge)}, then=Value(i))
        for i, edge in enumerate(DURATION_EDGES)
    ]
    return Case(*whens, default=Value(len(DURATION_EDGES)), output_field=IntegerField())


def _seconds(value) -> int:
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) // 1_000_000  # microseconds, as some backends return durations


def rule_codes(decision: object) -> list[str]:
    """The rule codes a stored triage decision names, read defensively: routing stores
    `matched_rules`; older or other writers may use `rules` or a single `rule`. A decision
    taken by the classifier or the default policy counts under "(classifier)"/"(default)"."""
    if not isinstance(decision, dict):
        return []
    for key in ("matched_rules", "rules", "rule_codes"):
        value = decision.get(key)
        if isinstance(value, list | tuple):
            codes = [str(v.get("code", "")) if isinstance(v, dict) else str(v) for v in value]
            codes = [c[:64] for c in codes if c]
            if codes:
                return codes
    single = decision.get("rule")
    if isinstance(single, str) and single:
        return [single[:64]]
    source = decision.get("source")
    if isinstance(source, str) and source and source != "rules":
        return [f"({source})"[:64]]
    return []


def _ticket_rows(first: date, last: date, now: datetime) -> dict[type, list]:
    start, end = day_start(first), day_start(last + timedelta(days=1))
    tickets = Ticket.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    dims = ("_day", "brand_id", "channel", "team_id")

    def has_event(kind: str) -> Exists:
        return Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=kind))

    inbound = Subquery(
        Contact.objects.filter(ticket=OuterRef("pk"), direction=Direction.INBOUND)
        .order_by()
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )
    answered_at = Coalesce("first_responded_at", "resolved_at")
    fr_time = ExpressionWrapper(F("_answered_at") - F("created_at"), output_field=DurationField())
    res_time = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
    resolved = Q(resolved_at__isnull=False)
    answered = Q(_answered_at__isnull=False)
    fr_known = Q(first_response_due_at__isnull=False) & (
        answered | Q(first_response_due_at__lt=now)
    )
    res_known = Q(resolution_due_at__isnull=False) & (resolved | Q(resolution_due_at__lt=now))
    main = (
        tickets.annotate(
            _day=_local_day("created_at"),
            _esc=has_event(TicketEventKind.ESCALATED),
            _sb=has_event(TicketEventKind.SENT_BACK),
            _rr=has_event(TicketEventKind.REROUTED),
            _in=Coalesce(inbound, 0),
            _answered_at=answered_at,
            _fr=fr_time,
            _res=res_time,
        )
        .values(*dims, "level")
        .annotate(
            created=Count("pk"),
            resolved=Count("pk", filter=resolved),
            escalated=Count("pk", filter=Q(_esc=True)),
            sent_back=Count("pk", filter=Q(_sb=True)),
            rerouted=Count("pk", filter=Q(_rr=True)),
            fcr=Count("pk", filter=resolved & Q(_esc=False, _in__lte=1)),
            fr_due=Count("pk", filter=fr_known),
            fr_met=Count(
                "pk", filter=fr_known & answered & Q(_answered_at__lte=F("first_response_due_at"))
            ),
            res_due=Count("pk", filter=res_known),
            res_met=Count(
                "pk", filter=res_known & resolved & Q(resolved_at__lte=F("resolution_due_at"))
            ),
            fr_sum=Sum("_fr", filter=answered),
            fr_count=Count("pk", filter=answered),
            res_sum=Sum("_res", filter=resolved),
            res_count=Count("pk", filter=resolved),
        )
    )
    out: dict[type, list] = defaultdict(list)
    for r in main:
        out[TicketDaily].append(
            TicketDaily(
                day=r["_day"],
                brand_id=r["brand_id"],
                channel=r["channel"],
                team_id=r["team_id"],
                level=r["level"],
                created=r["created"],
                resolved=r["resolved"],
                escalated=r["escalated"],
                sent_back=r["sent_back"],
                rerouted=r["rerouted"],
                fcr=r["fcr"],
                fr_due=r["fr_due"],
                fr_met=r["fr_met"],
                res_due=r["res_due"],
                res_met=r["res_met"],
                fr_seconds=_seconds(r["fr_sum"]),
                fr_count=r["fr_count"],
                res_seconds=_seconds(r["res_sum"]),
                res_count=r["res_count"],
            )
        )
    for r in (
        tickets.annotate(_day=_local_day("created_at"))
        .values(*dims, "level", "topic")
        .annotate(n=Count("pk"))
    ):
        out[TopicDaily].append(
            TopicDaily(
                day=r["_day"],
                brand_id=r["brand_id"],
                channel=r["channel"],
                team_id=r["team_id"],
                level=r["level"],
                topic=r["topic"],
                created=r["n"],
            )
        )
    for r in (
        tickets.annotate(_day=_local_day("created_at"))
        .values(*dims, "programme_id")
        .annotate(n=Count("pk"))
    ):
        out[ProgrammeDaily].append(
            ProgrammeDaily(
                day=r["_day"],
                brand_id=r["brand_id"],
                channel=r["channel"],
                team_id=r["team_id"],
                programme_id=r["programme_id"],
                created=r["n"],
            )
        )
    for measure, duration, condition in (
        (Measure.FIRST_RESPONSE, fr_time, Q(_answered_at__isnull=False)),
        (Measure.RESOLUTION, res_time, Q(resolved_at__isnull=False)),
    ):
        rows = (
            tickets.annotate(_answered_at=answered_at)
            .filter(condition)
            .annotate(_day=_local_day("created_at"), _d=duration)
            .annotate(_bucket=_bucket_case("_d"))
            .values(*dims, "level", "_bucket")
            .annotate(n=Count("pk"))
        )
        for r in rows:
            out[DurationDaily].append(
                DurationDaily(
                    day=r["_day"],
                    brand_id=r["brand_id"],
                    channel=r["channel"],
                    team_id=r["team_id"],
                    level=r["level"],
                    measure=measure,
                    bucket=r["_bucket"],
                    count=r["n"],
                )
            )
    out[RuleDaily] = _rule_rows(tickets)
    return out


def _rule_rows(tickets) -> list[RuleDaily]:
    """Triage decisions per rule and how many were overridden (re-routed by staff). The codes
    live in JSON that SQL cannot portably unnest, so this one is counted in Python, over the
    tickets that carry a decision."""
    decided = tickets.exclude(triage_decision={}).annotate(_day=_local_day("created_at"))
    rows = list(
        decided.values_list("pk", "_day", "brand_id", "channel", "team_id", "triage_decision")
    )
    if not rows:
        return []
    rerouted: dict[int, list[str]] = {}
    ids = [r[0] for r in rows]
    for chunk in _chunks(ids):
        events = (
            TicketEvent.objects.filter(ticket_id__in=chunk, kind=TicketEventKind.REROUTED)
            .order_by("at", "id")
            .values_list("ticket_id", "data")
        )
        for ticket_id, data in events:
            # The first re-routing names the rules that had decided, when routing records them.
            rerouted.setdefault(ticket_id, rule_codes(data))
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for pk, day, brand_id, channel, team_id, decision in rows:
        was_rerouted = pk in rerouted
        codes = (rerouted.get(pk) or []) if was_rerouted else []
        codes = codes or rule_codes(decision)
        for code in dict.fromkeys(codes):
            cell = counts[(day, brand_id, channel, team_id, code)]
            cell[0] += 1
            cell[1] += int(was_rerouted)
    return [
        RuleDaily(
            day=day,
            brand_id=brand_id,
            channel=channel,
            team_id=team_id,
            rule=code,
            decided=n,
            overridden=o,
        )
        for (day, brand_id, channel, team_id, code), (n, o) in counts.items()
    ]


def _survey_rows(first: date, last: date) -> list[SurveyDaily]:
    start, end = day_start(first), day_start(last + timedelta(days=1))
    answered = Q(answered_at__isnull=False, score__isnull=False)
    rows = (
        Survey.objects.filter(sent_at__gte=start, sent_at__lt=end)
        .order_by()
        .annotate(_day=_local_day("sent_at"), _brand=F("ticket__brand_id"))
        .values("_day", "_brand", "ticket_channel", "team_id", "level", "topic")
        .annotate(
            sent=Count("pk"),
            answered=Count("pk", filter=answered),
            commented=Count("pk", filter=answered & ~Q(comment="")),
            s1=Count("pk", filter=Q(score=1)),
            s2=Count("pk", filter=Q(score=2)),
            s3=Count("pk", filter=Q(score=3)),
            s4=Count("pk", filter=Q(score=4)),
            s5=Count("pk", filter=Q(score=5)),
        )
    )
    return [
        SurveyDaily(
            day=r["_day"],
            brand_id=r["_brand"],
            channel=r["ticket_channel"],
            team_id=r["team_id"],
            level=r["level"],
            topic=r["topic"],
            sent=r["sent"],
            answered=r["answered"],
            commented=r["commented"],
            score_1=r["s1"],
            score_2=r["s2"],
            score_3=r["s3"],
            score_4=r["s4"],
            score_5=r["s5"],
        )
        for r in rows
    ]


def _call_rows(first: date, last: date) -> list[CallHalfHour]:
    start, end = day_start(first), day_start(last + timedelta(days=1))
    answered = Q(answered_at__isnull=False, abandoned=False)
    within = {
        f"n_within_{t}": Count("pk", filter=answered & Q(wait_seconds__lte=t))
        for t in WAIT_THRESHOLDS
    }
    rows = (
        CallRecord.objects.filter(rang_at__gte=start, rang_at__lt=end)
        .order_by()
        .annotate(_day=_local_day("rang_at"), _minute=ExtractMinute("rang_at", tzinfo=PARIS))
        .annotate(_hh=_half_hour("rang_at"))
        .values("_day", "_hh", "brand_id")
        .annotate(
            n_offered=Count("pk"),
            n_answered=Count("pk", filter=answered),
            n_abandoned=Count("pk", filter=Q(abandoned=True)),
            n_wait=Sum("wait_seconds", filter=answered),
            n_handled=Count("pk", filter=answered & Q(handling_seconds__isnull=False)),
            n_handle=Sum("handling_seconds", filter=answered),
            **within,
        )
    )
    return [
        CallHalfHour(
            day=r["_day"],
            half_hour=r["_hh"],
            brand_id=r["brand_id"],
            offered=r["n_offered"],
            answered=r["n_answered"],
            abandoned=r["n_abandoned"],
            wait_seconds=r["n_wait"] or 0,
            handled=r["n_handled"],
            handle_seconds=r["n_handle"] or 0,
            **{f"within_{t}": r[f"n_within_{t}"] for t in WAIT_THRESHOLDS},
        )
        for r in rows
    ]


def _contact_rows(first: date, last: date) -> list[ContactHalfHour]:
    start, end = day_start(first), day_start(last + timedelta(days=1))
    rows = (
        Contact.objects.filter(
            occurred_at__gte=start, occurred_at__lt=end, direction=Direction.INBOUND
        )
        .order_by()
        .annotate(
            _day=_local_day("occurred_at"),
            _minute=ExtractMinute("occurred_at", tzinfo=PARIS),
            _level=F("ticket__level"),
        )
        .annotate(_hh=_half_hour("occurred_at"))
        .values("_day", "_hh", "channel", "_level")
        .annotate(n=Count("pk"))
    )
    return [
        ContactHalfHour(
            day=r["_day"], half_hour=r["_hh"], channel=r["channel"], level=r["_level"], count=r["n"]
        )
        for r in rows
    ]


def _replace(models_rows: dict[type, list], first: date, last: date, models: Iterable[type]):
    for model in models:
        model.objects.filter(day__gte=first, day__lte=last).delete()
        rows = models_rows.get(model) or []
        if rows:
            model.objects.bulk_create(rows, batch_size=BATCH)


def recompute_ticket_days(*, days: Iterable[date], now: datetime | None = None) -> int:
    """Recompute the ticket rollups of these (local) days. Call inside a transaction."""
    now = now or timezone.now()
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace(_ticket_rows(first, last, now), first, last, TICKET_ROLLUPS)
    return sum((b - a).days + 1 for a, b in ranges)


def recompute_survey_days(*, days: Iterable[date]) -> int:
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace({SurveyDaily: _survey_rows(first, last)}, first, last, [SurveyDaily])
    return sum((b - a).days + 1 for a, b in ranges)


def recompute_call_days(*, days: Iterable[date]) -> int:
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace({CallHalfHour: _call_rows(first, last)}, first, last, [CallHalfHour])
    return sum((b - a).days + 1 for a, b in ranges)


def recompute_contact_days(*, days: Iterable[date]) -> int:
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace({ContactHalfHour: _contact_rows(first, last)}, first, last, [ContactHalfHour])
    return sum((b - a).days + 1 for a, b in ranges)


# --- the incremental refresh -------------------------------------------------------------------


_ID_SOURCES = {"contact": Contact, "call": CallRecord, "survey": Survey}


def _current_marks() -> dict[str, int]:
    return {
        name: model.objects.aggregate(m=Max("pk"))["m"] or 0 for name, model in _ID_SOURCES.items()
    }


def _floor(state: RollupState, name: str) -> int:
    """Ids above this one may be new since the run before last (see RollupState.id_marks)."""
    marks = state.id_marks.get(name) or [0, 0]
    return int(marks[0])


def _shift_marks(state: RollupState, current: dict[str, int], *, reset: bool = False) -> None:
    state.id_marks = {
        name: [value if reset else (state.id_marks.get(name) or [0, value])[1], value]
        for name, value in current.items()
    }


def _ticket_days_for_ids(ids: set[int]) -> set[date]:
    days: set[date] = set()
    for chunk in _chunks(sorted(ids)):
        days |= _days_of(Ticket.objects.filter(pk__in=chunk), "created_at")
    return days


def _dirty(state: RollupState, now: datetime) -> dict[str, set[date]]:
    since = (state.watermark or now) - OVERLAP
    open_tickets = Ticket.objects.filter(status__in=sorted(OPEN_STATUSES))
    # Tickets touched since: any event (the (kind, at) index answers this), a new contact
    # threaded onto them, or a save of an open ticket.
    changed: set[int] = set(
        TicketEvent.objects.filter(kind__in=TicketEventKind.values, at__gte=since)
        .order_by()
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    new_contacts = Contact.objects.filter(pk__gt=_floor(state, "contact"))
    changed |= set(new_contacts.order_by().values_list("ticket_id", flat=True).distinct())
    changed |= set(open_tickets.filter(updated_at__gte=since).values_list("pk", flat=True))
    ticket_days = _ticket_days_for_ids(changed)
    ticket_days |= _days_of(Ticket.objects.filter(created_at__gte=since), "created_at")
    # Deadlines that fell due since the last run change the SLA figures with no write at all.
    ticket_days |= _days_of(
        open_tickets.filter(
            Q(
                first_response_due_at__gte=since,
                first_response_due_at__lte=now,
                first_responded_at__isnull=True,
            )
            | Q(resolution_due_at__gte=since, resolution_due_at__lte=now)
        ),
        "created_at",
    )
    survey_days = _days_of(
        Survey.objects.filter(
            Q(sent_at__gte=since) | Q(answered_at__gte=since) | Q(pk__gt=_floor(state, "survey"))
        ),
        "sent_at",
    )
    for chunk in _chunks(sorted(changed)):
        survey_days |= _days_of(Survey.objects.filter(ticket_id__in=chunk), "sent_at")
    call_days = _days_of(
        CallRecord.objects.filter(
            Q(rang_at__gte=since - CALL_LOOKBACK) | Q(pk__gt=_floor(state, "call"))
        ),
        "rang_at",
    )
    contact_days = _days_of(new_contacts.filter(direction=Direction.INBOUND), "occurred_at")
    for chunk in _chunks(sorted(changed)):
        contact_days |= _days_of(
            Contact.objects.filter(ticket_id__in=chunk, direction=Direction.INBOUND),
            "occurred_at",
        )
    return {
        "tickets": ticket_days,
        "surveys": survey_days,
        "calls": call_days,
        "contacts": contact_days,
    }


def _locked_state(*, wait: bool) -> RollupState | None:
    RollupState.objects.get_or_create(name=STATE)
    qs = RollupState.objects.select_for_update(skip_locked=not wait)
    return qs.filter(name=STATE).first()


def rollup_refresh(*, now: datetime | None = None) -> RefreshReport:
    """Bring the rollups up to date with what changed since the last run.

    Safe to run at any time and twice at once: a run that finds another one holding the lock
    returns at once (skipped), and the next run picks up what it would have done. The first
    run on an empty state rebuilds everything.
    """
    started = _time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(wait=False)
        if state is None:
            return RefreshReport(skipped=True)
        if state.watermark is None:
            report = _rebuild(state, now)
        else:
            marks = _current_marks()
            dirty = _dirty(state, now)
            found = _time.monotonic() - started
            report = RefreshReport(
                ticket_days=recompute_ticket_days(days=dirty["tickets"], now=now),
                survey_days=recompute_survey_days(days=dirty["surveys"]),
                call_days=recompute_call_days(days=dirty["calls"]),
                contact_days=recompute_contact_days(days=dirty["contacts"]),
                detail={"find_seconds": round(found, 3)},
            )
            _shift_marks(state, marks)
            state.watermark = now
        report.seconds = _time.monotonic() - started
        state.last_run_at = timezone.now()
        state.last_run_ms = int(report.seconds * 1000)
        state.last_run_days = report.days
        state.save()
    return report


def rollup_reconcile(*, now: datetime | None = None) -> RefreshReport:
    """Recompute the days of tickets saved since the last reconciliation, found by scanning
    Ticket.updated_at (no index: run it nightly, not every few minutes)."""
    started = _time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(wait=True)
        since = (state.reconciled_at or state.watermark or now) - OVERLAP
        days = _days_of(Ticket.objects.filter(updated_at__gte=since), "created_at")
        report = RefreshReport(ticket_days=recompute_ticket_days(days=days, now=now))
        contact_ids = Ticket.objects.filter(updated_at__gte=since).values("pk")
        report.contact_days = recompute_contact_days(
            days=_days_of(
                Contact.objects.filter(ticket_id__in=contact_ids, direction=Direction.INBOUND),
                "occurred_at",
            )
        )
        state.reconciled_at = now
        state.save(update_fields=["reconciled_at"])
    report.seconds = _time.monotonic() - started
    return report


def _source_span() -> tuple[date, date] | None:
    firsts, lasts = [], []
    for model, name in (
        (Ticket, "created_at"),
        (Survey, "sent_at"),
        (CallRecord, "rang_at"),
        (Contact, "occurred_at"),
    ):
        agg = model.objects.aggregate(first=Min(name), last=Max(name))
        if agg["first"] is not None:
            firsts.append(timezone.localtime(agg["first"], PARIS).date())
            lasts.append(timezone.localtime(agg["last"], PARIS).date())
    if not firsts:
        return None
    return min(firsts), max(lasts)


def _rebuild(
    state: RollupState, now: datetime, progress: Callable[[str], None] | None = None
) -> RefreshReport:
    marks = _current_marks()
    for model in ALL_ROLLUPS:
        model.objects.all().delete()
    report = RefreshReport()
    span = _source_span()
    if span is not None:
        for first, last in month_ranges(*span):
            for model_rows in (
                _ticket_rows(first, last, now),
                {SurveyDaily: _survey_rows(first, last)},
                {CallHalfHour: _call_rows(first, last)},
                {ContactHalfHour: _contact_rows(first, last)},
            ):
                for model, rows in model_rows.items():
                    if rows:
                        model.objects.bulk_create(rows, batch_size=BATCH)
            n = (last - first).days + 1
            report.ticket_days += n
            report.survey_days += n
            report.call_days += n
            report.contact_days += n
            if progress:
                progress(f"{first:%Y-%m} done")
    state.watermark = now
    state.reconciled_at = now
    state.rebuilt_at = now
    _shift_marks(state, marks, reset=True)
    return report


def rollup_rebuild(
    *, now: datetime | None = None, progress: Callable[[str], None] | None = None
) -> RefreshReport:
    """Recompute every rollup from the source tables, in one transaction (readers keep the
    old figures until it commits). Waits for a refresh in progress to finish."""
    started = _time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(wait=True)
        report = _rebuild(state, now, progress)
        report.seconds = _time.monotonic() - started
        state.last_run_at = timezone.now()
        state.last_run_ms = int(report.seconds * 1000)
        state.last_run_days = report.days
        state.save()
    return report
