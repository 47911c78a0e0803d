"""The ticket page: what each role sees, the thread across channels, notes by level, the
viewer card's history, and a fixed number of queries whatever the thread's length."""

import pytest
from django.urls import reverse

from contacts.models import Channel, Contact, Direction, Status
from tests.factories import TicketFactory, brand

from .helpers import add_notes, inbound_email, workspace_ticket

pytestmark = pytest.mark.django_db


def url(ticket):
    return reverse("contacts:ticket", args=[ticket.pk])


def test_agent_sees_the_thread_across_channels_in_order(client, agent):
    ticket = workspace_ticket(contacts=2)
    client.force_login(agent)
    response = client.get(url(ticket))
    assert response.status_code == 200
    html = response.content.decode()
    # The first message is HTML: shown in its frame.
    first = ticket.contacts.exclude(body_html="").get()
    first_frame = reverse("contacts:contact_html", args=[first.pk])
    assert html.index(first_frame) < html.index("Message 1") < html.index("A rappelé")
    # The call's record: waiting and handling time.
    assert "42 s" in html and "185 s" in html
    assert ticket.reference in html


def test_email_html_is_shown_inside_a_sandboxed_frame_with_its_own_policy(client, agent):
    ticket = workspace_ticket(contacts=1)
    client.force_login(agent)
    html = client.get(url(ticket)).content.decode()
    assert 'sandbox="allow-same-origin"' in html
    # The sanitised HTML is never injected into the page: the frame loads it as its own document.
    assert "<p>Message 0 : <b>quand</b>" not in html
    contact = ticket.contacts.exclude(body_html="").get()
    frame = client.get(reverse("contacts:contact_html", args=[contact.pk]))
    assert "<p>Message 0 : <b>quand</b> ?</p>" in frame.content.decode()
    policy = frame["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "img-src data:" in policy  # remote images stay blocked
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


def test_agent_never_reads_level_two_notes(client, agent, srt):
    ticket = workspace_ticket()
    add_notes(ticket, agent=agent, srt=srt)
    client.force_login(agent)
    html = client.get(url(ticket)).content.decode()
    assert "Note niveau un" in html
    assert "Note confidentielle SRT" not in html
    client.force_login(srt)
    html = client.get(url(ticket)).content.decode()
    assert "Note confidentielle SRT" in html


def test_level_two_ticket_is_a_404_for_an_agent_and_another_brand_for_an_outsider(
    client, agent, outsider, srt
):
    level2 = workspace_ticket(level=2)
    client.force_login(agent)
    assert client.get(url(level2)).status_code == 404
    level1 = workspace_ticket(level=1)
    client.force_login(outsider)
    assert client.get(url(level1)).status_code == 404
    client.force_login(srt)
    assert client.get(url(level2)).status_code == 200


def test_anonymous_is_sent_to_the_login_page(client):
    ticket = workspace_ticket()
    response = client.get(url(ticket))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_viewer_card_shows_other_tickets_only_within_the_users_scope(client, agent):
    ticket = workspace_ticket()
    viewer = ticket.viewer
    visible = TicketFactory(viewer=viewer, subject="Autre demande visible", level=1)
    TicketFactory(viewer=viewer, subject="Demande au niveau deux", level=2)
    TicketFactory(viewer=viewer, subject="Demande France 5", brand=brand("france5"))
    client.force_login(agent)
    html = client.get(url(ticket)).content.decode()
    assert visible.reference in html
    assert "Demande au niveau deux" not in html
    assert "Demande France 5" not in html


def test_failing_address_and_consents_show_on_the_card(client, agent):
    ticket = workspace_ticket()
    ticket.viewer.emails.update(is_failing=True, failure_reason="550 user unknown")
    from .helpers import consent

    consent(ticket.viewer, kind="marketing", granted=False)
    client.force_login(agent)
    html = client.get(url(ticket)).content.decode()
    assert "failing" in html or "en échec" in html
    assert "550 user unknown" in html


def test_triage_explanation_and_staff_overrides_are_shown(client, srt):
    from contacts.models import TicketEvent, TicketEventKind

    ticket = workspace_ticket(level=2)
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.REROUTED,
        actor=srt,
        from_value="1/n1-call-centre/praise",
        to_value="2/srt-france2/programme_info",
        reason="Le téléspectateur signale une erreur d'annonce",
    )
    client.force_login(srt)
    html = client.get(url(ticket)).content.decode()
    assert "Règle « rediffusion »" in html or "Règle &#xAB; rediffusion &#xBB;" in html
    assert "erreur d&#x27;annonce" in html


def _queries_for(client, django_assert_max_num_queries, ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url(ticket)).status_code == 200
    return len(ctx.captured_queries)


def test_ticket_page_query_count_is_pinned_and_independent_of_the_thread(
    client, agent, srt, django_assert_num_queries
):
    small = workspace_ticket(contacts=1)
    big = workspace_ticket(contacts=12)
    add_notes(big, agent=agent, srt=srt)
    for _ in range(5):
        TicketFactory(viewer=big.viewer)
    client.force_login(agent)
    client.get(url(small))  # warm the session
    # session, user, brand scope (2), ticket, thread, attachments, events, notes, survey,
    # consents, emails, phones, history, channel counts, open requests (tracked),
    # templates, teams (reroute: not for agents).
    with django_assert_num_queries(17):
        client.get(url(small))
    with django_assert_num_queries(17):
        client.get(url(big))


def test_merged_ticket_redirects_to_the_one_that_stays(client, srt):
    stays = workspace_ticket(level=2)
    gone = TicketFactory(viewer=stays.viewer, level=2, merged_into=stays, status=Status.CLOSED)
    client.force_login(srt)
    response = client.get(url(gone))
    assert response.status_code == 302 and response["Location"] == url(stays)


def test_letter_scan_link_and_outbound_delivery_failure_with_retry(client, agent):
    ticket = workspace_ticket(contacts=1)
    failed = Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        subject="[x] Réponse",
        body_text="Notre réponse",
        delivery_status="failed",
        delivery_error="SMTPServerDisconnected: Connection unexpectedly closed",
        message_id="out-1@crm.example.fr",
        meta={"to": "helene.lefevre@example.fr"},
    )
    client.force_login(agent)
    html = client.get(url(ticket)).content.decode()
    # Staff read why in words, never the raw error of the mail library.
    assert "Connection unexpectedly closed" not in html
    assert "Le serveur de messagerie a refusé le message." in html
    assert reverse("replies:retry", args=[failed.pk]) in html


def test_inbound_email_without_html_shows_text(client, agent):
    ticket = workspace_ticket(contacts=0)
    inbound_email(ticket, body="Texte simple <script>alert(1)</script>")
    client.force_login(agent)
    html = client.get(url(ticket)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_the_escalation_reason_is_shown_at_the_top_of_the_ticket(client, agent, srt):
    from routing.services import ticket_escalate

    ticket = workspace_ticket()
    ticket_escalate(ticket=ticket, by=agent, reason="Le téléspectateur conteste un reportage")
    client.force_login(srt)
    html = client.get(url(ticket)).content.decode()
    top = html.index('class="message arrival arrival-escalated"')
    assert top < html.index('class="ticket-head"')
    assert "Escalated to level 2" in html[top:] or "Escaladé au niveau 2" in html[top:]
    assert "Le téléspectateur conteste un reportage" in html[top : html.index("ticket-head")]
    assert str(agent) in html[top : html.index("ticket-head")]


def test_a_ticket_never_escalated_has_no_arrival_banner(client, agent):
    client.force_login(agent)
    assert "message arrival" not in client.get(url(workspace_ticket())).content.decode()
