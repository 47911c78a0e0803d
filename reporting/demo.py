"""Demo activity on top of `seed_demo`'s tickets: phone calls, satisfaction surveys, escalations.

`seed_demo` creates viewers, tickets and contacts; what managers read on the dashboards also
needs the telephony's call records (waiting and handling times, abandoned calls, by
half-hour), the viewers' answers to satisfaction surveys, and the escalations and send-backs
between levels. `seed_activity` adds them in bulk, deterministically for a seed, and is
idempotent: a ticket that already has its call, survey or escalation gets no second one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from contacts.models import (
    CallRecord,
    Channel,
    Contact,
    Direction,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Topic,
)
from satisfaction.models import Survey

PARIS = ZoneInfo(settings.TIME_ZONE)
CHUNK = 20000

# The usual level of each topic (DESIGN.md): a ticket above it was escalated, one below it
# was sent back or answered from a script.
USUAL_LEVEL = {
    Topic.SPORT: 2,
    Topic.EDITORIAL_NEWS: 3,
    Topic.EDITORIAL_PROGRAMMES: 3,
    Topic.LANGUAGE: 2,
    Topic.ACCESSIBILITY: 2,
    Topic.REGIONAL: 2,
    Topic.SERVICE_RELATIONSHIP: 2,
}

# Calls per half-hour of a call centre's day (relative weights, local time). Weekdays open
# 08:30–19:30 with a morning peak, a lunch dip, an afternoon peak and a small evening bump
# after the early-evening programmes; weekends 09:30–17:30, quieter.
_WEEKDAY = {
    17: 3,
    18: 6,
    19: 8,
    20: 9,
    21: 10,
    22: 9,
    23: 7,
    24: 5,
    25: 5,
    26: 6,
    27: 8,
    28: 9,
    29: 9,
    30: 8,
    31: 7,
    32: 6,
    33: 5,
    34: 5,
    35: 6,
    36: 6,
    37: 4,
    38: 2,
}
_WEEKEND = {
    19: 3,
    20: 4,
    21: 5,
    22: 5,
    23: 4,
    24: 3,
    25: 3,
    26: 4,
    27: 5,
    28: 5,
    29: 4,
    30: 4,
    31: 3,
    32: 3,
    33: 2,
    34: 1,
}

COMMENTS = {
    5: [
        "Réponse rapide et très claire, merci beaucoup.",
        "Conseillère très aimable, j'ai eu ma réponse tout de suite.",
        "Parfait, merci pour votre écoute.",
        "Enfin un service qui répond ! Bravo.",
    ],
    4: [
        "Bonne réponse, même si j'ai dû patienter un peu au téléphone.",
        "Merci pour l'information, c'est ce que je cherchais.",
        "Réponse correcte, un peu générique.",
    ],
    3: [
        "La réponse est arrivée tard mais elle était juste.",
        "Moyen : on m'a renvoyé vers le site internet.",
        "Réponse polie mais qui ne répond qu'à moitié.",
    ],
    2: [
        "Réponse toute faite qui ne correspond pas à ma question.",
        "Trop d'attente au téléphone pour une réponse aussi vague.",
        "On ne m'a pas vraiment écouté.",
    ],
    1: [
        "Aucune prise en compte de ma remarque, je suis déçu.",
        "Réponse hors sujet, je me suis senti méprisé.",
        "Je demande toujours une rectification, rien n'a été fait.",
        "Inadmissible pour un service public.",
    ],
}
# Scores skewed positive, less so at levels 2 and 3 (harder cases, disputes).
SCORE_WEIGHTS = {1: [5, 5, 9, 31, 50], 2: [9, 9, 14, 33, 35], 3: [18, 14, 18, 27, 23]}


@dataclass
class ActivityReport:
    calls: int = 0
    abandoned: int = 0
    surveys: int = 0
    answered: int = 0
    events: int = 0


def _profile(weights: dict[int, int]) -> tuple[list[int], list[float]]:
    slots = sorted(weights)
    total = sum(weights.values())
    cumulative, acc = [], 0.0
    for slot in slots:
        acc += weights[slot] / total
        cumulative.append(acc)
    return slots, cumulative


_PROFILES = {False: _profile(_WEEKDAY), True: _profile(_WEEKEND)}
# How busy each half-hour is against the day's mean: waits grow with it.
_PRESSURE = {
    weekend: {s: w / (sum(p.values()) / len(p)) for s, w in p.items()}
    for weekend, p in ((False, _WEEKDAY), (True, _WEEKEND))
}


class _Draw:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def reseed(self, ticket_id: int, salt: int) -> random.Random:
        """Draws depend on the ticket alone, not on the order of the run: a second run draws
        the same calls, surveys and escalations, and adds none (idempotent)."""
        self.rng.seed((self.seed * 1_000_003 + ticket_id) * 8 + salt)
        return self.rng

    def call_time(self, day: date) -> tuple[datetime, float]:
        """A moment of `day` drawn from the call centre's half-hour profile, and how busy
        that half-hour is (1.0 = an average one)."""
        weekend = day.weekday() >= 5
        slots, cumulative = _PROFILES[weekend]
        roll = self.rng.random()
        slot = slots[-1]
        for s, c in zip(slots, cumulative, strict=True):
            if roll <= c:
                slot = s
                break
        minute = slot * 30 + self.rng.uniform(0, 30)
        moment = datetime.combine(day, time.min, tzinfo=PARIS) + timedelta(minutes=minute)
        return moment, _PRESSURE[weekend][slot]

    def wait(self, pressure: float) -> int:
        # Half the callers get an agent at once; the others wait an exponential time whose
        # mean grows with the half-hour's load (about 80 % answered within 20 s overall).
        if self.rng.random() < 0.62 / max(pressure, 0.5) ** 0.5:
            return self.rng.randint(0, 4)
        return int(self.rng.expovariate(1 / (14 * pressure**1.5)))

    def handling(self, topic: str) -> int:
        median = 330 if topic in USUAL_LEVEL else 240
        return max(25, int(self.rng.lognormvariate(math.log(median), 0.45)))


def _agents() -> list[int]:
    return list(User.objects.filter(role=Role.AGENT).values_list("pk", flat=True)[:200])


def _calls(
    draw: _Draw, rows: list[tuple], contacts: dict[int, int], agents: list[int]
) -> list[CallRecord]:
    calls = []
    for pk, created_at, channel, _level, topic, brand_id, viewer_id, *_ in rows:
        if channel != Channel.PHONE:
            continue
        rng = draw.reseed(pk, 1)
        day = timezone.localtime(created_at, PARIS).date()
        # Some callers hang up before an agent answers, and call again: an abandoned call
        # (no ticket of its own) before the one that got through.
        moment, pressure = draw.call_time(day)
        if rng.random() < 0.05 * pressure:
            waited = int(rng.uniform(5, 90) * pressure)
            calls.append(
                CallRecord(
                    call_id=f"demo-{pk}-abandoned",
                    brand_id=brand_id,
                    viewer_id=viewer_id,
                    rang_at=moment,
                    ended_at=moment + timedelta(seconds=waited),
                    wait_seconds=waited,
                    abandoned=True,
                )
            )
            moment += timedelta(seconds=waited + rng.randint(60, 900))
        waited = draw.wait(pressure)
        handled = draw.handling(topic)
        answered = moment + timedelta(seconds=waited)
        calls.append(
            CallRecord(
                call_id=f"demo-{pk}",
                brand_id=brand_id,
                viewer_id=viewer_id,
                contact_id=contacts.get(pk),
                agent_id=rng.choice(agents) if agents else None,
                rang_at=moment,
                answered_at=answered,
                ended_at=answered + timedelta(seconds=handled),
                wait_seconds=waited,
                handling_seconds=handled,
            )
        )
    return calls


def _surveys(draw: _Draw, rows: list[tuple], now: datetime) -> list[Survey]:
    surveys = []
    for pk, _created, channel, level, topic, _brand, _viewer, team_id, resolved_at in rows:
        rng = draw.reseed(pk, 2)
        if resolved_at is None or rng.random() > 0.4:
            continue
        sent_at = resolved_at + timedelta(minutes=rng.randint(30, 24 * 60))
        if sent_at > now:
            continue
        by_phone = channel == Channel.PHONE and rng.random() < 0.3
        survey = Survey(
            ticket_id=pk,
            channel=Survey.Channel.PHONE if by_phone else Survey.Channel.EMAIL,
            team_id=team_id,
            level=level,
            topic=topic,
            ticket_channel=channel,
            sent_at=sent_at,
        )
        if rng.random() < (0.7 if by_phone else 0.28):
            answered_at = sent_at + timedelta(minutes=rng.expovariate(1 / 600))
            if answered_at <= now:
                survey.answered_at = answered_at
                survey.score = rng.choices((1, 2, 3, 4, 5), SCORE_WEIGHTS.get(level, [1] * 5))[0]
                if rng.random() < 0.35:
                    survey.comment = rng.choice(COMMENTS[survey.score])
        surveys.append(survey)
    return surveys


def _events(draw: _Draw, rows: list[tuple], known: set[int]) -> list[TicketEvent]:
    """Escalations and send-backs that explain each ticket's level against its topic's."""
    events = []
    for pk, created_at, _channel, level, topic, *_ in rows:
        if pk in known:
            continue
        rng = draw.reseed(pk, 3)
        usual = USUAL_LEVEL.get(topic, 1)
        at = created_at + timedelta(hours=rng.uniform(0.2, 30))
        if level > usual or (level == 3 and rng.random() < 0.3):
            # Escalated from the level below (an appeal reaches the mediator from level 2).
            events.append(
                TicketEvent(
                    ticket_id=pk,
                    at=at,
                    kind=TicketEventKind.ESCALATED,
                    from_value=str(level - 1),
                    to_value=str(level),
                    reason="Demande d'instruction par le service",
                    data={"demo": True},
                )
            )
        elif level < usual or (level == 1 and rng.random() < 0.03):
            # Escalated, then sent back: level 1 could answer after all.
            events.append(
                TicketEvent(
                    ticket_id=pk,
                    at=at,
                    kind=TicketEventKind.ESCALATED,
                    from_value=str(level),
                    to_value=str(level + 1),
                    reason="Question hors script",
                    data={"demo": True},
                )
            )
            events.append(
                TicketEvent(
                    ticket_id=pk,
                    at=at + timedelta(hours=rng.uniform(1, 48)),
                    kind=TicketEventKind.SENT_BACK,
                    from_value=str(level + 1),
                    to_value=str(level),
                    reason="Réponse type disponible au niveau 1",
                    data={"demo": True},
                )
            )
    return events


def seed_activity(
    *,
    since: datetime,
    rng_seed: int = 2026,
    progress: Callable[[str], None] = lambda _msg: None,
    now: datetime | None = None,
) -> ActivityReport:
    """Add calls, surveys and escalation events for the tickets created since `since`.

    Idempotent: calls and surveys are unique per ticket (conflicts are ignored) and a ticket
    that already has an escalation or send-back event gets none.
    """
    now = now or timezone.now()
    draw = _Draw(rng_seed)
    agents = _agents()
    report = ActivityReport()
    last_pk = 0
    base = Ticket.objects.filter(created_at__gte=since).order_by("pk")
    while True:
        rows = list(
            base.filter(pk__gt=last_pk).values_list(
                "pk",
                "created_at",
                "channel",
                "level",
                "topic",
                "brand_id",
                "viewer_id",
                "team_id",
                "resolved_at",
            )[:CHUNK]
        )
        if not rows:
            break
        last_pk = rows[-1][0]
        ids = [r[0] for r in rows]
        phone_ids = [r[0] for r in rows if r[2] == Channel.PHONE]
        contacts = dict(
            Contact.objects.filter(
                ticket_id__in=phone_ids, channel=Channel.PHONE, direction=Direction.INBOUND
            ).values_list("ticket_id", "pk")
        )
        known = set(
            TicketEvent.objects.filter(
                ticket_id__in=ids,
                kind__in=[TicketEventKind.ESCALATED, TicketEventKind.SENT_BACK],
            ).values_list("ticket_id", flat=True)
        )
        calls = _calls(draw, rows, contacts, agents)
        surveys = _surveys(draw, rows, now)
        events = _events(draw, rows, known)
        with transaction.atomic():
            CallRecord.objects.bulk_create(calls, batch_size=5000, ignore_conflicts=True)
            Survey.objects.bulk_create(surveys, batch_size=5000, ignore_conflicts=True)
            TicketEvent.objects.bulk_create(events, batch_size=5000)
        report.calls += len(calls)
        report.abandoned += sum(1 for c in calls if c.abandoned)
        report.surveys += len(surveys)
        report.answered += sum(1 for s in surveys if s.score)
        report.events += len(events)
        progress(f"tickets up to #{last_pk}: {report.calls} calls, {report.surveys} surveys")
    return report
