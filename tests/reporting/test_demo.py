"""seed_activity: calls, surveys and escalations on demo tickets, idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts import demo as contacts_demo
from contacts.models import CallRecord, Channel, Ticket, TicketEvent
from reporting.demo import seed_activity
from satisfaction.models import Survey

pytestmark = pytest.mark.django_db


def test_seed_activity_is_realistic_and_idempotent():
    contacts_demo.seed(viewers=50, tickets=600, years=1, seed=3)
    since = timezone.now() - timedelta(days=400)
    report = seed_activity(since=since, rng_seed=5)
    phone = Ticket.objects.filter(channel=Channel.PHONE).count()
    answered = CallRecord.objects.filter(abandoned=False)
    # One answered call per phone ticket, plus callers who hung up first.
    assert answered.count() == phone
    assert report.abandoned == CallRecord.objects.filter(abandoned=True).count() > 0
    # Calls ring during the call centre's opening hours (local time), waits mostly short.
    hours = {timezone.localtime(c.rang_at).hour for c in answered}
    assert min(hours) >= 8 and max(hours) <= 19
    within_20 = answered.filter(wait_seconds__lte=20).count() / answered.count()
    assert 0.6 < within_20 < 0.95
    # Surveys for a share of resolved tickets, skewed positive, some with a French comment.
    surveys = Survey.objects.all()
    assert 0 < surveys.count() < Ticket.objects.filter(resolved_at__isnull=False).count()
    scores = list(surveys.filter(score__isnull=False).values_list("score", flat=True))
    assert sum(s >= 4 for s in scores) / len(scores) > 0.5
    assert surveys.exclude(comment="").exists()
    assert all(s.sent_at <= timezone.now() for s in surveys)
    assert TicketEvent.objects.filter(kind="escalated").exists()
    # Running it again adds nothing.
    counts = (CallRecord.objects.count(), Survey.objects.count(), TicketEvent.objects.count())
    seed_activity(since=since, rng_seed=5)
    assert counts == (
        CallRecord.objects.count(),
        Survey.objects.count(),
        TicketEvent.objects.count(),
    )


def test_seed_activity_command(capsys):
    contacts_demo.seed(viewers=10, tickets=50, years=1, seed=4)
    call_command("seed_activity", "--days", "400")
    assert "calls" in capsys.readouterr().out
