"""The aggregations behind each rollup table, for a range of local days: the GROUP BY
queries (and the one Python count, triage rules) whose rows `reporting.services.rollups`
writes. Pure reads: nothing here writes.

Definitions (shared with the ticket list behind each figure, `reporting.selectors.tickets`):

- a ticket counts on its creation day (Europe/Paris), at its current level, team and brand;
- escalated / sent back / re-routed: it has at least one such TicketEvent;
- resolved at the first contact: resolved, never escalated, a single inbound contact;
- first answer on time: the first answer at the ticket's current level
  (`level_first_responded_at`), else `resolved_at` (a resolution answers the viewer), against
  that level's deadline `first_response_due_at`; counted as due once answered at that level
  (or resolved) or once the deadline has passed, met when that answer came by the deadline. An
  escalation or a send-back starts a new deadline, which an answer given at the other level
  does not meet;
- first-response time: from the opening to the first answer ever, at any level
  (`first_responded_at`), else to `resolved_at`;
- resolution: due once resolved or past `resolution_due_at`, met when resolved by then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractMinute, TruncDate

from contacts.models import (
    CallRecord,
    Contact,
    Direction,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from satisfaction.models import Survey

from ..filters import PARIS, day_start
from ..models import (
    DURATION_EDGES,
    WAIT_THRESHOLDS,
    CallHalfHour,
    ContactHalfHour,
    DurationDaily,
    Measure,
    ProgrammeDaily,
    RuleDaily,
    SurveyDaily,
    TicketDaily,
    TopicDaily,
)

_IDS_CHUNK = 5000


def chunks(ids: list[int], size: int = _IDS_CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# --- days and ranges ---------------------------------------------------------------------------


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


def days_of(queryset, field_name: str) -> set[date]:
    return set(
        queryset.annotate(_day=_local_day(field_name))
        .order_by()
        .values_list("_day", flat=True)
        .distinct()
    )


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
    taken by the classifier or the default policy counts under "(classifier)"/"(default)";
    one whose level the classifier's second opinion raised also under "(second opinion)"."""
    if not isinstance(decision, dict):
        return []
    tags = decision.get("tags")
    if isinstance(tags, list | tuple) and "second-avis" in tags:
        plain = rule_codes({k: v for k, v in decision.items() if k != "tags"})
        return [*plain, "(second opinion)"]
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


def ticket_rows(first: date, last: date, now: datetime) -> dict[type, list]:
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
    # The time to the first answer counts to the first answer ever (any level); whether the
    # first answer was on time is a matter of the deadline in force, the current level's.
    answered_at = Coalesce("first_responded_at", "resolved_at")
    level_answered_at = Coalesce("level_first_responded_at", "resolved_at")
    fr_time = ExpressionWrapper(F("_answered_at") - F("created_at"), output_field=DurationField())
    res_time = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
    resolved = Q(resolved_at__isnull=False)
    answered = Q(_answered_at__isnull=False)
    level_answered = Q(_level_answered_at__isnull=False)
    fr_known = Q(first_response_due_at__isnull=False) & (
        level_answered | Q(first_response_due_at__lt=now)
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
            _level_answered_at=level_answered_at,
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
                "pk",
                filter=fr_known
                & level_answered
                & Q(_level_answered_at__lte=F("first_response_due_at")),
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
    for chunk in chunks(ids):
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


def survey_rows(first: date, last: date) -> list[SurveyDaily]:
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


def call_rows(first: date, last: date) -> list[CallHalfHour]:
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


def contact_rows(first: date, last: date) -> list[ContactHalfHour]:
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
