"""The call desk and the viewer card show the caller's open requests at every level whose
standing the user may know (reference, level, state, due date), their content only where the
user may read it; a call can be attached to such a request (issue 15, observation 3)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import gettext

from contacts.models import Contact, Status, Ticket
from contacts.selectors import viewer_card, viewer_open_tickets
from tests.factories import TicketFactory, ViewerFactory, brand

pytestmark = pytest.mark.django_db

SECRET = "Plainte sur le sous-titrage de Plus belle la vie"


@pytest.fixture
def level2(db):
    due = timezone.now() + timedelta(days=3)
    return TicketFactory(
        viewer=ViewerFactory(),
        level=2,
        status=Status.IN_PROGRESS,
        subject=SECRET,
        resolution_due_at=due,
    )


def log(client, **data):
    form = {
        "brand": brand("france2").pk,
        "reason": "programme_info",
        "outcome": "resolved",
        "notes": "Rappelle pour savoir où en est sa demande.",
        **data,
    }
    return client.post("/calls/", form)


def test_agent_sees_the_standing_of_a_level_2_request_not_its_content(
    client, agent, level2, intake_env
):
    client.force_login(agent)

    page = client.get("/calls/", {"viewer": level2.viewer.pk}).content.decode()

    assert level2.reference in page
    assert gettext("level %(n)s") % {"n": 2} in page
    assert level2.get_status_display() in page
    assert (
        level2.resolution_due_at.astimezone(timezone.get_current_timezone()).strftime("%d/%m/%Y")
        in page
    )
    assert SECRET not in page
    assert f"/tickets/{level2.pk}/" not in page
    assert gettext("No open ticket.") not in page


def test_agent_attaches_the_call_to_the_level_2_request_without_changing_it(
    client, agent, level2, intake_env
):
    client.force_login(agent)

    response = log(client, viewer=level2.viewer.pk, ticket=level2.pk)

    assert response.status_code == 302
    contact = Contact.objects.get(channel="phone")
    assert contact.ticket == level2
    assert Ticket.objects.count() == 1
    level2.refresh_from_db()
    assert level2.level == 2
    assert level2.status == Status.IN_PROGRESS  # "resolved" on the phone is not the agent's call
    followed = client.get("/calls/").content.decode()
    assert level2.reference in followed
    assert SECRET not in followed


def test_srt_reads_the_request_it_handles(client, srt, level2, intake_env):
    client.force_login(srt)

    page = client.get("/calls/", {"viewer": level2.viewer.pk}).content.decode()

    assert level2.reference in page
    assert SECRET in page
    assert f"/tickets/{level2.pk}/" in page


def test_agent_of_another_brand_sees_nothing_and_cannot_attach(
    client, outsider, level2, intake_env
):
    client.force_login(outsider)  # an agent of France 5 only

    page = client.get("/calls/", {"viewer": level2.viewer.pk}).content.decode()
    assert level2.reference not in page
    assert gettext("No open ticket.") in page

    response = log(client, viewer=level2.viewer.pk, ticket=level2.pk, brand=brand("france5").pk)
    assert response.status_code == 404
    assert not Contact.objects.filter(ticket=level2).exists()
    assert viewer_open_tickets(user=outsider, viewer=level2.viewer) == []


def test_mailroom_may_not_track(mailroom, level2):
    assert viewer_open_tickets(user=mailroom, viewer=level2.viewer) == []


def test_viewer_card_shows_open_requests_at_every_level(client, agent, level2):
    level1 = TicketFactory(viewer=level2.viewer, subject="Horaires du 20h")
    card = viewer_card(user=agent, viewer=level2.viewer)

    by_ref = {t.reference: t for t in card.open_tickets}
    assert set(by_ref) == {level1.reference, level2.reference}
    assert by_ref[level1.reference].readable
    assert not by_ref[level2.reference].readable
    assert [t.reference for t in card.tickets] == [level1.reference]

    client.force_login(agent)
    page = client.get(f"/viewers/{level2.viewer.pk}/").content.decode()
    assert level2.reference in page
    assert SECRET not in page
    assert "Horaires du 20h" in page


def test_open_requests_cost_one_query(agent, level2, django_assert_num_queries):
    for _ in range(3):
        TicketFactory(viewer=level2.viewer, level=3, status=Status.IN_PROGRESS)
    agent.brands.all()  # the brand scope's queries are cached on the user
    viewer_open_tickets(user=agent, viewer=level2.viewer)
    with django_assert_num_queries(1):
        tickets = viewer_open_tickets(user=agent, viewer=level2.viewer)
    assert len(tickets) == 4
