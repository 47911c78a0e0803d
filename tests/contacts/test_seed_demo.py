import pytest
from django.core.management import call_command

from accounts.models import User
from contacts.models import Contact, Status, Ticket, Viewer

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_tickets_over_years_and_one_user_per_role(capsys):
    call_command("seed_demo", viewers=60, tickets=400, years=3)
    out = capsys.readouterr().out
    assert Viewer.objects.count() == 60
    assert Ticket.objects.count() == 400
    assert Contact.objects.filter(direction="in").count() == 400
    assert set(User.objects.values_list("role", flat=True)) == {
        "agent",
        "mailroom",
        "srt",
        "mediator",
        "manager",
        "admin",
    }
    assert "demo-crm-2026" in out and "agent" in out
    years = {d.year for d in Ticket.objects.dates("created_at", "year")}
    assert len(years) >= 3
    # Old tickets are finished, recent ones include open work.
    assert Ticket.objects.filter(status=Status.CLOSED).exists()
    assert Ticket.objects.exclude(status__in=["resolved", "closed"]).exists()
    # Most requests are level 1, as in production (about 80 %).
    share = Ticket.objects.filter(level=1).count() / 400
    assert 0.65 < share < 0.92
    references = list(Ticket.objects.values_list("reference", flat=True))
    assert len(set(references)) == 400 and all(r.startswith("FTV-") for r in references)
    viewer = Viewer.objects.first()
    assert viewer.emails.exists() and viewer.search_text
    # Finished demo tickets were answered at their level: their page shows no running clock.
    finished = Ticket.objects.filter(status__in=["resolved", "closed"])
    assert not finished.filter(level_first_responded_at__isnull=True).exists()


def test_seed_demo_if_empty_does_nothing_the_second_time(capsys):
    call_command("seed_demo", viewers=10, tickets=20, no_users=True)
    call_command("seed_demo", viewers=10, tickets=20, if_empty=True, no_users=True)
    assert Ticket.objects.count() == 20
    assert "nothing to do" in capsys.readouterr().out


def test_seed_demo_adds_more_on_a_second_run_without_reference_clashes():
    call_command("seed_demo", viewers=10, tickets=30, no_users=True)
    call_command("seed_demo", viewers=10, tickets=30, no_users=True, seed=7)
    assert Ticket.objects.count() == 60
