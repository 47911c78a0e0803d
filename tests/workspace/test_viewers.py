"""Viewer pages: search (accent-insensitive, by name, email, phone, postcode, reference),
the viewer page with its history, editing, consents, merging and undoing a merge."""

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent
from contacts.models import CallRecord, Contact, Ticket, Viewer, ViewerConsent, ViewerEmail
from contacts.selectors import viewer_search
from contacts.services import ViewerDetails, viewer_create, viewer_merge, viewer_merge_undo
from tests.factories import TicketFactory, brand
from tests.markers import requires_postgres

from .helpers import workspace_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    helene = viewer_create(
        details=ViewerDetails(
            civility="Mme",
            first_name="Hélène",
            last_name="Lefèvre",
            postcode="29150",
            city="Châteaulin",
        ),
        emails=["helene.lefevre@orange.fr"],
        phones=["06 12 34 56 78"],
    )
    francois = viewer_create(
        details=ViewerDetails(
            first_name="François", last_name="Garçon", postcode="75015", city="Paris"
        ),
        emails=["f.garcon@free.fr"],
    )
    return helene, francois


@pytest.mark.parametrize(
    "query",
    [
        "lefevre",
        "Lefèvre",
        "HELENE lef",
        "helene.lefevre@orange.fr",
        "06 12 34 56 78",
        "+33612345678",
        "29150",
        "chateaulin",
    ],
)
def test_search_finds_a_viewer_however_typed(agent, people, query):
    helene, _ = people
    result = viewer_search(user=agent, query=query)
    assert [v.pk for v in result.viewers] == [helene.pk], result.kind


def test_search_by_reference_finds_only_tickets_in_scope(agent, people):
    helene, francois = people
    mine = TicketFactory(viewer=helene, reference="FTV-2026-000777", level=1)
    TicketFactory(viewer=francois, reference="FTV-2026-000778", level=2)
    result = viewer_search(user=agent, query="ftv-2026-000777")
    assert result.kind == "reference" and result.ticket == mine
    assert [v.pk for v in result.viewers] == [helene.pk]
    assert viewer_search(user=agent, query="FTV-2026-000778").viewers == []
    assert viewer_search(user=agent, query="2026-778").viewers == []


def test_merged_viewers_are_left_out_of_the_search(srt, people):
    helene, francois = people
    viewer_merge(source=francois, target=helene, by=srt)
    assert viewer_search(user=srt, query="francois").viewers == []
    assert [v.pk for v in viewer_search(user=srt, query="f.garcon@free.fr").viewers] == [helene.pk]


def test_search_page_and_htmx_fragment(client, agent, people, django_assert_num_queries):
    client.force_login(agent)
    client.get(reverse("contacts:viewer_search"))
    # session, user, search, emails, phones
    with django_assert_num_queries(5):
        response = client.get(reverse("contacts:viewer_search"), {"q": "lefevre"})
    assert "Hélène" in response.content.decode()
    fragment = client.get(
        reverse("contacts:viewer_search"), {"q": "garcon"}, HTTP_HX_REQUEST="true"
    )
    assert "<html" not in fragment.content.decode() and "Garçon" in fragment.content.decode()


def test_viewer_page_shows_history_in_scope_with_a_pinned_query_count(
    client, agent, django_assert_num_queries
):
    ticket = workspace_ticket(contacts=2)
    viewer = ticket.viewer
    for _ in range(4):
        workspace_ticket(viewer=viewer, contacts=1)
    hidden = TicketFactory(viewer=viewer, level=2, subject="Secret de niveau deux")
    client.force_login(agent)
    page = reverse("contacts:viewer", args=[viewer.pk])
    client.get(page)
    # session, user, brand scope (2), viewer, consents, tickets (card), emails, phones,
    # channel counts, open requests (tracked), tickets (page), contacts, merges, duplicates,
    # merged viewers
    with django_assert_num_queries(16):
        response = client.get(page)
    html = response.content.decode()
    # The level-2 request's standing is shown (the agent may track it), never its content.
    assert ticket.reference in html and hidden.reference in html
    assert "Secret de niveau deux" not in html
    assert reverse("contacts:ticket", args=[hidden.pk]) not in html


def test_viewer_history_is_keyset_paginated(client, srt):
    ticket = workspace_ticket(level=2)
    for _ in range(30):
        TicketFactory(viewer=ticket.viewer, level=2)
    client.force_login(srt)
    first = client.get(reverse("contacts:viewer", args=[ticket.viewer.pk]))
    cursor = first.context["history"].next_cursor
    assert cursor
    second = client.get(reverse("contacts:viewer", args=[ticket.viewer.pk]), {"before": cursor})
    first_refs = {t.reference for t in first.context["card"].tickets}
    second_refs = {t.reference for t in second.context["card"].tickets}
    assert len(first_refs) == 25 and len(second_refs) == 6 and not first_refs & second_refs


