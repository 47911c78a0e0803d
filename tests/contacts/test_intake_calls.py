"""The call desk: find the caller, see their open tickets, log the call resolved on the spot or
handed to triage; find-or-create of viewers across channels."""

import pytest

from contacts.models import (
    CallRecord,
    Contact,
    Status,
    Ticket,
    Viewer,
    ViewerDuplicate,
    ViewerPhone,
)
from contacts.services.intake import SenderIdentity, viewer_find_or_create
from tests.factories import TicketFactory, ViewerFactory, brand

pytestmark = pytest.mark.django_db


def searchable(viewer):
    from contacts.services.viewers import viewer_refresh_search_text

    viewer_refresh_search_text(viewer=viewer)
    return viewer


def log(client, **data):
    form = {
        "brand": brand("france2").pk,
        "reason": "programme_info",
        "outcome": "resolved",
        "notes": "Demande l'heure de rediffusion du journal.",
        **data,
    }
    return client.post("/calls/", form)


def test_desk_finds_viewers_by_phone_email_name_and_postcode(client, agent, intake_env):
    viewer = ViewerFactory(
        first_name="Jeanne", last_name="Lefèvre", postcode="29150", email="jeanne.l@example.fr"
    )
    ViewerPhone.objects.create(viewer=viewer, number="+33612345678")
    from contacts.services.viewers import viewer_refresh_search_text

    viewer_refresh_search_text(viewer=viewer)
    client.force_login(agent)

    for query in ("06 12 34 56 78", "jeanne.l@example.fr", "lefevre 29150"):
        response = client.get("/calls/", {"q": query})
        assert response.status_code == 200
        assert f"?viewer={viewer.pk}" in response.content.decode(), query


def test_htmx_search_returns_the_results_fragment_only(client, agent, intake_env):
    searchable(ViewerFactory(last_name="Tanguy"))
    client.force_login(agent)

    response = client.get("/calls/", {"q": "tanguy", "partial": "results"}, HTTP_HX_REQUEST="true")

    assert "Tanguy" in response.content.decode() and "<html" not in response.content.decode()


def test_call_answered_on_the_spot_resolves_a_new_ticket(client, agent, intake_env):
    client.force_login(agent)

    response = log(client, last_name="Morvan", phone="06 98 76 54 32")

    assert response.status_code == 302
    contact = Contact.objects.get(channel="phone")
    assert contact.author == agent and contact.meta["outcome"] == "resolved"
    ticket = contact.ticket
    assert ticket.status == Status.RESOLVED and ticket.topic == "programme_info"
    assert contact.viewer.phones.get().number == "+33698765432"


def test_call_handed_to_triage_leaves_the_ticket_new(client, agent, intake_env):
    client.force_login(agent)

    log(client, last_name="Morvan", outcome="triage")

    assert Ticket.objects.get().status == Status.NEW


def test_call_on_a_chosen_open_ticket_joins_it(client, agent, intake_env):
    viewer = ViewerFactory()
    ticket = TicketFactory(viewer=viewer, status=Status.TRIAGED)
    client.force_login(agent)

    page = client.get("/calls/", {"viewer": viewer.pk})
    assert ticket.reference in page.content.decode()
    log(client, viewer=viewer.pk, ticket=ticket.pk, outcome="triage")

    assert Contact.objects.get(channel="phone").ticket == ticket
    assert Ticket.objects.count() == 1


def test_call_from_the_telephony_links_its_record(client, agent, intake_env):
    call = CallRecord.objects.create(
        call_id="c-9",
        caller_number="+33611111111",
        rang_at="2026-03-02T10:00:00Z",
        brand=brand("france2"),
    )
    client.force_login(agent)
    page = client.get("/calls/", {"call": "c-9"})
    assert "+33611111111" in page.content.decode()

    log(client, call="c-9", last_name="Guivarc'h", phone="+33611111111")

    call.refresh_from_db()
    assert call.contact is not None and call.viewer is not None
    assert call.contact.external_id == "c-9"


def test_brand_outside_the_agent_scope_is_refused(client, outsider, intake_env):
    client.force_login(outsider)  # an agent of France 5 only
    response = log(client, last_name="Morvan")
    assert response.status_code == 400 and Contact.objects.count() == 0


def test_desk_is_closed_to_the_mailroom(client, mailroom):
    client.force_login(mailroom)
    assert client.get("/calls/").status_code == 403


def test_desk_query_count_stays_flat(client, agent, intake_env, django_assert_max_num_queries):
    for i in range(15):
        TicketFactory(viewer=searchable(ViewerFactory(last_name=f"Kerdudo{i}")))
    client.force_login(agent)
    with django_assert_max_num_queries(20):
        response = client.get("/calls/", {"q": "kerdudo"})
    assert response.content.decode().count("?viewer=") == 15


# --- find-or-create across channels ------------------------------------------------------------


def test_email_and_phone_find_the_same_viewer():
    viewer = ViewerFactory(email="a.b@example.fr")
    ViewerPhone.objects.create(viewer=viewer, number="+33612345678")

    assert viewer_find_or_create(sender=SenderIdentity(email="A.B@Example.fr")) == viewer
    assert viewer_find_or_create(sender=SenderIdentity(phone="06 12 34 56 78")) == viewer


def test_name_and_postcode_find_a_letter_writer():
    viewer = ViewerFactory(first_name="Jeanne", last_name="Dupuis", postcode="29150")

    found = viewer_find_or_create(
        sender=SenderIdentity(first_name="Jeanne", last_name="DUPUIS", postcode="29150")
    )
    assert found == viewer


def test_ambiguous_match_is_recorded_for_staff_never_merged():
    existing = ViewerFactory(first_name="Jean", last_name="Martin", postcode="75011")

    found = viewer_find_or_create(
        sender=SenderIdentity(
            email="autre@example.fr", first_name="Jean", last_name="Martin", postcode="75011"
        )
    )

    assert found != existing and Viewer.objects.count() == 2
    duplicate = ViewerDuplicate.objects.get()
    assert {duplicate.viewer_id, duplicate.other_id} == {existing.pk, found.pk}
    assert existing.merged_into is None and found.merged_into is None


def test_shared_email_picks_the_named_viewer_and_records_the_doubt():
    a = ViewerFactory(first_name="Paul", last_name="Girard", email="famille@example.fr")
    b = ViewerFactory(first_name="Anne", last_name="Girard", email="famille@example.fr")

    found = viewer_find_or_create(
        sender=SenderIdentity(email="famille@example.fr", name="Anne Girard")
    )

    assert found == b
    assert ViewerDuplicate.objects.filter(viewer=a, other=b).exists()
