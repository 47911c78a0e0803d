"""Actions of the ticket page: notes, status, resolution (and the survey), taking, merging;
collisions: a post made on an older version is refused with the new state shown."""

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import Contact, Status, Ticket, TicketEventKind
from satisfaction.models import Survey
from tests.factories import TicketFactory

from .helpers import consent, team, workspace_ticket

pytestmark = pytest.mark.django_db


def post(client, name, ticket, **data):
    data.setdefault("version", ticket.version)
    return client.post(reverse(name, args=[ticket.pk]), data)


def test_agent_adds_a_level_one_note(client, agent):
    ticket = workspace_ticket()
    client.force_login(agent)
    response = post(client, "contacts:ticket_note", ticket, body="Vu avec le service replay")
    assert response.status_code == 302
    note = ticket.notes.get()
    assert note.level == 1 and note.author == agent


def test_status_change_goes_through_the_workflow_map(client, agent):
    ticket = workspace_ticket()
    client.force_login(agent)
    response = post(client, "contacts:ticket_status", ticket, to=Status.WAITING_INTERNAL)
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_INTERNAL


def test_status_posted_on_an_older_version_is_refused_with_the_new_state(client, agent, srt):
    ticket = workspace_ticket()
    old_version = ticket.version
    client.force_login(srt)
    post(client, "contacts:ticket_status", ticket, to=Status.WAITING_INTERNAL)
    client.force_login(agent)
    response = post(
        client, "contacts:ticket_status", ticket, to=Status.IN_PROGRESS, version=old_version
    )
    assert response.status_code == 409
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_INTERNAL
    assert 'id="stale"' in response.content.decode()


def test_resolving_sends_one_survey_to_a_consenting_viewer_with_a_working_email(
    client, agent, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    consent(ticket.viewer, kind="survey", granted=True)
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "contacts:ticket_resolve", ticket, outcome="answered")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.outcome == "answered"
    survey = Survey.objects.get(ticket=ticket)
    assert survey.level == 1 and survey.team_id == ticket.team_id
    assert len(mail.outbox) == 1
    assert "/satisfaction/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["helene.lefevre@example.fr"]


def test_resolving_as_a_duplicate_sends_no_survey(client, agent):
    ticket = workspace_ticket()
    client.force_login(agent)
    post(client, "contacts:ticket_resolve", ticket, outcome="duplicate")
    assert not Survey.objects.filter(ticket=ticket).exists()
    assert mail.outbox == []


def test_take_assigns_to_me_and_moves_to_in_progress(client, agent):
    ticket = workspace_ticket()
    client.force_login(agent)
    post(client, "contacts:ticket_take", ticket)
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == Status.IN_PROGRESS


def test_srt_merges_a_duplicate_ticket(client, srt):
    stays = workspace_ticket(level=2, contacts=1)
    dup = workspace_ticket(level=2, contacts=2, viewer=stays.viewer)
    moved = set(Contact.objects.filter(ticket=dup).values_list("pk", flat=True))
    client.force_login(srt)
    response = post(
        client, "contacts:ticket_merge", dup, target=stays.reference, reason="Même demande"
    )
    assert response.status_code == 302
    dup.refresh_from_db()
    assert dup.merged_into == stays and dup.status == Status.CLOSED and dup.outcome == "duplicate"
    assert set(Contact.objects.filter(ticket=stays).values_list("pk", flat=True)) >= moved
    assert stays.events.filter(kind=TicketEventKind.MERGED).exists()


def test_agents_may_not_merge_and_tickets_of_different_viewers_are_not_merged(client, agent, srt):
    a = workspace_ticket()
    b = workspace_ticket()
    client.force_login(agent)
    assert (
        post(client, "contacts:ticket_merge", a, target=b.reference, reason="x").status_code == 403
    )
    a2 = workspace_ticket(level=2)
    b2 = workspace_ticket(level=2)
    client.force_login(srt)
    post(client, "contacts:ticket_merge", a2, target=b2.reference, reason="x")
    a2.refresh_from_db()
    assert a2.merged_into is None


def test_presence_shows_colleagues_with_the_same_ticket_open(client, agent, srt, manager):
    ticket = workspace_ticket()
    presence = reverse("contacts:ticket_presence", args=[ticket.pk])
    client.force_login(srt)
    first = client.get(presence, {"v": ticket.version}).content.decode()
    assert str(srt) not in first  # alone
    client.force_login(agent)
    html = client.get(presence, {"v": ticket.version}).content.decode()
    assert str(srt) in html
    client.force_login(srt)
    assert str(agent) in client.get(presence, {"v": ticket.version}).content.decode()
    # Leaving removes the mark.
    client.post(reverse("contacts:ticket_presence_leave", args=[ticket.pk]))
    client.force_login(manager)
    html = client.get(presence, {"v": ticket.version}).content.decode()
    assert str(srt) not in html and str(agent) in html


def test_presence_only_names_colleagues_who_may_still_read_the_ticket(client, agent, srt):
    ticket = workspace_ticket()
    presence = reverse("contacts:ticket_presence", args=[ticket.pk])
    client.force_login(agent)
    client.get(presence, {"v": ticket.version})
    client.force_login(srt)
    assert str(agent) in client.get(presence, {"v": ticket.version}).content.decode()
    # The ticket went up to level 2: the level-1 agent may no longer read it.
    Ticket.objects.filter(pk=ticket.pk).update(level=2, team=team("srt-france2"))
    html = client.get(presence, {"v": ticket.version}).content.decode()
    assert str(agent) not in html and "presence" not in html
    # A deactivated colleague is not shown either.
    Ticket.objects.filter(pk=ticket.pk).update(level=1)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert str(agent) not in client.get(presence, {"v": ticket.version}).content.decode()


def test_presence_says_when_the_ticket_changed_since_the_page_was_opened(client, agent):
    ticket = workspace_ticket()
    client.force_login(agent)
    seen = ticket.version
    Ticket.objects.filter(pk=ticket.pk).update(version=seen + 1)
    html = client.get(
        reverse("contacts:ticket_presence", args=[ticket.pk]), {"v": seen}
    ).content.decode()
    assert 'role="alert"' in html


def test_presence_of_a_ticket_out_of_scope_is_a_404(client, agent):
    ticket = TicketFactory(level=2)
    client.force_login(agent)
    assert client.get(reverse("contacts:ticket_presence", args=[ticket.pk])).status_code == 404


def test_phone_score_is_recorded_once(client, agent):
    ticket = workspace_ticket(channel="phone")
    client.force_login(agent)
    response = client.post(reverse("contacts:ticket_phone_score", args=[ticket.pk]), {"score": 4})
    assert response.status_code == 302
    survey = Survey.objects.get(ticket=ticket)
    assert survey.score == 4 and survey.channel == "phone" and survey.answered_at
    client.post(reverse("contacts:ticket_phone_score", args=[ticket.pk]), {"score": 1})
    survey.refresh_from_db()
    assert survey.score == 4