def test_editing_details_emails_and_phones_is_audited(client, agent, people):
    helene, _ = people
    client.force_login(agent)
    response = client.post(
        reverse("contacts:viewer_edit", args=[helene.pk]),
        {
            "civility": "Mme",
            "first_name": "Hélène",
            "last_name": "Le Fèvre",
            "sender_kind": "private",
            "address_line1": "3 quai Cosmao",
            "postcode": "29150",
            "city": "Châteaulin",
            "country": "FR",
            "emails": "helene@laposte.net\nhelene.lefevre@orange.fr",
            "phones": "0612345678",
        },
    )
    assert response.status_code == 302
    helene.refresh_from_db()
    assert helene.last_name == "Le Fèvre" and "le fevre" in helene.search_text
    primary = ViewerEmail.objects.get(viewer=helene, is_primary=True)
    assert primary.email == "helene@laposte.net"
    event = AuditEvent.objects.get(action="viewer.update")
    assert event.data["changed"]["last_name"] == ["Lefèvre", "Le Fèvre"]


def test_consents_keep_their_history(client, agent, people):
    helene, _ = people
    client.force_login(agent)
    url = reverse("contacts:viewer_consent", args=[helene.pk])
    client.post(url, {"kind": "marketing", "granted": "1", "source": "appel du 3 mars"})
    client.post(url, {"kind": "marketing", "granted": "0", "source": "courrier"})
    consents = list(ViewerConsent.objects.filter(viewer=helene).order_by("recorded_at", "pk"))
    assert [c.granted for c in consents] == [True, False]
    assert consents[0].recorded_by == agent


def test_merge_moves_everything_and_undo_puts_it_back(srt, people):
    helene, francois = people
    t1 = TicketFactory(viewer=francois, level=2)
    contact = Contact.objects.create(
        ticket=t1, viewer=francois, channel="email", direction="in", body_text="x"
    )
    call = CallRecord.objects.create(call_id="c-1", viewer=francois, rang_at=t1.created_at)
    ViewerConsent.objects.create(viewer=francois, kind="survey", granted=False, source="x")
    event = viewer_merge(source=francois, target=helene, by=srt)
    francois.refresh_from_db()
    assert francois.merged_into == helene
    assert Ticket.objects.get(pk=t1.pk).viewer == helene
    assert Contact.objects.get(pk=contact.pk).viewer == helene
    assert CallRecord.objects.get(pk=call.pk).viewer == helene
    assert set(helene.emails.values_list("email", flat=True)) == {
        "helene.lefevre@orange.fr",
        "f.garcon@free.fr",
    }
    assert event.action == "viewer.merge" and event.data["moved"]["tickets"] == [t1.pk]
    # A ticket opened after the merge stays with the survivor.
    later = TicketFactory(viewer=helene)
    viewer_merge_undo(event=event, by=srt)
    francois.refresh_from_db()
    assert francois.merged_into is None
    assert Ticket.objects.get(pk=t1.pk).viewer == francois
    assert Ticket.objects.get(pk=later.pk).viewer == helene
    assert Contact.objects.get(pk=contact.pk).viewer == francois
    assert CallRecord.objects.get(pk=call.pk).viewer == francois
    assert list(francois.emails.values_list("email", flat=True)) == ["f.garcon@free.fr"]
    assert francois.emails.get().is_primary
    assert ViewerConsent.objects.get(source="x").viewer == francois
    with translation.override("en"), pytest.raises(ValueError, match="already undone"):
        viewer_merge_undo(event=event, by=srt)


def test_merge_and_undo_through_the_pages(client, srt, agent, people):
    helene, francois = people
    client.force_login(agent)
    assert (
        client.post(
            reverse("contacts:viewer_merge", args=[helene.pk]),
            {"other": francois.pk, "confirm": "1"},
        ).status_code
        == 403
    )
    client.force_login(srt)
    compare = client.get(reverse("contacts:viewer_merge", args=[helene.pk]), {"other": francois.pk})
    assert "Garçon" in compare.content.decode()
    client.post(
        reverse("contacts:viewer_merge", args=[helene.pk]), {"other": francois.pk, "confirm": "1"}
    )
    assert Viewer.objects.get(pk=francois.pk).merged_into_id == helene.pk
    event = AuditEvent.objects.get(action="viewer.merge")
    page = client.get(reverse("contacts:viewer", args=[helene.pk])).content.decode()
    assert reverse("contacts:viewer_merge_undo", args=[event.pk]) in page
    client.post(reverse("contacts:viewer_merge_undo", args=[event.pk]))
    assert Viewer.objects.get(pk=francois.pk).merged_into_id is None
    page = client.get(reverse("contacts:viewer", args=[helene.pk])).content.decode()
    assert reverse("contacts:viewer_merge_undo", args=[event.pk]) not in page


def test_mailroom_reads_viewer_cards_but_outsiders_see_no_other_brands_tickets(
    client, mailroom, outsider
):
    ticket = workspace_ticket()
    client.force_login(mailroom)
    assert client.get(reverse("contacts:viewer", args=[ticket.viewer.pk])).status_code == 200
    client.force_login(outsider)
    html = client.get(reverse("contacts:viewer", args=[ticket.viewer.pk])).content.decode()
    assert ticket.reference not in html
    _ = brand


@requires_postgres
def test_misspelt_names_and_stems_are_found_on_postgresql(agent, people):
    helene, francois = people
    result = viewer_search(user=agent, query="lefevrre")
    assert result.fuzzy and helene.pk in [v.pk for v in result.viewers]
    # The planner settings of the fuzzy search do not leak into the caller's transaction.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"
